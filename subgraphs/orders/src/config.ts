import { readBaseSubgraphConfig, type BaseSubgraphConfig } from '@shop/graphql/config';
import { parsers, readConfig } from '@shop/platform/config';
import { localGrpcAddress, subgraphPorts } from '@shop/platform/topology';

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
    ...readBaseSubgraphConfig(reader, { name: 'orders', ...subgraphPorts('orders') }),
    orderServiceUrl: reader.optional('ORDER_GRPC_URL', parsers.string, localGrpcAddress('order')),
  }));
}
