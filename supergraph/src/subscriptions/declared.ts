// The supergraph's Subscription fields, as the subgraphs that own them declare them: a subgraph
// that adds Subscription fields adds its list here.
import type { SubscriptionDeclaration } from '@shop/graphql/subscriptions';
import { subscriptions as inventory } from '@shop/inventory-subgraph/subscriptions';
import { subscriptions as notifications } from '@shop/notifications-subgraph/subscriptions';
import { subscriptions as orders } from '@shop/orders-subgraph/subscriptions';

export const DECLARED_SUBSCRIPTIONS: readonly SubscriptionDeclaration[] = [
  ...inventory,
  ...notifications,
  ...orders,
];

/** The variable that renames a declared topic, by convention: `order-events` → `ORDER_EVENTS_TOPIC`. */
export const topicVariable = (topic: string): string =>
  `${topic.toUpperCase().replace(/-/g, '_')}_TOPIC`;

/** Declared topic → the topic read: the one its variable names when set, else its own name. */
export function topicsRead(
  declarations: readonly SubscriptionDeclaration[],
  variables: Readonly<Record<string, string>>,
): Record<string, string> {
  return Object.fromEntries(
    [...new Set(declarations.map((d) => d.topic))].map((topic) => [
      topic,
      variables[topicVariable(topic)] ?? topic,
    ]),
  );
}
