import { loadCategoryConfig, startCategoryService } from '@shop/category-service';
import { loadProductConfig, startProductService } from '@shop/product-service';
import { createGrpcClient, type PromiseClient, type RunningService } from '@shop/platform';
import { category, product } from '@shop/proto';
import { asAdmin, failure, freePort, quietLogger, testEnv, uniqueId } from '@shop/testing';

export { asAdmin, failure, freePort, quietLogger };

/** The product and category services running in-process against their own fresh databases. */
export interface Catalog {
  products: PromiseClient<product.ProductServiceService>;
  categories: PromiseClient<category.CategoryServiceService>;
  inventoryTopic: string;
  productAddress: string;
  categoryAddress: string;
  productDatabase: string;
  categoryDatabase: string;
  stop(): Promise<void>;
}

/** Starts both services (each calls the other) on free ports with unique databases and topics. */
export async function startCatalog(prefix: string): Promise<Catalog> {
  const env = testEnv();
  const [productPort, categoryPort] = await Promise.all([freePort(), freePort()]);
  const id = uniqueId(prefix).replace(/-/g, '_');
  const inventoryTopic = uniqueId(`${prefix}-inventory-updates`);
  const productDatabase = `${id}_product`;
  const common = {
    AUTH_TRUST_IDENTITY_METADATA: 'true',
    MONGO_URL: env.mongoUrl,
    METRICS_PORT: '0',
    LOG_LEVEL: 'fatal',
    KAFKA_BROKERS: env.kafkaBrokers.join(','),
    CATALOG_EVENTS_TOPIC: uniqueId(`${prefix}-catalog-events`),
  };
  const services: RunningService[] = [];
  services.push(
    await startCategoryService(
      loadCategoryConfig({
        ...common,
        GRPC_PORT: String(categoryPort),
        MONGO_DATABASE: `${id}_category`,
        PRODUCT_GRPC_URL: `127.0.0.1:${productPort}`,
      }),
      { logger: quietLogger },
    ),
  );
  services.push(
    await startProductService(
      loadProductConfig({
        ...common,
        GRPC_PORT: String(productPort),
        MONGO_DATABASE: productDatabase,
        INVENTORY_UPDATES_TOPIC: inventoryTopic,
        STOCK_CONSUMER_GROUP: uniqueId(`${prefix}-stock`),
        CATEGORY_GRPC_URL: `127.0.0.1:${categoryPort}`,
      }),
      { logger: quietLogger },
    ),
  );
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
    productAddress: `127.0.0.1:${productPort}`,
    categoryAddress: `127.0.0.1:${categoryPort}`,
    productDatabase,
    categoryDatabase: `${id}_category`,
    async stop() {
      products.close();
      categories.close();
      for (const s of services.reverse()) await s.stop();
    },
  };
}
