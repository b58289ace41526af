import {
  outgoingEvent,
  startPendingEventRelay,
  type Logger,
  type Metrics,
  type OutgoingEvent,
  type PendingEventMarker,
  type PendingEventRelay,
  type PendingEventRelayOptions,
} from '@shop/platform';
import { categoryEvents } from '@shop/proto';
import type { CategoryChange, CategoryDoc, CategoryStore } from './store';

const Kind = categoryEvents.CategoryChangeKind;

/** A change of this kind happening now, as the store's writes record it. */
export function categoryChange(
  kind: categoryEvents.CategoryChangeKind,
  at: Date = new Date(),
): CategoryChange {
  return { kind: Kind[kind], at };
}

/** The CategoryChanged that announces a category's pending marker, from its current state. */
export function categoryChangedEvent(doc: CategoryDoc, marker: PendingEventMarker): OutgoingEvent {
  const kind =
    (Kind as unknown as Record<string, categoryEvents.CategoryChangeKind | undefined>)[
      marker.kind
    ] ?? Kind.CATEGORY_CHANGE_KIND_UNSPECIFIED;
  return outgoingEvent(
    categoryEvents.CategoryChanged,
    { categoryId: doc._id, version: doc.version, kind },
    {
      eventId: marker.id,
      aggregateType: 'category',
      aggregateId: doc._id,
      aggregateVersion: doc.version,
      occurredAt: marker.at,
    },
  );
}

/**
 * Publishes CategoryChanged to `catalog-events` for every category a write changed: right after
 * each RPC's writes, and from a relay that republishes markers a crash or a Kafka outage left
 * behind (see startPendingEventRelay). A deleted category's tombstone is removed once its
 * DELETED event is out.
 */
export function startCategoryChangeRelay(options: {
  store: CategoryStore;
  /** The publisher, or a factory of one the relay owns (see startPendingEventRelay). */
  publisher: PendingEventRelayOptions<never>['publisher'];
  topic: string;
  intervalMs: number;
  maxBackoffMs: number;
  logger: Logger;
  registry: Metrics['registry'];
}): PendingEventRelay {
  return startPendingEventRelay({
    aggregateType: 'category',
    source: options.store,
    publisher: options.publisher,
    topic: options.topic,
    toEvent: categoryChangedEvent,
    intervalMs: options.intervalMs,
    maxBackoffMs: options.maxBackoffMs,
    logger: options.logger,
    registry: options.registry,
  });
}
