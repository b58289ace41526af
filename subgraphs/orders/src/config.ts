import { readBaseSubgraphConfig, type BaseSubgraphConfig } from '@shop/graphql/config';
import { parsers, readConfig } from '@shop/platform/config';

/** Configuration of the orders subgraph process. */
export interface OrdersSubgraphConfig extends BaseSubgraphConfig {
  /** Order service address. */
  orderServiceUrl: string;
}

/** Reads the orders subgraph's configuration; throws a ConfigError naming every bad variable. */
export function loadOrdersSubgraphConfig(
  env: Readonly<Record<string, string | undefined>>,
): OrdersSubgraphConfig {
  return readConfig(env, (reader) => ({
    ...readBaseSubgraphConfig(reader, { name: 'orders', port: 4005, metricsPort: 9465 }),
    orderServiceUrl: reader.optional('ORDER_GRPC_URL', parsers.string, '127.0.0.1:50055'),
  }));
}
