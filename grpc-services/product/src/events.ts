import {
  outgoingEvent,
  pendingEventMarker,
  runConsumer,
  startPendingEventRelay,
  unpackPayload,
  type IncomingEvent,
  type Logger,
  type Metrics,
  type OutgoingEvent,
  type PendingEventMarker,
  type PendingEventRelay,
  type PendingEventRelayOptions,
  type RunningConsumer,
} from '@shop/platform';
import { inventoryEvents, productEvents } from '@shop/proto';
import type { Kafka } from 'kafkajs';
import type { ProductDoc, ProductStore } from './store';

/**
 * The in-stock projection.
 *
 * "In stock only" is answered from a copy of each product's available stock kept on the product
 * document, fed by the inventory service's StockLevelChanged events on `inventory-updates`,
 * rather than by calling BatchGetStock per page. Filtering after the fact would make pages come
 * back short or empty and force an unbounded loop of over-fetching; with the projection the
 * filter is part of the query, so cursors and page sizes stay exact and listing does not depend
 * on the inventory service being up. The cost is staleness of about one event hop (display
 * only: orders still reserve against the inventory service, which is the authority). Events carry
 * the stock version, so redelivered or reordered events never move the copy backwards; products
 * with no event yet count as out of stock.
 */
export function handleStockEvent(store: ProductStore, logger: Logger) {
  return async (event: IncomingEvent): Promise<void> => {
    if (event.envelope.eventType !== inventoryEvents.StockLevelChanged.$type) return;
    const change = unpackPayload(event.envelope, inventoryEvents.StockLevelChanged);
    const applied = await store.recordStock(change.productId, change.available, change.version);
    logger.debug(
      { product_id: change.productId, available: change.available, applied },
      'stock level projected',
    );
  };
}

/** Starts the consumer that keeps the in-stock projection. */
export function consumeStockLevels(options: {
  kafka: Kafka;
  topic: string;
  groupId: string;
  store: ProductStore;
  logger: Logger;
  registry: Metrics['registry'];
}): Promise<RunningConsumer> {
  return runConsumer({
    kafka: options.kafka,
    groupId: options.groupId,
    topics: [options.topic],
    logger: options.logger,
    registry: options.registry,
    // Events are keyed by product: different products of a batch are projected side by side
    // (each product still in order); one at a time it lagged minutes behind a bulk stock load.
    keyConcurrency: 32,
    handle: handleStockEvent(options.store, options.logger),
  });
}

const Kind = productEvents.ProductChangeKind;

/** A marker for a write of this kind (stored under the enum value's name). */
export function productChange(
  kind: productEvents.ProductChangeKind,
  at: Date = new Date(),
): PendingEventMarker {
  return pendingEventMarker(Kind[kind], at);
}

/** The ProductChanged that announces a product's pending marker, from its current state. */
export function productChangedEvent(doc: ProductDoc, marker: PendingEventMarker): OutgoingEvent {
  const kind =
    (Kind as unknown as Record<string, productEvents.ProductChangeKind | undefined>)[marker.kind] ??
    Kind.PRODUCT_CHANGE_KIND_UNSPECIFIED;
  return outgoingEvent(
    productEvents.ProductChanged,
    { productId: doc._id, version: doc.version, kind, categoryId: doc.categoryId },
    {
      eventId: marker.id,
      aggregateType: 'product',
      aggregateId: doc._id,
      aggregateVersion: doc.version,
      occurredAt: marker.at,
    },
  );
}

/**
 * Publishes ProductChanged to `catalog-events` for every write that changed a product: right
 * after the write, and from a relay that republishes markers a crash or a Kafka outage left
 * behind (see startPendingEventRelay).
 */
export function startProductChangeRelay(options: {
  store: ProductStore;
  /** The publisher, or a factory of one the relay owns (see startPendingEventRelay). */
  publisher: PendingEventRelayOptions<never>['publisher'];
  topic: string;
  intervalMs: number;
  maxBackoffMs: number;
  logger: Logger;
  registry: Metrics['registry'];
}): PendingEventRelay {
  return startPendingEventRelay({
    aggregateType: 'product',
    source: options.store,
    publisher: options.publisher,
    topic: options.topic,
    toEvent: productChangedEvent,
    intervalMs: options.intervalMs,
    maxBackoffMs: options.maxBackoffMs,
    logger: options.logger,
    registry: options.registry,
  });
}
