import { Metadata } from '@grpc/grpc-js';
import { createGrpcClient, identityMetadata, type Caller } from '@shop/platform';
import { DOMAINS } from '@shop/platform/topology';
import { category, inventory, product } from '@shop/proto';
import { testEnv, uniqueId, waitFor } from '@shop/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { freePort } from './harness';

// One placeOrder through real processes (each its own service.name, as `npm start` runs them),
// every one exporting over OTLP to the launcher's Jaeger; the test reads the trace back from
// Jaeger's query API and checks who is in it and who is whose parent, across HTTP, gRPC and Kafka.

const REPO = path.resolve(__dirname, '../..');
const admin: Caller = { kind: 'user', subject: 'trace-admin', roles: ['admin'] };
const asAdmin = { metadata: identityMetadata(admin, new Metadata()) };

/** A span as Jaeger's query API (v1 JSON) returns it. */
interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: Array<{ refType: string; traceID: string; spanID: string }>;
  processID: string;
  tags: Array<{ key: string; value: string | number | boolean }>;
  startTime: number;
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

interface Child {
  name: string;
  process: ChildProcess;
  output: string[];
}

const children: Child[] = [];

/** Starts a compiled entry point and waits until its /healthz answers. */
async function startProcess(
  name: string,
  main: string,
  env: Record<string, string>,
  metricsPort: number,
): Promise<void> {
  const entry = path.join(REPO, main);
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build`);
  const child: Child = {
    name,
    output: [],
    process: spawn(process.execPath, [entry], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? '', ...env, METRICS_PORT: String(metricsPort) },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  };
  const keep = (chunk: Buffer): void => {
    child.output.push(chunk.toString());
    if (child.output.length > 5_000) child.output.shift();
  };
  child.process.stdout?.on('data', keep);
  child.process.stderr?.on('data', keep);
  children.push(child);
  await waitFor(
    `${name} to answer /healthz`,
    async () => {
      if (child.process.exitCode !== null) {
        throw new Error(`${name} exited: ${child.output.join('').slice(-2_000)}`);
      }
      try {
        const res = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
        return res.ok ? true : undefined;
      } catch {
        return undefined;
      }
    },
    { timeoutMs: 120_000, intervalMs: 250 },
  );
}

async function stopAll(): Promise<void> {
  await Promise.all(
    children.splice(0).map(
      ({ process: child }) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
}

let gatewayUrl: string;
let productId: string;

describe('a placeOrder through real processes exporting to Jaeger', () => {
  beforeAll(async () => {
    const env = testEnv();
    const id = uniqueId('jaeger').replace(/-/g, '_');
    const topics = {
      ORDER_EVENTS_TOPIC: uniqueId('trace-order-events'),
      INVENTORY_UPDATES_TOPIC: uniqueId('trace-inventory-updates'),
      USER_NOTIFICATIONS_TOPIC: uniqueId('trace-user-notifications'),
      CATALOG_EVENTS_TOPIC: uniqueId('trace-catalog-events'),
    };
    const port = {
      category: await freePort(),
      product: await freePort(),
      inventory: await freePort(),
      user: await freePort(),
      order: await freePort(),
      notification: await freePort(),
      ordersSubgraph: await freePort(),
      gateway: await freePort(),
      closed: await freePort(),
    };
    const common = {
      MONGO_URL: env.mongoUrl,
      KAFKA_BROKERS: env.kafkaBrokers.join(','),
      AUTH_TRUST_IDENTITY_METADATA: 'true',
      LOG_LEVEL: 'info',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: env.otlpTracesUrl,
      // Every process also ships its log lines to the launcher's log store.
      LOG_STORE_URL: env.logStoreUrl,
      // Export within half a second instead of the SDK's five.
      OTEL_BSP_SCHEDULE_DELAY: '500',
      ...topics,
      CATEGORY_GRPC_URL: `127.0.0.1:${port.category}`,
      PRODUCT_GRPC_URL: `127.0.0.1:${port.product}`,
      INVENTORY_GRPC_URL: `127.0.0.1:${port.inventory}`,
      USER_GRPC_URL: `127.0.0.1:${port.user}`,
      ORDER_GRPC_URL: `127.0.0.1:${port.order}`,
      NOTIFICATION_GRPC_URL: `127.0.0.1:${port.notification}`,
    };
    const service = async (name: string, extra: Record<string, string>): Promise<void> =>
      startProcess(
        `${name}-service`,
        `grpc-services/${name}/dist/src/main.js`,
        {
          ...common,
          GRPC_PORT: String(port[name as keyof typeof port]),
          MONGO_DATABASE: `${id}_${name}`,
          ...extra,
        },
        await freePort(),
      );
    await Promise.all([
      service('category', {}),
      service('product', { STOCK_CONSUMER_GROUP: uniqueId('trace-stock') }),
      service('inventory', {
        INVENTORY_CONSUMER_GROUP: uniqueId('trace-inventory'),
        KAFKA_TOPIC_PARTITIONS: '1',
        OUTBOX_RELAY_INTERVAL_MS: '50',
      }),
      service('user', {}),
      service('order', {
        ORDER_CONSUMER_GROUP: uniqueId('trace-order'),
        OUTBOX_POLL_INTERVAL_MS: '50',
        PAYMENT_PROVIDER: 'fake',
      }),
      service('notification', {
        NOTIFICATION_CONSUMER_GROUP: uniqueId('trace-notification'),
        SMTP_URL: env.smtpUrl,
      }),
    ]);
    await startProcess(
      'orders-subgraph',
      'subgraphs/orders/dist/src/main.js',
      { ...common, SUBGRAPH_PORT: String(port.ordersSubgraph), GRPC_DEADLINE_MS: '15000' },
      await freePort(),
    );
    // Only the orders subgraph takes part in placeOrder; the others are left unreachable.
    const closed = `http://127.0.0.1:${port.closed}/graphql`;
    await startProcess(
      'gateway',
      'supergraph/dist/src/main.js',
      {
        ...common,
        GATEWAY_PORT: String(port.gateway),
        GATEWAY_TRUST_IDENTITY_HEADERS: 'true',
        SUBGRAPH_TIMEOUT_MS: '30000',
        ORDERS_SUBGRAPH_URL: `http://127.0.0.1:${port.ordersSubgraph}/graphql`,
        PRODUCTS_SUBGRAPH_URL: closed,
        CATEGORIES_SUBGRAPH_URL: closed,
        INVENTORY_SUBGRAPH_URL: closed,
        USERS_SUBGRAPH_URL: closed,
        NOTIFICATIONS_SUBGRAPH_URL: closed,
      },
      await freePort(),
    );
    gatewayUrl = `http://127.0.0.1:${port.gateway}/graphql`;

    // The catalog entry to order, written straight to the services (untraced: no span is active).
    const categories = createGrpcClient(
      'shop.category.v1.CategoryService',
      category.CategoryServiceService,
      common.CATEGORY_GRPC_URL,
    );
    const products = createGrpcClient(
      'shop.product.v1.ProductService',
      product.ProductServiceService,
      common.PRODUCT_GRPC_URL,
    );
    const stock = createGrpcClient(
      'shop.inventory.v1.InventoryService',
      inventory.InventoryServiceService,
      common.INVENTORY_GRPC_URL,
    );
    try {
      const { category: home } = await categories.createCategory(
        { name: uniqueId('Traced'), slug: '', parentId: '' },
        asAdmin,
      );
      const { product: lamp } = await products.createProduct(
        product.CreateProductRequest.fromPartial({
          sku: uniqueId('TRACE'),
          name: 'Traced lamp',
          price: { amount: 1_500, currency: 'EUR' },
          categoryId: home!.id,
        }),
        asAdmin,
      );
      productId = lamp!.id;
      await stock.setInitialStock({ productId, onHand: 10 }, asAdmin);
    } finally {
      categories.close();
      products.close();
      stock.close();
    }
  }, 300_000);

  afterAll(async () => {
    await stopAll();
  }, 60_000);

  it('shows one placeOrder as one trace from the gateway through gRPC and Kafka to the notification', async () => {
    // The client starts the trace: its traceparent makes the trace id known up front.
    const traceId = randomBytes(16).toString('hex');
    const clientSpanId = randomBytes(8).toString('hex');
    const subject = uniqueId('shopper');
    const res = await fetch(gatewayUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        traceparent: `00-${traceId}-${clientSpanId}-01`,
        'x-shop-subject': subject,
        'x-shop-roles': 'customer',
        'x-shop-caller-kind': 'user',
        'x-shop-email': `${subject}@shop.local`,
      },
      body: JSON.stringify({
        query: `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }`,
        variables: {
          input: {
            items: [{ productId, quantity: 1 }],
            shippingAddress: {
              recipientName: 'Ada Lovelace',
              line1: 'Street 1',
              city: 'Berlin',
              postalCode: '10115',
              countryCode: 'DE',
            },
            paymentMethod: 'pm_card_visa',
            idempotencyKey: uniqueId('key'),
          },
        },
      }),
    });
    const body = (await res.json()) as { data?: { placeOrder: { id: string } }; errors?: unknown };
    expect(body.errors).toBeUndefined();

    // Spans reach Jaeger as each process exports them: wait until the trace holds every hop (or
    // time out showing the last state), then check it.
    let last: Analysis | undefined;
    const analysed = await waitFor(
      `trace ${traceId} in Jaeger with every hop`,
      async () => {
        const res = await fetch(`${testEnv().jaegerUrl}/api/traces/${traceId}`);
        if (!res.ok) return undefined;
        const found = (await res.json()) as { data: JaegerTrace[] };
        if (!found.data[0]) return undefined;
        last = analyse(found.data[0]);
        return complete(last) ? last : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${JSON.stringify(last, null, 2)}`);
    });

    // One trace: every span carries the client's trace id, and only the gateway's first span
    // has its parent outside it (the client's span, given in the traceparent header).
    expect(analysed.otherTraceIds).toEqual([]);
    expect(analysed.orphans).toEqual([`gateway: POST <- ${clientSpanId}`]);
    for (const name of SERVICES) expect(analysed.services).toContain(name);
    expect(analysed.hops).toEqual(expect.arrayContaining(HOPS));
    expect(analysed.spans).toBeGreaterThanOrEqual(20);
    // The last step: the notification service hands the confirmation email to the SMTP server.
    expect(analysed.tree).toContainEqual(
      expect.stringMatching(/^notification-service: smtp send \[client\] <- /),
    );

    // The processes' ECS log lines written while serving the trace carry its trace.id.
    const logged = children.flatMap((c) =>
      c.output
        .join('')
        .split('\n')
        .filter((line) => line.includes(traceId))
        .map((line) => {
          const record = JSON.parse(line) as Record<string, unknown>;
          return `${String(record['service.name'])}: ${String(record['trace.id'])}`;
        }),
    );
    expect(logged).toContain(`inventory: ${traceId}`);

    // The same lines are found in the log store by trace.id, from every process that wrote one.
    const writers = [...new Set(logged.map((line) => line.split(':')[0]))].sort();
    let stored: string[] = [];
    await waitFor(
      `log lines of trace ${traceId} in the log store from ${writers.join(', ')}`,
      async () => {
        const res = await fetch(`${testEnv().logStoreUrl}/shop-logs-*/_search`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: { term: { 'trace.id': traceId } }, size: 1_000 }),
        });
        if (!res.ok) return undefined;
        const found = (await res.json()) as {
          hits: { hits: Array<{ _source: Record<string, unknown> }> };
        };
        stored = [...new Set(found.hits.hits.map((h) => String(h._source['service.name'])))];
        return writers.every((w) => stored.includes(w)) ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; found lines from: ${stored.join(', ') || 'none'}`);
    });
  }, 180_000);
});

it("loads no instrumented library before tracing starts: every entry point's config is light", async () => {
  // main.ts reads its config, then starts tracing, then loads the app: a config module that
  // pulled in gRPC, kafkajs, MongoDB or undici would leave them unpatched (no spans, no context).
  const configs = [
    'supergraph/dist/src/config.js',
    ...DOMAINS.map((d) => `subgraphs/${d.subgraph}/dist/src/config.js`),
    ...DOMAINS.map((d) => `grpc-services/${d.service}/dist/src/config.js`),
  ];
  const script = `
    const loaded = {};
    for (const file of JSON.parse(process.argv[1])) {
      require(require('node:path').join(process.cwd(), file));
      loaded[file] = Object.keys(require.cache).filter((m) =>
        /node_modules\\/(@grpc\\/grpc-js|kafkajs|mongodb|undici|@apollo)\\//.test(m),
      ).length;
    }
    process.stdout.write(JSON.stringify(loaded));
  `;
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, JSON.stringify(configs)], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`exit ${code}`))));
  });
  expect(JSON.parse(out)).toEqual(Object.fromEntries(configs.map((file) => [file, 0])));
});

/** The processes one placeOrder passes through (service.name as each process reports it). */
const SERVICES = [
  'gateway',
  'orders-subgraph',
  'order-service',
  'product-service',
  'inventory',
  'notification-service',
  'user',
];

/** Cross-process parent links: `<parent service> -[<parent span kind>]-> <child service>`. */
const HOPS = [
  // HTTP: the gateway's undici client span is the parent of the subgraph's server span.
  'gateway -[client]-> orders-subgraph',
  // gRPC: client span → server span.
  'orders-subgraph -[client]-> order-service',
  'order-service -[client]-> product-service',
  'notification-service -[client]-> user',
  // Kafka: the producer's send span → the consumer's process span.
  'order-service -[producer]-> inventory',
  'inventory -[producer]-> order-service',
  'order-service -[producer]-> notification-service',
];

interface Analysis {
  spans: number;
  otherTraceIds: string[];
  services: string[];
  /** Spans whose parent is not in the trace, with the parent's id. */
  orphans: string[];
  hops: string[];
  /** Every span with its parent, for reading a failure. */
  tree: string[];
}

function analyse(t: JaegerTrace): Analysis {
  const serviceOf = (s: JaegerSpan): string => t.processes[s.processID]?.serviceName ?? '?';
  const kindOf = (s: JaegerSpan): string =>
    String(s.tags.find((tag) => tag.key === 'span.kind')?.value ?? 'internal');
  const byId = new Map(t.spans.map((s) => [s.spanID, s]));
  const parentRef = (s: JaegerSpan) => s.references.find((r) => r.refType === 'CHILD_OF');
  const parentOf = (s: JaegerSpan): JaegerSpan | undefined => {
    const ref = parentRef(s);
    return ref ? byId.get(ref.spanID) : undefined;
  };
  const hops = new Set<string>();
  for (const s of t.spans) {
    const parent = parentOf(s);
    if (parent && serviceOf(parent) !== serviceOf(s)) {
      hops.add(`${serviceOf(parent)} -[${kindOf(parent)}]-> ${serviceOf(s)}`);
    }
  }
  return {
    spans: t.spans.length,
    otherTraceIds: [...new Set(t.spans.map((s) => s.traceID).filter((id) => id !== t.traceID))],
    services: [...new Set(t.spans.map(serviceOf))].sort(),
    orphans: t.spans
      .filter((s) => parentOf(s) === undefined)
      .map((s) => `${serviceOf(s)}: ${s.operationName} <- ${parentRef(s)?.spanID ?? '(none)'}`),
    hops: [...hops].sort(),
    tree: [...t.spans]
      .sort((a, b) => a.startTime - b.startTime)
      .map(
        (s) =>
          `${serviceOf(s)}: ${s.operationName} [${kindOf(s)}] <- ${parentOf(s)?.operationName ?? '?'}`,
      ),
  };
}

const complete = (a: Analysis): boolean =>
  a.orphans.length === 1 &&
  a.tree.some((line) => line.startsWith('notification-service: smtp send')) &&
  SERVICES.every((name) => a.services.includes(name)) &&
  HOPS.every((hop) => a.hops.includes(hop));
