/**
 * Storefront benchmark: one page of 20 products with their category path and live inventory,
 * at a fixed concurrency for a fixed duration, through
 *   (a) our gateway (`startGateway`: limits, APQ, metrics, keep-alive, plan cache),
 *   (b) a plain `new ApolloGateway({ supergraphSdl })` with default settings behind a standalone
 *       Apollo Server, over the same subgraphs and the same committed supergraph,
 *   (b') The Guild's Hive gateway (`@graphql-hive/gateway-runtime`, defaults) on the same supergraph,
 *   (c) the floor: the same data with direct batched gRPC calls from a Node client
 *       (ListProducts, then BatchGetCategories ×2 and BatchGetStock).
 * Product, category and inventory services and their subgraphs run in this process on the real
 * store; a small catalog (BENCH_PRODUCTS products in a 3-level tree, each with stock) is created
 * through the RPCs first. Prints throughput, p50/p99 and the ratios; bounded by BENCH_SECONDS per
 * target. `npm run bench:storefront -w @shop/bench`; never part of `npm test`.
 */
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { createGatewayRuntime } from '@graphql-hive/gateway-runtime';
import { Metadata } from '@grpc/grpc-js';
import { connectMongo, parsers, readConfig } from '@shop/platform';
import { category, product } from '@shop/proto';
import { catalogClients, startStack, type Stack } from '@shop/testing/stack';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import path from 'node:path';
import { admin, benchLogger } from './common';

const config = readConfig(process.env, (env) => ({
  mongoUrl: env.optional('MONGO_URL', parsers.string, 'mongodb://127.0.0.1:27017/'),
  kafkaBrokers: env.optional('KAFKA_BROKERS', parsers.string, '127.0.0.1:9092'),
  products: env.optional('BENCH_PRODUCTS', parsers.int(20, 10_000), 200),
  concurrency: env.optional('BENCH_CONCURRENCY', parsers.int(1, 1_000), 16),
  seconds: env.optional('BENCH_SECONDS', parsers.int(1, 30), 15),
  logLevel: env.optional('LOG_LEVEL', parsers.oneOf('fatal', 'error', 'warn', 'info'), 'fatal'),
}));

const logger = benchLogger(config.logLevel);
const run = randomUUID().slice(0, 8);
const DBS = {
  product: `bench_sf_${run}_product`,
  category: `bench_sf_${run}_category`,
  inventory: `bench_sf_${run}_inventory`,
};

/** The storefront page: 20 products, each with its category path and live stock. */
const STOREFRONT = `query Storefront {
  products(first: 20) {
    edges { node { id sku name price { amount currency }
      category { id name path ancestors { id name } }
      inventory { available } } }
  }
}`;

interface Line {
  name: string;
  throughput: number;
  p50: number;
  p99: number;
  calls: number;
  errors: number;
}

async function measure(name: string, op: () => Promise<void>): Promise<Line> {
  for (let i = 0; i < 20; i++) await op(); // warm-up: connections, plan cache, JIT
  const latencies: number[] = [];
  let errors = 0;
  const end = Date.now() + config.seconds * 1000;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: config.concurrency }, async () => {
      while (Date.now() < end) {
        const t0 = process.hrtime.bigint();
        try {
          await op();
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  const q = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  const line = {
    name,
    throughput: latencies.length / elapsed,
    p50: q(0.5),
    p99: q(0.99),
    calls: latencies.length,
    errors,
  };
  console.log(
    `${name.padEnd(40)} ${line.throughput.toFixed(1).padStart(8)} req/s  p50 ${line.p50.toFixed(1).padStart(7)} ms  p99 ${line.p99.toFixed(1).padStart(7)} ms  calls ${line.calls}  errors ${errors}`,
  );
  return line;
}

/** POSTs the storefront query and checks that 20 products came back complete. */
async function postStorefront(url: string): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: STOREFRONT }),
  });
  const body = (await res.json()) as {
    data?: { products: { edges: Array<{ node: { inventory: unknown; category: unknown } }> } };
    errors?: unknown;
  };
  const edges = body.data?.products.edges ?? [];
  if (
    body.errors ||
    edges.length !== 20 ||
    edges.some((e) => !e.node.inventory || !e.node.category)
  ) {
    throw new Error(`bad storefront answer: ${JSON.stringify(body).slice(0, 300)}`);
  }
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const stops: Array<() => Promise<void>> = [];
  let stack: Stack | undefined;
  try {
    // (a) our gateway over the product, category and inventory services and subgraphs; the
    // subgraphs the storefront does not touch are routed to a closed port.
    stack = await startStack('bench-sf', {
      services: ['category', 'product', 'inventory'],
      subgraphs: ['products', 'categories', 'inventory'],
      servicesOptions: {
        dependencies: { mongoUrl: config.mongoUrl, kafkaBrokers: config.kafkaBrokers },
        logger,
        logLevel: config.logLevel,
        databases: DBS,
        inventoryConsumes: false,
        // The inventory service's default relay interval, as deployed.
        envOf: { inventory: { OUTBOX_RELAY_INTERVAL_MS: '1000' } },
      },
      // As a deployed gateway: identity from bearer tokens only (this page is public).
      gatewayEnv: { GATEWAY_TRUST_IDENTITY_HEADERS: 'false' },
    });
    const { services } = stack;
    const { products, categories, stock, close } = catalogClients(services, {
      deadlineMs: 30_000,
    });
    stops.push(() => Promise.resolve(close()));

    // Catalog: 2 roots × 3 groups × 3 leaves; products spread over the leaves, each with stock.
    const leaves: string[] = [];
    const make = async (name: string, parentId: string) =>
      (
        await categories.createCategory(
          category.CreateCategoryRequest.fromPartial({ name, parentId }),
          { metadata: admin() },
        )
      ).category!.id;
    for (let r = 0; r < 2; r++) {
      const root = await make(`Root ${r}`, '');
      for (let g = 0; g < 3; g++) {
        const group = await make(`Group ${r}.${g}`, root);
        for (let l = 0; l < 3; l++) leaves.push(await make(`Leaf ${r}.${g}.${l}`, group));
      }
    }
    for (let i = 0; i < config.products; i++) {
      const created = await products.createProduct(
        product.CreateProductRequest.fromPartial({
          sku: `SF-${run}-${i}`,
          name: `Product ${i}`,
          categoryId: leaves[i % leaves.length],
          price: { amount: 1_000 + i, currency: 'EUR' },
        }),
        { metadata: admin() },
      );
      await stock.setInitialStock(
        { productId: created.product!.id, onHand: 50 },
        { metadata: admin() },
      );
    }
    console.log(
      `seeded ${leaves.length} leaf categories and ${config.products} products in ${((Date.now() - t0) / 1000).toFixed(1)} s; concurrency ${config.concurrency}, ${config.seconds} s per target`,
    );

    const ours = stack.gateway;
    const urls = {
      products: stack.subgraphs.products,
      categories: stack.subgraphs.categories,
      inventory: stack.subgraphs.inventory,
    };

    // (b) plain Apollo Gateway, default settings, same committed supergraph with the same URLs.
    let supergraphSdl = readFileSync(
      path.join(__dirname, '../../supergraph/supergraph.graphql'),
      'utf8',
    );
    for (const [name, s] of Object.entries(urls)) {
      supergraphSdl = supergraphSdl.replace(
        new RegExp(`(join__graph\\(name: "${name}", url: ")[^"]*`),
        `$1${s.url}`,
      );
    }
    const plain = new ApolloServer({ gateway: new ApolloGateway({ supergraphSdl }) });
    const { url: plainUrl } = await startStandaloneServer(plain, {
      listen: { port: 0, host: '127.0.0.1' },
    });
    stops.push(() => plain.stop());
    // (b') The Guild's Hive gateway (defaults) serving the same supergraph over the same subgraphs.
    const hive = createGatewayRuntime({
      supergraph: supergraphSdl,
      logging: config.logLevel === 'fatal' ? false : 'error',
      maskedErrors: config.logLevel === 'fatal',
    });
    const hiveServer = createHttpServer((req, res) => void hive(req, res));
    const hivePort = await new Promise<number>((resolve, reject) => {
      hiveServer.once('error', reject);
      hiveServer.listen(0, '127.0.0.1', () => {
        const address = hiveServer.address();
        if (typeof address === 'object' && address) resolve(address.port);
        else reject(new Error('no port'));
      });
    });
    const hiveUrl = `http://127.0.0.1:${hivePort}/graphql`;
    stops.push(async () => {
      await new Promise<void>((resolve) => hiveServer.close(() => resolve()));
      await hive.dispose();
    });

    // (c) the floor: what the three subgraphs ask the services for, straight from a client.
    const floor = async (): Promise<void> => {
      const md = new Metadata();
      const page = await products.listProducts(
        product.ListProductsRequest.fromPartial({ page: { pageSize: 20 } }),
        { metadata: md },
      );
      const ids = page.products.map((p) => p.id);
      const [cats, stocks] = await Promise.all([
        categories
          .batchGetCategories(
            { ids: [...new Set(page.products.map((p) => p.categoryId))] },
            { metadata: md },
          )
          .then(async (r) => {
            const ancestorIds = [...new Set(r.categories.flatMap((c) => c.ancestorIds))];
            const ancestors = await categories.batchGetCategories(
              { ids: ancestorIds },
              { metadata: md },
            );
            return [...r.categories, ...ancestors.categories];
          }),
        stock.batchGetStock({ productIds: ids }, { metadata: md }),
      ]);
      if (ids.length !== 20 || cats.length === 0 || stocks.stocks.length !== 20) {
        throw new Error('bad floor answer');
      }
    };

    const a = await measure('(a) our gateway', () => postStorefront(ours.url));
    const b = await measure('(b) plain ApolloGateway (defaults)', () => postStorefront(plainUrl));
    const h = await measure("(b') Hive gateway runtime (defaults)", () => postStorefront(hiveUrl));
    const c = await measure('(c) floor: direct batched gRPC', floor);
    const ratio = (x: Line, y: Line) =>
      `${(x.throughput / y.throughput).toFixed(2)} (p50 ${(x.p50 / y.p50).toFixed(2)}, p99 ${(x.p99 / y.p99).toFixed(2)})`;
    console.log(
      `throughput ratios: ours/plain ${ratio(a, b)}, ours/hive ${ratio(a, h)}, ours/floor ${ratio(a, c)}, ` +
        `plain/floor ${ratio(b, c)}, hive/floor ${ratio(h, c)}`,
    );
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await stack?.stop().catch(() => undefined);
    for (const db of Object.values(DBS)) {
      const h = await connectMongo({ url: config.mongoUrl, database: db, logger });
      await h.db.dropDatabase();
      await h.close();
    }
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
