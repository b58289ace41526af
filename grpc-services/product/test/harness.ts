import { startCategoryService, loadCategoryConfig } from '@shop/category-service';
import { createGrpcClient, type PromiseClient, type RunningService } from '@shop/platform';
import { category, product } from '@shop/proto';
import { freePort, quietLogger, testEnv, uniqueId } from '@shop/testing';
import { loadProductConfig, startProductService } from '@shop/product-service';

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
    async stop() {
      products.close();
      categories.close();
      for (const s of services.reverse()) await s.stop();
    },
  };
}
