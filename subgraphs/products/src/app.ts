import { loadSubgraphTypeDefs, startSubgraph, type RunningSubgraph } from '@shop/graphql';
import { createAuthenticator } from '@shop/platform/auth';
import { createGrpcClient, type Authenticator } from '@shop/platform/grpc';
import { createLogger, type Logger } from '@shop/platform/logging';
import { product } from '@shop/proto';
import type { ProductsSubgraphConfig } from './config';
import { productsContext, productsResolvers } from './resolvers';

/** Replaceable dependencies, for tests. */
export interface ProductsSubgraphOverrides {
  logger?: Logger;
  authenticate?: Authenticator;
}

/** Connects to the product service and serves the products subgraph. */
export async function startProductsSubgraph(
  config: ProductsSubgraphConfig,
  overrides: ProductsSubgraphOverrides = {},
): Promise<RunningSubgraph> {
  const logger =
    overrides.logger ?? createLogger({ service: config.serviceName, level: config.logLevel });
  const client = createGrpcClient(
    'shop.product.v1.ProductService',
    product.ProductServiceService,
    config.productServiceUrl,
    { deadlineMs: config.grpcDeadlineMs },
  );
  return startSubgraph({
    name: config.name,
    typeDefs: loadSubgraphTypeDefs(__dirname),
    resolvers: productsResolvers(client, logger),
    createContext: productsContext(client, logger),
    host: config.host,
    port: config.port,
    metricsPort: config.metricsPort,
    logStoreUrl: config.logStoreUrl,
    logger,
    authenticate: overrides.authenticate ?? createAuthenticator(config.auth, logger),
    onStop: [() => client.close()],
  });
}
