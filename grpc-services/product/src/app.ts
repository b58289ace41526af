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
 * builds the service and serves it; stop() drains calls, then releases what start-up opened,
 * newest first (which a failed start-up does at once).
 */
export function startProductService(
  config: ProductConfig,
  overrides: ProductOverrides = {},
): Promise<RunningService> {
  const logger =
    overrides.logger ?? createLogger({ service: config.serviceName, level: config.logLevel });
  const metrics = createMetrics({ service: config.serviceName });
  return startWithRollback(logger, async (opened) => {
    const mongo = opened.add(
      await connectMongo({ url: config.mongoUrl, database: config.mongoDatabase, logger }),
      (m) => m.close(),
    );
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
    const changes = opened.add(
      startProductChangeRelay({
        store,
        publisher: markerPublisher(kafka, 'product-service'),
        topic: config.catalogEventsTopic,
        intervalMs: config.catalogOutboxIntervalMs,
        maxBackoffMs: config.catalogOutboxMaxBackoffMs,
        logger,
        registry: metrics.registry,
      }),
      (c) => c.stop(),
    );
    const categoryClient = opened.add(
      createGrpcClient(
        'shop.category.v1.CategoryService',
        category.CategoryServiceService,
        config.categoryServiceUrl,
        { interceptors: [metrics.grpcClientInterceptor] },
      ),
      (c) => c.close(),
    );
    opened.add(
      await consumeStockLevels({
        kafka,
        topic: config.inventoryUpdatesTopic,
        groupId: config.stockConsumerGroup,
        store,
        logger,
        registry: metrics.registry,
      }),
      (c) => c.stop(),
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
      // After the drain: the consumer, the client, the relay (with its publisher), then the store.
      onStop: [() => opened.releaseAll()],
    });
  });
}
