// The notifications subgraph's Subscription fields, served by the gateway (see @shop/graphql/subscriptions).
import type { SubscriptionDeclaration } from '@shop/graphql/subscriptions';
import { unpackPayload } from '@shop/platform/envelopes';
import { notificationEvents } from '@shop/proto';

const { NotificationSent } = notificationEvents;

export const subscriptions: readonly SubscriptionDeclaration[] = [
  {
    // `notification(id)` of each notification sent to the subscriber.
    field: 'notificationReceived',
    query: { field: 'notification' },
    mode: 'stream',
    access: 'owner',
    topic: 'user-notifications',
    key: (_args, caller) => (caller.kind === 'anonymous' ? '' : caller.subject),
    wake: (envelope) => {
      if (envelope.eventType !== NotificationSent.$type) return undefined;
      const sent = unpackPayload(envelope, NotificationSent);
      return { key: sent.userId, entityId: sent.notificationId };
    },
  },
];
