import { loadSubgraphTypeDefs, startSubgraph, type RunningSubgraph } from '@shop/graphql';
import { createAuthenticator } from '@shop/platform/auth';
import { createGrpcClient, type Authenticator } from '@shop/platform/grpc';
import { createLogger, type Logger } from '@shop/platform/logging';
import { user } from '@shop/proto';
import type { UsersSubgraphConfig } from './config';
import { usersContext, usersResolvers } from './resolvers';

/** Replaceable dependencies, for tests. */
export interface UsersSubgraphOverrides {
  logger?: Logger;
  authenticate?: Authenticator;
}

/** Connects to the user service and serves the users subgraph. */
export async function startUsersSubgraph(
  config: UsersSubgraphConfig,
  overrides: UsersSubgraphOverrides = {},
): Promise<RunningSubgraph> {
  const logger =
    overrides.logger ?? createLogger({ service: config.serviceName, level: config.logLevel });
  const client = createGrpcClient(
    'shop.user.v1.UserService',
    user.UserServiceService,
    config.userServiceUrl,
    { deadlineMs: config.grpcDeadlineMs },
  );
  return startSubgraph({
    name: config.name,
    typeDefs: loadSubgraphTypeDefs(__dirname),
    resolvers: usersResolvers(client, logger),
    createContext: usersContext(client, logger),
    host: config.host,
    port: config.port,
    metricsPort: config.metricsPort,
    logStoreUrl: config.logStoreUrl,
    logger,
    authenticate: overrides.authenticate ?? createAuthenticator(config.auth, logger),
    onStop: [() => client.close()],
  });
}
