import { readBaseSubgraphConfig, type BaseSubgraphConfig } from '@shop/graphql/config';
import { parsers, readConfig } from '@shop/platform/config';
import { localGrpcAddress, subgraphPorts } from '@shop/platform/topology';

/** Configuration of the notifications subgraph process. */
export interface NotificationsSubgraphConfig extends BaseSubgraphConfig {
  /** Notification service address. */
  notificationServiceUrl: string;
}

/** Reads the notifications subgraph's configuration; throws a ConfigError naming every bad variable. */
export function loadNotificationsSubgraphConfig(
  env: Readonly<Record<string, string | undefined>>,
): NotificationsSubgraphConfig {
  return readConfig(env, (reader) => ({
    ...readBaseSubgraphConfig(reader, { name: 'notifications', ...subgraphPorts('notifications') }),
    notificationServiceUrl: reader.optional(
      'NOTIFICATION_GRPC_URL',
      parsers.string,
      localGrpcAddress('notification'),
    ),
  }));
}
