// The catalog alone: the product and category services (each calls the other) with clients, for
// the tests of those services and of the seed.
import { createGrpcClient, type PromiseClient, type RunningService } from '@shop/platform';
import { category, product } from '@shop/proto';
import { startServices, type ServicesOptions } from './services';

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
  productAddress: string;
  categoryAddress: string;
  productDatabase: string;
  categoryDatabase: string;
  stop(): Promise<void>;
}

/** Options of {@link startCatalog}. */
export interface CatalogOptions {
  /** Brokers of both services (default: the shared broker). */
  kafkaBrokers?: string;
  /**
   * For suites about domain rules: the RPC access policy off (it has its own tests) and the
   * change-event relay quick (every 100 ms, backing off at most 1 s), so tests see events soon.
   */
  domainRules?: boolean;
  /** Environment of both services, applied last. */
  env?: ServicesOptions['env'];
}

/** Starts both services on free ports with unique databases and topics, and clients to them. */
export async function startCatalog(prefix: string, options: CatalogOptions = {}): Promise<Catalog> {
  const services = await startServices(prefix, {
    services: ['category', 'product'],
    ...(options.kafkaBrokers !== undefined
      ? { dependencies: { kafkaBrokers: options.kafkaBrokers } }
      : {}),
    env: {
      ...(options.domainRules
        ? {
            ENFORCE_POLICY: 'false',
            CATALOG_OUTBOX_INTERVAL_MS: '100',
            CATALOG_OUTBOX_MAX_BACKOFF_MS: '1000',
          }
        : {}),
      ...options.env,
    },
  });
  const products = createGrpcClient(
    'shop.product.v1.ProductService',
    product.ProductServiceService,
    services.address('product'),
  );
  const categories = createGrpcClient(
    'shop.category.v1.CategoryService',
    category.CategoryServiceService,
    services.address('category'),
  );
  return {
    products,
    categories,
    inventoryTopic: services.topics.inventoryUpdates,
    catalogTopic: services.topics.catalogEvents,
    productService: services.running.product!,
    categoryService: services.running.category!,
    productAddress: services.address('product'),
    categoryAddress: services.address('category'),
    productDatabase: services.databases.product,
    categoryDatabase: services.databases.category,
    async stop() {
      products.close();
      categories.close();
      await services.stop();
    },
  };
}
