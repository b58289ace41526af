// The catalog alone: the product and category services (each calls the other) with clients, for
// the tests of those services and of the seed.
import { createGrpcClient, type PromiseClient, type RunningService } from '@shop/platform';
import { category, inventory, product } from '@shop/proto';
import { startServices, type RunningServices, type ServicesOptions } from './services';

/** Clients to the catalog's services, however many of them run. */
export interface CatalogClients {
  products: PromiseClient<product.ProductServiceService>;
  categories: PromiseClient<category.CategoryServiceService>;
  stock: PromiseClient<inventory.InventoryServiceService>;
  /** Closes the three clients. */
  readonly close: () => void;
}

/** Clients to the product, category and inventory services of `services`. */
export function catalogClients(
  services: RunningServices,
  options: { deadlineMs?: number } = {},
): CatalogClients {
  const products = createGrpcClient(
    'shop.product.v1.ProductService',
    product.ProductServiceService,
    services.address('product'),
    options,
  );
  const categories = createGrpcClient(
    'shop.category.v1.CategoryService',
    category.CategoryServiceService,
    services.address('category'),
    options,
  );
  const stock = createGrpcClient(
    'shop.inventory.v1.InventoryService',
    inventory.InventoryServiceService,
    services.address('inventory'),
    options,
  );
  return {
    products,
    categories,
    stock,
    close() {
      products.close();
      categories.close();
      stock.close();
    },
  };
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
  const clients = catalogClients(services);
  return {
    products: clients.products,
    categories: clients.categories,
    inventoryTopic: services.topics.inventoryUpdates,
    catalogTopic: services.topics.catalogEvents,
    productService: services.running.product!,
    categoryService: services.running.category!,
    productAddress: services.address('product'),
    categoryAddress: services.address('category'),
    productDatabase: services.databases.product,
    categoryDatabase: services.databases.category,
    async stop() {
      clients.close();
      await services.stop();
    },
  };
}
