import { loadSubgraphTypeDefs, startSubgraph, type RunningSubgraph } from '@shop/graphql';
import { createAuthenticator } from '@shop/platform/auth';
import { createGrpcClient, type Authenticator } from '@shop/platform/grpc';
import { createLogger, type Logger } from '@shop/platform/logging';
import { inventory } from '@shop/proto';
import type { InventorySubgraphConfig } from './config';
import { inventoryContext, inventoryResolvers } from './resolvers';

/** Replaceable dependencies, for tests. */
export interface InventorySubgraphOverrides {
  logger?: Logger;
  authenticate?: Authenticator;
}

/** Connects to the inventory service and serves the inventory subgraph. */
export async function startInventorySubgraph(
  config: InventorySubgraphConfig,
  overrides: InventorySubgraphOverrides = {},
): Promise<RunningSubgraph> {
  const logger =
    overrides.logger ?? createLogger({ service: config.serviceName, level: config.logLevel });
  const client = createGrpcClient(
    'shop.inventory.v1.InventoryService',
    inventory.InventoryServiceService,
    config.inventoryServiceUrl,
    { deadlineMs: config.grpcDeadlineMs },
  );
  return startSubgraph({
    name: config.name,
    typeDefs: loadSubgraphTypeDefs(__dirname),
    resolvers: inventoryResolvers(client, logger),
    createContext: inventoryContext(client, logger),
    host: config.host,
    port: config.port,
    metricsPort: config.metricsPort,
    logStoreUrl: config.logStoreUrl,
    logger,
    authenticate: overrides.authenticate ?? createAuthenticator(config.auth, logger),
    onStop: [() => client.close()],
  });
}
