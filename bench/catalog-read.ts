/**
 * Catalog read-path benchmark: ListProducts (page of 20, category subtree filter),
 * BatchGetProducts (50 ids) and BatchGetStock (50 ids, among BENCH_STOCKED stocked products) against a catalog of BENCH_PRODUCTS products in BENCH_CATEGORIES
 * categories, at a fixed concurrency for a fixed duration. Prints throughput, p50/p99 latency and
 * RSS, then repeats ListProducts without the `category_listing` index to show what it buys.
 *
 * The product, category and inventory services run in this process on the real store. Categories are created
 * through the CategoryService RPCs; products take the documented fast path, `insertMany` through
 * the product service's own store module (same documents and indexes, no per-product RPC), with
 * a time budget: if the store cannot take them all in time, the run measures what was inserted
 * and says so. `npm run bench:catalog -w @shop/bench`; never part of `npm test`.
 */
import { connectMongo, parsers, readConfig, type MongoHandle } from '@shop/platform';
import { createProductStore, type ProductDoc } from '@shop/product-service';
import { product } from '@shop/proto';
import { catalogClients, startServices } from '@shop/testing/stack';
import { randomUUID } from 'node:crypto';
import { admin, benchLogger } from './common';

const config = readConfig(process.env, (env) => ({
  mongoUrl: env.optional('MONGO_URL', parsers.string, 'mongodb://127.0.0.1:27017/'),
  kafkaBrokers: env.optional('KAFKA_BROKERS', parsers.string, '127.0.0.1:9092'),
  products: env.optional('BENCH_PRODUCTS', parsers.int(1, 10_000_000), 100_000),
  categories: env.optional('BENCH_CATEGORIES', parsers.int(10, 100_000), 1_000),
  concurrency: env.optional('BENCH_CONCURRENCY', parsers.int(1, 1_000), 16),
  seconds: env.optional('BENCH_SECONDS', parsers.int(1, 600), 20),
  seedBudgetSeconds: env.optional('BENCH_SEED_BUDGET_S', parsers.int(10, 3_600), 150),
  stocked: env.optional('BENCH_STOCKED', parsers.int(50, 10_000_000), 5_000),
  compareIndex: env.optional('BENCH_COMPARE_INDEX', parsers.bool, true),
  keep: env.optional('BENCH_KEEP', parsers.bool, false),
  logLevel: env.optional('LOG_LEVEL', parsers.oneOf('fatal', 'error', 'warn', 'info'), 'fatal'),
}));

const logger = benchLogger(config.logLevel);
const PRODUCT_DB = 'bench_catalog_product';
const CATEGORY_DB = 'bench_catalog_category';
const INVENTORY_DB = 'bench_catalog_inventory';

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)];
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

/** Calls `op` from `concurrency` workers for `seconds`; returns the figures. */
async function measure(name: string, seconds: number, op: () => Promise<unknown>) {
  const latencies: number[] = [];
  let errors = 0;
  const end = Date.now() + seconds * 1000;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: config.concurrency }, async () => {
      while (Date.now() < end) {
        const t0 = process.hrtime.bigint();
        try {
          await op();
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        } catch {
          errors += 1;
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
    calls: latencies.length,
    errors,
    throughput: latencies.length / elapsed,
    p50: q(0.5),
    p99: q(0.99),
    rss: process.memoryUsage().rss,
  };
  console.log(
    `${name.padEnd(44)} ${line.throughput.toFixed(1).padStart(8)} req/s  p50 ${line.p50.toFixed(1).padStart(7)} ms  p99 ${line.p99.toFixed(1).padStart(7)} ms  calls ${line.calls}  errors ${errors}  rss ${mb(line.rss)}`,
  );
  return line;
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const since = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
  for (const db of [PRODUCT_DB, CATEGORY_DB, INVENTORY_DB]) {
    const h = await connectMongo({ url: config.mongoUrl, database: db, logger });
    await h.db.dropDatabase();
    await h.close();
  }
  const services = await startServices('bench-catalog', {
    services: ['category', 'product', 'inventory'],
    dependencies: { mongoUrl: config.mongoUrl, kafkaBrokers: config.kafkaBrokers },
    logger,
    logLevel: config.logLevel,
    databases: { product: PRODUCT_DB, category: CATEGORY_DB, inventory: INVENTORY_DB },
    inventoryConsumes: true,
    // The inventory service's own defaults (6 partitions, relay every second), as deployed.
    envOf: { inventory: { KAFKA_TOPIC_PARTITIONS: '6', OUTBOX_RELAY_INTERVAL_MS: '1000' } },
  });
  const { products, categories, stock, close } = catalogClients(services, {
    deadlineMs: 60_000,
  });
  let mongo: MongoHandle | undefined;
  try {
    // Tree: R roots, each with G groups, each with L leaves; R + R*G + R*G*L ≈ BENCH_CATEGORIES.
    const roots = 10;
    const groupsPerRoot = 9;
    const leavesPerGroup = Math.max(
      1,
      Math.round((config.categories - roots - roots * groupsPerRoot) / (roots * groupsPerRoot)),
    );
    const create = async (name: string, parentId: string) =>
      (await categories.createCategory({ name, slug: '', parentId }, { metadata: admin() }))
        .category!.id;
    const rootIds: string[] = [];
    await pool(
      [...Array(roots).keys()],
      16,
      async (r) => void rootIds.push(await create(`Root ${r}`, '')),
    );
    const groupIds: string[] = [];
    await pool(
      rootIds.flatMap((id) => [...Array(groupsPerRoot).keys()].map((g) => ({ id, g }))),
      16,
      async ({ id, g }) => void groupIds.push(await create(`Group ${g}`, id)),
    );
    const leafIds: string[] = [];
    await pool(
      groupIds.flatMap((id) => [...Array(leavesPerGroup).keys()].map((l) => ({ id, l }))),
      16,
      async ({ id, l }) => void leafIds.push(await create(`Leaf ${l}`, id)),
    );
    const categoryCount = rootIds.length + groupIds.length + leafIds.length;
    console.log(`categories: ${categoryCount} created through CreateCategory in ${since()}`);

    // Products: insertMany through the product store (the documented fast path).
    mongo = await connectMongo({ url: config.mongoUrl, database: PRODUCT_DB, logger });
    const store = createProductStore(mongo.db);
    const adjectives = ['Classic', 'Compact', 'Deluxe', 'Eco', 'Pro', 'Ultra', 'Smart', 'Travel'];
    const nouns = ['Lamp', 'Kettle', 'Jacket', 'Backpack', 'Speaker', 'Chair', 'Mug', 'Helmet'];
    const ids: string[] = [];
    const batchSize = 1_000;
    const seedStart = Date.now();
    const budgetEnd = seedStart + config.seedBudgetSeconds * 1000;
    let inserted = 0;
    const base = Date.now() - config.products;
    const batches = Math.ceil(config.products / batchSize);
    await pool([...Array(batches).keys()], 4, async (b) => {
      if (Date.now() > budgetEnd) return;
      const docs: ProductDoc[] = [];
      for (let i = b * batchSize; i < Math.min(config.products, (b + 1) * batchSize); i += 1) {
        const name = `${adjectives[i % adjectives.length]} ${nouns[(i >> 3) % nouns.length]} ${i}`;
        const at = new Date(base + i);
        docs.push({
          _id: randomUUID(),
          sku: `BENCH-${i}`,
          name,
          nameLower: name.toLowerCase(),
          description: `Benchmark product number ${i}.`,
          price: { amount: 500 + ((i * 7919) % 50_000), currency: 'EUR' },
          categoryId: leafIds[i % leafIds.length],
          images: [],
          attributes: [],
          createdAt: at,
          updatedAt: at,
          version: 1,
          deleted: false,
          deletedAt: null,
        });
      }
      await store.insertMany(docs);
      inserted += docs.length;
      ids.push(...docs.map((d) => d._id));
    });
    const seedSeconds = (Date.now() - seedStart) / 1000;
    console.log(
      `products: ${inserted} of ${config.products} inserted with insertMany in ${seedSeconds.toFixed(1)} s ` +
        `(${(inserted / seedSeconds).toFixed(0)}/s)` +
        (inserted < config.products
          ? ` — seeding budget of ${config.seedBudgetSeconds} s reached`
          : ''),
    );
    console.log(
      `tree: ${rootIds.length} roots x ${groupsPerRoot} groups x ${leavesPerGroup} leaves; ` +
        `a group subtree holds ~${Math.round(inserted / groupIds.length)} products; concurrency ${config.concurrency}, ${config.seconds} s per run`,
    );

    const listPage = () =>
      products.listProducts(
        product.ListProductsRequest.fromPartial({
          filter: { categoryId: pick(groupIds), includeSubcategories: true },
          page: { pageSize: 20 },
        }),
      );
    const batchGet = () =>
      products.batchGetProducts({ ids: Array.from({ length: 50 }, () => pick(ids)) });

    // Stock through the public RPC (one SetInitialStock per product, as product creation does).
    const stockStart = Date.now();
    const stocked = ids.slice(0, Math.min(config.stocked, ids.length));
    await pool(stocked, 16, async (productId) => {
      await stock.setInitialStock({ productId, onHand: 10 }, { metadata: admin() });
    });
    console.log(
      `stock: ${stocked.length} levels set with SetInitialStock in ${((Date.now() - stockStart) / 1000).toFixed(1)} s`,
    );
    // The product service learns each level from StockLevelChanged (its in-stock projection):
    // wait, bounded, until every stocked product carries it (one count every 5 s).
    const projectionDeadline = Date.now() + config.seedBudgetSeconds * 1000;
    let projected = 0;
    while (Date.now() < projectionDeadline) {
      projected = await mongo.db
        .collection('products')
        .countDocuments({ 'stock.version': { $gte: 1 } });
      if (projected >= stocked.length) break;
      await new Promise((r) => setTimeout(r, 5_000));
    }
    console.log(
      `stock: ${projected} of ${stocked.length} levels in the product service's projection ` +
        `${((Date.now() - stockStart) / 1000).toFixed(1)} s after the first SetInitialStock`,
    );
    const batchStock = () =>
      stock.batchGetStock(
        { productIds: Array.from({ length: 50 }, () => pick(stocked)) },
        { metadata: admin() },
      );
    await batchStock();

    await listPage();
    await batchGet();
    const results = [
      await measure('ListProducts (20, group subtree)', config.seconds, listPage),
      await measure('BatchGetProducts (50 ids)', config.seconds, batchGet),
      await measure('BatchGetStock (50 ids)', config.seconds, batchStock),
    ];
    if (config.compareIndex) {
      await mongo.db.collection('products').dropIndex('category_listing');
      results.push(
        await measure(
          'ListProducts without category_listing index',
          Math.max(5, Math.round(config.seconds / 2)),
          listPage,
        ),
      );
    }
    console.log(`total runtime ${since()}`);
    console.log(JSON.stringify({ categories: categoryCount, products: inserted, results }));
  } finally {
    close();
    await services.stop();
    if (!config.keep) {
      await mongo?.db.dropDatabase();
      for (const db of [CATEGORY_DB, INVENTORY_DB]) {
        const h = await connectMongo({ url: config.mongoUrl, database: db, logger });
        await h.db.dropDatabase();
        await h.close();
      }
    }
    await mongo?.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
