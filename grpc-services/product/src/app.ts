import {
  MARKER_PUBLISHER_RETRY,
  connectMongo,
  createEventPublisher,
  createGrpcClient,
  createKafka,
  createLogger,
  createMetrics,
  ensureIndexes,
  ensureTopics,
  startService,
  type Logger,
  type RunningService,
  withPolicy,
} from '@shop/platform';
import { category, product } from '@shop/proto';
import { grpcCategoryDirectory, type CategoryDirectory } from './categories';
import type { ProductConfig } from './config';
import { consumeStockLevels, startProductChangeRelay } from './events';
import { productPolicy } from './policy';
import { createProductService } from './service';
import { createProductStore, productIndexes } from './store';

/** Replaceable dependencies, for tests. */
export interface ProductOverrides {
  logger?: Logger;
  categories?: CategoryDirectory;
}

/**
 * Connects the store and Kafka, starts the in-stock projection and the ProductChanged publisher,
 * builds the service and serves it; stop() drains calls, then stops the consumer and the
 * publisher and disconnects.
 */
export async function startProductService(
  config: ProductConfig,
  overrides: ProductOverrides = {},
): Promise<RunningService> {
  const logger =
    overrides.logger ?? createLogger({ service: config.serviceName, level: config.logLevel });
  const metrics = createMetrics({ service: config.serviceName });
  const mongo = await connectMongo({
    url: config.mongoUrl,
    database: config.mongoDatabase,
    logger,
  });
  await ensureIndexes(mongo.db, productIndexes);
  const store = createProductStore(mongo.db);

  const kafka = createKafka({
    brokers: config.kafkaBrokers,
    clientId: config.serviceName,
    logger,
  });
  await ensureTopics(kafka, [
    { name: config.inventoryUpdatesTopic },
    { name: config.catalogEventsTopic },
  ]);
  const publisher = await createEventPublisher(kafka, {
    producerName: 'product-service',
    retry: MARKER_PUBLISHER_RETRY,
  });
  const changes = startProductChangeRelay({
    store,
    publisher,
    topic: config.catalogEventsTopic,
    intervalMs: config.catalogOutboxIntervalMs,
    maxBackoffMs: config.catalogOutboxMaxBackoffMs,
    logger,
    registry: metrics.registry,
  });
  const consumer = await consumeStockLevels({
    kafka,
    topic: config.inventoryUpdatesTopic,
    groupId: config.stockConsumerGroup,
    store,
    logger,
    registry: metrics.registry,
  });

  const categoryClient = createGrpcClient(
    'shop.category.v1.CategoryService',
    category.CategoryServiceService,
    config.categoryServiceUrl,
    { interceptors: [metrics.grpcClientInterceptor] },
  );
  const categories = overrides.categories ?? grpcCategoryDirectory(categoryClient);
  const impl = withPolicy(
    createProductService({ store, categories, changes }),
    productPolicy,
    config.enforcePolicy,
  );

  return startService({
    config,
    logger,
    registry: metrics.registry,
    interceptors: [metrics.grpcServerInterceptor],
    register: (server) =>
      server.addService('shop.product.v1.ProductService', product.ProductServiceService, impl),
    onStop: [
      () => consumer.stop(),
      () => changes.stop(),
      () => publisher.disconnect(),
      () => Promise.resolve(categoryClient.close()),
      () => mongo.close(),
    ],
  });
}
