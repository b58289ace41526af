// The feeds of a gateway process, by id and by routing key: subscribers of the same entity with
// the same selection, variables and identity share one feed, and an event wakes the feeds of its
// routing key.
import type { SpanContext } from '@opentelemetry/api';
import type { Logger } from '@shop/platform';
import type { DocumentNode, FormattedExecutionResult } from 'graphql';
import { Feed, type Credentials, type FeedHooks } from './feed';
import type { SubscriptionMetrics } from './metrics';
import { EVENT_ID_VARIABLE, type PreparedSubscription } from './operations';

/** Runs an operation through the gateway; `fresh` goes past its entity cache and in-flight sharing. */
export type ExecuteQuery = (
  query: DocumentNode,
  variables: Record<string, unknown> | undefined,
  credentials: Credentials,
  fresh: boolean,
) => Promise<FormattedExecutionResult>;

/** Every feed of the process, found by id (to join) and by routing key (to wake). */
export class FeedRegistry {
  private readonly byId = new Map<string, Feed>();
  private readonly byKey = new Map<string, Set<Feed>>();
  private readonly hooks: FeedHooks;

  constructor(
    private readonly execute: ExecuteQuery,
    private readonly metrics: SubscriptionMetrics,
    private readonly log: Logger,
  ) {
    this.hooks = {
      empty: (empty) => {
        this.byId.delete(empty.id);
        const set = this.byKey.get(empty.routingKey);
        set?.delete(empty);
        if (set?.size === 0) this.byKey.delete(empty.routingKey);
        metrics.feeds.set(this.byId.size);
      },
      serialised: (field) => metrics.serialisations.inc({ field }),
      delivered: (field, sent, eventAt) => {
        if (sent > 0) metrics.messages.inc({ field }, sent);
        if (eventAt !== undefined) {
          metrics.eventLatency.observe({ field }, (Date.now() - eventAt) / 1000);
        }
      },
    };
  }

  get size(): number {
    return this.byId.size;
  }

  /** The feed of this subscription's entity, selection, variables and identity, made on first use. */
  feedFor(
    prepared: PreparedSubscription,
    routingKey: string,
    variables: Record<string, unknown>,
    identity: string,
  ): Feed {
    const id = `${routingKey}\n${identity}\n${prepared.queryText}\n${JSON.stringify(variables)}`;
    let feed = this.byId.get(id);
    if (feed !== undefined) return feed;
    const field = prepared.fieldName;
    const { executions } = this.metrics;
    feed = new Feed(
      id,
      routingKey,
      field,
      prepared.declaration.mode,
      async (credentials, entityId) => {
        try {
          // Event-driven reads go past the gateway's entity cache and in-flight sharing: they
          // must see the change the event announced.
          const result = await this.execute(
            prepared.query,
            entityId === undefined ? variables : { ...variables, [EVENT_ID_VARIABLE]: entityId },
            credentials,
            true,
          );
          executions.inc({ field, outcome: result.errors ? 'error' : 'ok' });
          return result;
        } catch (err) {
          executions.inc({ field, outcome: 'failed' });
          this.log.error({ err, field }, 'subscription re-read failed');
          return {
            errors: [
              {
                message: 'The update could not be read; it will be retried on the next change',
                extensions: { code: 'SERVICE_UNAVAILABLE' },
              },
            ],
          };
        }
      },
      this.hooks,
    );
    this.byId.set(id, feed);
    let set = this.byKey.get(routingKey);
    if (set === undefined) this.byKey.set(routingKey, (set = new Set()));
    set.add(feed);
    this.metrics.feeds.set(this.byId.size);
    return feed;
  }

  /** Wakes the feeds of `routingKey` (see {@link Feed.wake}); false when there are none. */
  wake(routingKey: string, entityId: string | undefined, at: number, cause?: SpanContext): boolean {
    const targets = this.byKey.get(routingKey);
    if (targets === undefined) return false;
    for (const feed of targets) feed.wake(entityId, at, cause);
    return true;
  }

  /** Every state feed re-reads its entity (events may have been missed). */
  refreshStates(at: number): void {
    for (const feed of this.byId.values()) if (feed.mode === 'state') feed.wake(undefined, at);
  }
}
