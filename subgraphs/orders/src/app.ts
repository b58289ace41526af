import { startServiceSubgraph, type RunningSubgraph, type SubgraphOverrides } from '@shop/graphql';
import { order } from '@shop/proto';
import type { OrdersSubgraphConfig } from './config';
import { ordersContext, ordersResolvers } from './resolvers';

/** Replaceable dependencies, for tests. */
export type OrdersSubgraphOverrides = SubgraphOverrides;

/** Connects to the order service and serves the orders subgraph. */
export function startOrdersSubgraph(
  config: OrdersSubgraphConfig,
  overrides: OrdersSubgraphOverrides = {},
): Promise<RunningSubgraph> {
  const subgraph = {
    serviceName: 'shop.order.v1.OrderService',
    definition: order.OrderServiceService,
    resolvers: ordersResolvers,
    context: ordersContext,
  };
  const where = { config, serviceUrl: config.orderServiceUrl, dir: __dirname };
  return startServiceSubgraph(subgraph, where, overrides);
}
