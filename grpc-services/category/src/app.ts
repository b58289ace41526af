import {
  connectMongo,
  createGrpcClient,
  createLogger,
  createMetrics,
  ensureIndexes,
  startService,
  type Logger,
  type RunningService,
  withPolicy,
} from '@shop/platform';
import { category, descriptorSetPath, product } from '@shop/proto';
import { readFileSync } from 'node:fs';
import type { CategoryConfig } from './config';
import { categoryPolicy } from './policy';
import { grpcProductDirectory, type ProductDirectory } from './products';
import { createCategoryService, resumeUnfinishedMoves } from './service';
import { categoryIndexes, createCategoryStore } from './store';

/** Replaceable dependencies, for tests. */
export interface CategoryOverrides {
  logger?: Logger;
  products?: ProductDirectory;
}

/** Connects the store, builds the service and serves it; stop() drains and disconnects. */
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
  await resumeUnfinishedMoves(store, logger);

  const productClient = createGrpcClient(
    'shop.product.v1.ProductService',
    product.ProductServiceService,
    config.productServiceUrl,
    { interceptors: [metrics.grpcClientInterceptor] },
  );
  const products = overrides.products ?? grpcProductDirectory(productClient);
  const impl = withPolicy(
    createCategoryService({ store, products }),
    categoryPolicy,
    config.enforcePolicy,
  );

  return startService({
    config,
    logger,
    registry: metrics.registry,
    interceptors: [metrics.grpcServerInterceptor],
    descriptorSet: readFileSync(descriptorSetPath),
    register: (server) =>
      server.addService('shop.category.v1.CategoryService', category.CategoryServiceService, impl),
    onStop: [() => Promise.resolve(productClient.close()), () => mongo.close()],
  });
}
