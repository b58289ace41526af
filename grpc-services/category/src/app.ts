import {
  connectMongo,
  createGrpcClient,
  createKafka,
  createLogger,
  createMetrics,
  ensureIndexes,
  ensureTopics,
  markerPublisher,
  startService,
  startWithRollback,
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
 * builds the service and serves it; stop() drains calls, then releases what start-up opened,
 * newest first (which a failed start-up does at once).
 */
export function startCategoryService(
  config: CategoryConfig,
  overrides: CategoryOverrides = {},
): Promise<RunningService> {
  const logger =
    overrides.logger ?? createLogger({ service: config.serviceName, level: config.logLevel });
  const metrics = createMetrics({ service: config.serviceName });
  return startWithRollback(logger, async (opened) => {
    const mongo = opened.add(
      await connectMongo({ url: config.mongoUrl, database: config.mongoDatabase, logger }),
      (m) => m.close(),
    );
    await ensureIndexes(mongo.db, categoryIndexes);
    const store = createCategoryStore(mongo.db);

    const kafka = createKafka({
      brokers: config.kafkaBrokers,
      clientId: config.serviceName,
      logger,
    });
    await ensureTopics(kafka, [{ name: config.catalogEventsTopic }]);
    const changes = opened.add(
      startCategoryChangeRelay({
        store,
        publisher: markerPublisher(kafka, 'category-service'),
        topic: config.catalogEventsTopic,
        intervalMs: config.catalogOutboxIntervalMs,
        maxBackoffMs: config.catalogOutboxMaxBackoffMs,
        logger,
        registry: metrics.registry,
      }),
      (c) => c.stop(),
    );
    await resumeUnfinishedMoves(store, changes, logger);

    const productClient = opened.add(
      createGrpcClient(
        'shop.product.v1.ProductService',
        product.ProductServiceService,
        config.productServiceUrl,
        { interceptors: [metrics.grpcClientInterceptor] },
      ),
      (c) => c.close(),
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
        server.addService(
          'shop.category.v1.CategoryService',
          category.CategoryServiceService,
          impl,
        ),
      // After the drain: the client, the relay (with its publisher), then the store.
      onStop: [() => opened.releaseAll()],
    });
  });
}
