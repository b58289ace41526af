// The inventory subgraph's Subscription fields, served by the gateway (see @shop/graphql/subscriptions).
import type { SubscriptionDeclaration } from '@shop/graphql/subscriptions';

export const subscriptions: readonly SubscriptionDeclaration[] = [
  {
    // `stock(productId)` on every adjustment, reservation and release of the product's stock.
    field: 'stockChanged',
    query: { field: 'stock' },
    mode: 'state',
    access: 'public',
    topic: 'inventory-updates',
    key: (args) => String(args.productId),
    wake: (envelope) =>
      envelope.aggregateType === 'stock' ? { key: envelope.aggregateId } : undefined,
  },
];
