// How a subgraph declares its Subscription fields to the gateway. The gateway serves every
// subscription the same way: it re-reads the entity through its own query planner whenever an
// event about it arrives, so a declaration only says which query re-reads the entity, which
// events are about it, and who may follow it. Type-only: importing it loads nothing.
import type { Caller } from '@shop/platform';
import type { events } from '@shop/proto';

/** Which subscribers an event wakes, and for a stream, the id of the entity it announced. */
export interface SubscriptionWake {
  /** Compared with {@link SubscriptionDeclaration.key} of each subscriber of the field. */
  readonly key: string;
  /** Stream fields: the id the query field reads (passed as its `id` argument). */
  readonly entityId?: string;
}

/** One Subscription field: the query that re-reads its entity and the events that wake it. */
export interface SubscriptionDeclaration {
  /** The Subscription field, as in the subgraph's `schema.graphql`. */
  readonly field: string;
  /**
   * The Query field that re-reads the entity, and how subscription arguments map to its
   * arguments (unmapped arguments keep their name).
   */
  readonly query: { readonly field: string; readonly args?: Readonly<Record<string, string>> };
  /** `state`: the current state first, then the state after every change; `stream`: each new entity once. */
  readonly mode: 'state' | 'stream';
  /** `public`: one anonymous read serves every non-operator; `owner`: read with the subscriber's token. */
  readonly access: 'public' | 'owner';
  /** The Kafka topic its events arrive on, by default name (the gateway reads `<NAME>_TOPIC`). */
  readonly topic: string;
  /** The key a subscriber waits on, from the field's arguments and the subscriber. */
  key(args: Readonly<Record<string, unknown>>, caller: Caller): string;
  /** The key an event on the topic wakes, or `undefined` when the event is not about this field. */
  wake(envelope: events.EventEnvelope): SubscriptionWake | undefined;
}
