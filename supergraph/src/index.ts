/** The public GraphQL endpoint (Apollo Gateway) and the offline composition/check tools. */
export { loadGatewayConfig } from './config';
export type { GatewayConfig } from './config';
export { formatGatewayError, startGateway } from './gateway';
export type { GatewayContext } from './context';
export type { GatewayAuthenticator, GatewayOverrides, RunningGateway } from './gateway';
export { LIMIT_CODES, queryLimitsRule } from './limits';
export type { QueryLimits } from './limits';
export { compose, diffApiSchema, readAcks, readSupergraphConfig } from './schema';
export type { Composition, SupergraphConfig } from './schema';
export { SUBSCRIPTION_CLOSE_CODES, startSubscriptions } from './subscriptions';
export type { SubscriptionServer, SubscriptionSettings } from './subscriptions';
