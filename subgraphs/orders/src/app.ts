import { loadSubgraphTypeDefs, startSubgraph, type RunningSubgraph } from '@shop/graphql';
import { createAuthenticator } from '@shop/platform/auth';
import { createGrpcClient, type Authenticator } from '@shop/platform/grpc';
import { createLogger, type Logger } from '@shop/platform/logging';
import { order } from '@shop/proto';
import type { OrdersSubgraphConfig } from './config';
import { ordersContext, ordersResolvers } from './resolvers';

/** Replaceable dependencies, for tests. */
export interface OrdersSubgraphOverrides {
  logger?: Logger;
  authenticate?: Authenticator;
}

/** Connects to the order service and serves the orders subgraph. */
export async function startOrdersSubgraph(
  config: OrdersSubgraphConfig,
  overrides: OrdersSubgraphOverrides = {},
): Promise<RunningSubgraph> {
  const logger =
    overrides.logger ?? createLogger({ service: config.serviceName, level: config.logLevel });
  const client = createGrpcClient(
    'shop.order.v1.OrderService',
    order.OrderServiceService,
    config.orderServiceUrl,
    { deadlineMs: config.grpcDeadlineMs },
  );
  return startSubgraph({
    name: config.name,
    typeDefs: loadSubgraphTypeDefs(__dirname),
    resolvers: ordersResolvers(client, logger),
    createContext: ordersContext(client, logger),
    host: config.host,
    port: config.port,
    metricsPort: config.metricsPort,
    logStoreUrl: config.logStoreUrl,
    logger,
    authenticate: overrides.authenticate ?? createAuthenticator(config.auth, logger),
    onStop: [() => client.close()],
  });
}
