/** The orders subgraph: Order entity, placing and cancelling orders, and User.orders. */
export { startOrdersSubgraph } from './app';
export type { OrdersSubgraphOverrides } from './app';
export { loadOrdersSubgraphConfig } from './config';
export type { OrdersSubgraphConfig } from './config';
