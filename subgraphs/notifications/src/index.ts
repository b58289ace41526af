/** The notifications subgraph: the signed-in user's notifications. */
export { startNotificationsSubgraph } from './app';
export type { NotificationsSubgraphOverrides } from './app';
export { loadNotificationsSubgraphConfig } from './config';
export type { NotificationsSubgraphConfig } from './config';
