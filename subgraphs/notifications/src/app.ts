import { loadSubgraphTypeDefs, startSubgraph, type RunningSubgraph } from '@shop/graphql';
import { createAuthenticator } from '@shop/platform/auth';
import { createGrpcClient, type Authenticator } from '@shop/platform/grpc';
import { createLogger, type Logger } from '@shop/platform/logging';
import { notification } from '@shop/proto';
import type { NotificationsSubgraphConfig } from './config';
import { notificationsContext, notificationsResolvers } from './resolvers';

/** Replaceable dependencies, for tests. */
export interface NotificationsSubgraphOverrides {
  logger?: Logger;
  authenticate?: Authenticator;
}

/** Connects to the notification service and serves the notifications subgraph. */
export async function startNotificationsSubgraph(
  config: NotificationsSubgraphConfig,
  overrides: NotificationsSubgraphOverrides = {},
): Promise<RunningSubgraph> {
  const logger =
    overrides.logger ?? createLogger({ service: config.serviceName, level: config.logLevel });
  const client = createGrpcClient(
    'shop.notification.v1.NotificationService',
    notification.NotificationServiceService,
    config.notificationServiceUrl,
    { deadlineMs: config.grpcDeadlineMs },
  );
  return startSubgraph({
    name: config.name,
    typeDefs: loadSubgraphTypeDefs(__dirname),
    resolvers: notificationsResolvers(client, logger),
    createContext: notificationsContext(client, logger),
    host: config.host,
    port: config.port,
    metricsPort: config.metricsPort,
    logStoreUrl: config.logStoreUrl,
    logger,
    authenticate: overrides.authenticate ?? createAuthenticator(config.auth, logger),
    onStop: [() => client.close()],
  });
}
