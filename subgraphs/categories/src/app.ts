import { loadSubgraphTypeDefs, startSubgraph, type RunningSubgraph } from '@shop/graphql';
import { createAuthenticator } from '@shop/platform/auth';
import { createGrpcClient, type Authenticator } from '@shop/platform/grpc';
import { createLogger, type Logger } from '@shop/platform/logging';
import { category } from '@shop/proto';
import type { CategoriesSubgraphConfig } from './config';
import { categoriesContext, categoriesResolvers } from './resolvers';

/** Replaceable dependencies, for tests. */
export interface CategoriesSubgraphOverrides {
  logger?: Logger;
  authenticate?: Authenticator;
}

/** Connects to the category service and serves the categories subgraph. */
export async function startCategoriesSubgraph(
  config: CategoriesSubgraphConfig,
  overrides: CategoriesSubgraphOverrides = {},
): Promise<RunningSubgraph> {
  const logger =
    overrides.logger ?? createLogger({ service: config.serviceName, level: config.logLevel });
  const client = createGrpcClient(
    'shop.category.v1.CategoryService',
    category.CategoryServiceService,
    config.categoryServiceUrl,
    { deadlineMs: config.grpcDeadlineMs },
  );
  return startSubgraph({
    name: config.name,
    typeDefs: loadSubgraphTypeDefs(__dirname),
    resolvers: categoriesResolvers(client, logger),
    createContext: categoriesContext(client, logger),
    host: config.host,
    port: config.port,
    metricsPort: config.metricsPort,
    logStoreUrl: config.logStoreUrl,
    logger,
    authenticate: overrides.authenticate ?? createAuthenticator(config.auth, logger),
    onStop: [() => client.close()],
  });
}
