import { startServiceSubgraph, type RunningSubgraph, type SubgraphOverrides } from '@shop/graphql';
import { notification } from '@shop/proto';
import type { NotificationsSubgraphConfig } from './config';
import { notificationsContext, notificationsResolvers } from './resolvers';

/** Replaceable dependencies, for tests. */
export type NotificationsSubgraphOverrides = SubgraphOverrides;

/** Connects to the notification service and serves the notifications subgraph. */
export function startNotificationsSubgraph(
  config: NotificationsSubgraphConfig,
  overrides: NotificationsSubgraphOverrides = {},
): Promise<RunningSubgraph> {
  const subgraph = {
    serviceName: 'shop.notification.v1.NotificationService',
    definition: notification.NotificationServiceService,
    resolvers: notificationsResolvers,
    context: notificationsContext,
  };
  const where = { config, serviceUrl: config.notificationServiceUrl, dir: __dirname };
  return startServiceSubgraph(subgraph, where, overrides);
}
