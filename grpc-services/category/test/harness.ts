import { Metadata } from '@grpc/grpc-js';
import { loadCategoryConfig, startCategoryService } from '@shop/category-service';
import { loadProductConfig, startProductService } from '@shop/product-service';
import {
  connectMongo,
  createGrpcClient,
  createKafka,
  createLogger,
  graphqlCodeForGrpcStatus,
  identityMetadata,
  readServiceError,
  type Caller,
  type MongoHandle,
  type PromiseClient,
  type RunningService,
} from '@shop/platform';
import { category, events, product } from '@shop/proto';
import { testEnv, uniqueId } from '@shop/testing';
import { createServer } from 'node:net';
import type { ServiceError } from '@grpc/grpc-js';
import { Writable } from 'node:stream';

/** A logger that drops everything (tests assert on responses, not logs). */
export const quietLogger = createLogger({
  service: 'test',
  level: 'fatal',
  stream: new Writable({ write: (_c, _e, done) => done() }),
});

/** A port free right now, so two services can be told each other's address up front. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/** The product and category services running in-process against their own fresh databases. */
export interface Catalog {
  products: PromiseClient<product.ProductServiceService>;
  categories: PromiseClient<category.CategoryServiceService>;
  inventoryTopic: string;
  /** Where both services publish ProductChanged and CategoryChanged (unique per catalog). */
  catalogTopic: string;
  /** The running services, e.g. for their metrics ports. */
  productService: RunningService;
  categoryService: RunningService;
  productDatabase: string;
  categoryDatabase: string;
  stop(): Promise<void>;
}

/** Options of {@link startCatalog}. */
export interface CatalogOptions {
  /** Brokers of both services (default: the shared broker). */
  kafkaBrokers?: string;
  /** CATALOG_OUTBOX_INTERVAL_MS of both services (default 100, so tests see the relay soon). */
  outboxIntervalMs?: number;
  /** CATALOG_OUTBOX_MAX_BACKOFF_MS of both services (default 1000, for the same reason). */
  outboxMaxBackoffMs?: number;
}

/** Starts both services (each calls the other) on free ports with unique databases and topics. */
export async function startCatalog(prefix: string, options: CatalogOptions = {}): Promise<Catalog> {
  const env = testEnv();
  const [productPort, categoryPort] = await Promise.all([freePort(), freePort()]);
  const id = uniqueId(prefix).replace(/-/g, '_');
  const inventoryTopic = uniqueId(`${prefix}-inventory-updates`);
  const catalogTopic = uniqueId(`${prefix}-catalog-events`);
  const productDatabase = `${id}_product`;
  const common = {
    AUTH_TRUST_IDENTITY_METADATA: 'true',
    // These suites exercise domain rules; the RPC access policy has its own tests.
    ENFORCE_POLICY: 'false',
    MONGO_URL: env.mongoUrl,
    METRICS_PORT: '0',
    LOG_LEVEL: 'fatal',
    KAFKA_BROKERS: options.kafkaBrokers ?? env.kafkaBrokers.join(','),
    CATALOG_EVENTS_TOPIC: catalogTopic,
    CATALOG_OUTBOX_INTERVAL_MS: String(options.outboxIntervalMs ?? 100),
    CATALOG_OUTBOX_MAX_BACKOFF_MS: String(options.outboxMaxBackoffMs ?? 1_000),
  };
  const categoryService = await startCategoryService(
    loadCategoryConfig({
      ...common,
      GRPC_PORT: String(categoryPort),
      MONGO_DATABASE: `${id}_category`,
      PRODUCT_GRPC_URL: `127.0.0.1:${productPort}`,
    }),
    { logger: quietLogger },
  );
  const services: RunningService[] = [categoryService];
  const productService = await startProductService(
    loadProductConfig({
      ...common,
      GRPC_PORT: String(productPort),
      MONGO_DATABASE: productDatabase,
      INVENTORY_UPDATES_TOPIC: inventoryTopic,
      STOCK_CONSUMER_GROUP: uniqueId(`${prefix}-stock`),
      CATEGORY_GRPC_URL: `127.0.0.1:${categoryPort}`,
    }),
    { logger: quietLogger },
  ).catch(async (err: unknown) => {
    await categoryService.stop();
    throw err;
  });
  services.push(productService);
  const products = createGrpcClient(
    'shop.product.v1.ProductService',
    product.ProductServiceService,
    `127.0.0.1:${productPort}`,
  );
  const categories = createGrpcClient(
    'shop.category.v1.CategoryService',
    category.CategoryServiceService,
    `127.0.0.1:${categoryPort}`,
  );
  return {
    products,
    categories,
    inventoryTopic,
    catalogTopic,
    productService,
    categoryService,
    productDatabase,
    categoryDatabase: `${id}_category`,
    async stop() {
      products.close();
      categories.close();
      for (const s of services.reverse()) await s.stop();
    },
  };
}

/** Call options acting as an operator. */
export const asAdmin = (): { metadata: Metadata } => ({
  metadata: identityMetadata(
    { kind: 'user', subject: 'admin-1', roles: ['admin'] } satisfies Caller,
    new Metadata(),
  ),
});

/** The gRPC code and field paths of a failed call. */
export async function failure(
  call: Promise<unknown>,
): Promise<{ code: number; fields: string[]; reason: string }> {
  const err = await call.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e as ServiceError,
  );
  const remote = readServiceError(err, graphqlCodeForGrpcStatus);
  return {
    code: err.code,
    fields: remote.fieldViolations.map((v) => v.field),
    reason: remote.reason ?? '',
  };
}

/** A catalog change event read back from Kafka. */
export interface RecordedEvent {
  readonly key: string | undefined;
  readonly envelope: events.EventEnvelope;
}

/** Reads every record of a topic from the beginning (a group of its own) until stopped. */
export async function recordEvents(
  brokers: string,
  topic: string,
): Promise<{ events: RecordedEvent[]; stop(): Promise<void> }> {
  const kafka = createKafka({ brokers: brokers.split(','), clientId: 'test', logger: quietLogger });
  const consumer = kafka.consumer({ groupId: uniqueId('catalog-reader') });
  const recorded: RecordedEvent[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) =>
      void recorded.push({
        key: message.key?.toString(),
        envelope: events.EventEnvelope.decode(message.value!),
      }),
  });
  return { events: recorded, stop: () => consumer.disconnect() };
}

/** A direct connection to a service's database, to look at what the RPCs stored. */
export function openDatabase(database: string): Promise<MongoHandle> {
  return connectMongo({ url: testEnv().mongoUrl, database, logger: quietLogger });
}

/** A counter's value from a running service's `/metrics` (0 when absent). */
export async function metricValue(
  service: RunningService,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${service.metricsPort}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}
