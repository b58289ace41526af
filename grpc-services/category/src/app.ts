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
import type { CategoryConfig } from './config';
import { startCategoryChangeRelay } from './events';
import { categoryPolicy } from './policy';
import { grpcProductDirectory, type ProductDirectory } from './products';
import { createCategoryService, resumeUnfinishedMoves } from './service';
import { categoryIndexes, createCategoryStore } from './store';

/** Replaceable dependencies, for tests. */
export interface CategoryOverrides {
  logger?: Logger;
  products?: ProductDirectory;
}

/**
 * Connects the store and Kafka, starts the CategoryChanged publisher, finishes interrupted moves,
 * builds the service and serves it; stop() drains calls, then stops the publisher and
 * disconnects.
 */
export async function startCategoryService(
  config: CategoryConfig,
  overrides: CategoryOverrides = {},
): Promise<RunningService> {
  const logger =
    overrides.logger ?? createLogger({ service: config.serviceName, level: config.logLevel });
  const metrics = createMetrics({ service: config.serviceName });
  const mongo = await connectMongo({
    url: config.mongoUrl,
    database: config.mongoDatabase,
    logger,
  });
  await ensureIndexes(mongo.db, categoryIndexes);
  const store = createCategoryStore(mongo.db);

  const kafka = createKafka({
    brokers: config.kafkaBrokers,
    clientId: config.serviceName,
    logger,
  });
  await ensureTopics(kafka, [{ name: config.catalogEventsTopic }]);
  const publisher = await createEventPublisher(kafka, {
    producerName: 'category-service',
    retry: MARKER_PUBLISHER_RETRY,
  });
  const changes = startCategoryChangeRelay({
    store,
    publisher,
    topic: config.catalogEventsTopic,
    intervalMs: config.catalogOutboxIntervalMs,
    maxBackoffMs: config.catalogOutboxMaxBackoffMs,
    logger,
    registry: metrics.registry,
  });
  await resumeUnfinishedMoves(store, changes, logger);

  const productClient = createGrpcClient(
    'shop.product.v1.ProductService',
    product.ProductServiceService,
    config.productServiceUrl,
    { interceptors: [metrics.grpcClientInterceptor] },
  );
  const products = overrides.products ?? grpcProductDirectory(productClient);
  const impl = withPolicy(
    createCategoryService({ store, products, changes }),
    categoryPolicy,
    config.enforcePolicy,
  );

  return startService({
    config,
    logger,
    registry: metrics.registry,
    interceptors: [metrics.grpcServerInterceptor],
    register: (server) =>
      server.addService('shop.category.v1.CategoryService', category.CategoryServiceService, impl),
    onStop: [
      () => changes.stop(),
      () => publisher.disconnect(),
      () => Promise.resolve(productClient.close()),
      () => mongo.close(),
    ],
  });
}
