// The orders subgraph's Subscription fields, served by the gateway (see @shop/graphql/subscriptions).
import type { SubscriptionDeclaration } from '@shop/graphql/subscriptions';

export const subscriptions: readonly SubscriptionDeclaration[] = [
  {
    // `order(id)` on every event about the order; another customer's order is NOT_FOUND there.
    field: 'orderStatusChanged',
    query: { field: 'order', args: { orderId: 'id' } },
    mode: 'state',
    access: 'owner',
    topic: 'order-events',
    key: (args) => String(args.orderId),
    wake: (envelope) =>
      envelope.aggregateType === 'order' ? { key: envelope.aggregateId } : undefined,
  },
];
