import {
  PoisonMessageError,
  startOutboxRelay as startPlatformRelay,
  outgoingEvent,
  unpackPayload,
  type EventPublisher,
  type IncomingEvent,
  type Logger,
  type OutgoingEvent,
} from '@shop/platform';
import { inventoryEvents, order, orderEvents } from '@shop/proto';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { OrderLineInput, Reservations } from './reservations';
import type { InventoryStore, MovementRecord, ReservationRecord } from './store';

/** Kafka topics of the inventory service. */
export interface InventoryTopics {
  /** Consumed: OrderCreated, OrderConfirmed, OrderCancelled. */
  readonly orderEvents: string;
  /** Produced: StockLevelChanged (keyed by product id), reservation outcomes (keyed by order id). */
  readonly inventoryUpdates: string;
}

/** Counters and gauges of the reservation pipeline. */
export interface InventoryMetrics {
  readonly reservations: Counter<'outcome'>;
  readonly reservationsRejected: Counter;
  readonly outboxOldestAge: Gauge;
  /** Order placed (OrderCreated occurred) → its reservation decided: the pipeline's first stage. */
  readonly reservationDelay: Histogram;
  /** Movements written that left a product oversold: the invariant alarm, must stay 0. */
  readonly oversold: Counter;
}

/** Whether stock levels break the invariant (more reserved than on hand, so available < 0). */
export const oversold = (levels: {
  readonly onHand: number;
  readonly reserved: number;
  readonly available: number;
}): boolean => levels.available < 0 || levels.reserved > levels.onHand;

/** Buckets of the pipeline stage histograms, in seconds (5 ms to 30 s). */
export const STAGE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Registers the inventory metrics on a registry. */
export function createInventoryMetrics(registry: Registry): InventoryMetrics {
  return {
    reservations: new Counter({
      name: 'inventory_reservations_total',
      help: 'Orders whose reservation was decided, by outcome (reserved, rejected).',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    reservationsRejected: new Counter({
      name: 'inventory_reservations_rejected_total',
      help: 'Orders rejected because some line could not be reserved.',
      registers: [registry],
    }),
    outboxOldestAge: new Gauge({
      name: 'inventory_outbox_oldest_pending_seconds',
      help: 'Age of the oldest StockLevelChanged not yet published (0 when none).',
      registers: [registry],
    }),
    reservationDelay: new Histogram({
      name: 'inventory_reservation_delay_seconds',
      help: 'Order placed (OrderCreated occurred) until its reservation was decided, by outcome.',
      labelNames: ['outcome'],
      buckets: STAGE_BUCKETS,
      registers: [registry],
    }),
    oversold: new Counter({
      name: 'inventory_oversold_total',
      help:
        'Stock movements written that left a product oversold (available < 0 or reserved > on ' +
        'hand). The ledger writer refuses such moves, so this must stay 0; anything else pages.',
      registers: [registry],
    }),
  };
}

/** The StockLevelChanged event a movement publishes. */
export function stockLevelChangedEvent(m: MovementRecord): OutgoingEvent {
  return outgoingEvent(
    inventoryEvents.StockLevelChanged,
    {
      productId: m.productId,
      onHand: m.after.onHand,
      reserved: m.after.reserved,
      available: m.after.available,
      reason: m.kind,
      version: m.seq,
      orderId: m.orderId,
    },
    {
      eventId: m.outboxEventId,
      aggregateType: 'stock',
      aggregateId: m.productId,
      aggregateVersion: m.seq,
      occurredAt: m.at,
      ...(m.eventId ? { causationId: m.eventId } : {}),
    },
  );
}

/** The StockReserved or StockRejected event of a decided order, keyed by order id. */
export function reservationOutcomeEvent(
  record: ReservationRecord,
  causationId: string,
): OutgoingEvent {
  const fields = {
    eventId: record.outcomeEventId,
    aggregateType: 'order',
    aggregateId: record.orderId,
    occurredAt: record.createdAt,
    causationId,
  };
  return record.rejected.length === 0
    ? outgoingEvent(
        inventoryEvents.StockReserved,
        { orderId: record.orderId, lines: record.lines.map((l) => ({ ...l })) },
        fields,
      )
    : outgoingEvent(
        inventoryEvents.StockRejected,
        { orderId: record.orderId, lines: record.rejected.map((l) => ({ ...l })) },
        fields,
      );
}

/** Dependencies of {@link createOrderEventHandler}. */
export interface OrderEventHandlerDeps {
  store: InventoryStore;
  reservations: Reservations;
  publisher: EventPublisher;
  topics: InventoryTopics;
  metrics: InventoryMetrics;
  logger: Logger;
}

const linesOf = (created: orderEvents.OrderCreated): OrderLineInput[] => {
  if (!created.orderId) throw new PoisonMessageError('OrderCreated without order_id');
  if (created.lines.length === 0) throw new PoisonMessageError('OrderCreated without lines');
  return created.lines.map((l, i) => {
    if (!l.productId || !Number.isInteger(l.quantity) || l.quantity < 1) {
      throw new PoisonMessageError(`OrderCreated line ${i} lacks a product or a positive quantity`);
    }
    return { productId: l.productId, quantity: l.quantity };
  });
};

/**
 * Handles one `order-events` record for the reservation consumer: OrderCreated reserves,
 * OrderCancelled releases, OrderConfirmed commits; other order events are ignored. Idempotent by
 * order id: one reservation record per order and deterministic movement ids.
 */
export function createOrderEventHandler(
  deps: OrderEventHandlerDeps,
): (event: IncomingEvent) => Promise<void> {
  const { reservations, publisher, topics, metrics } = deps;
  const ours = new Set<string>([
    orderEvents.OrderCreated.$type,
    orderEvents.OrderCancelled.$type,
    orderEvents.OrderConfirmed.$type,
  ]);
  return async ({ envelope }) => {
    // Status changes and future order events are not ours to act on: no store access at all.
    // The three we act on need no processed-events record: each is idempotent by order id
    // (one reservation record per order, deterministic movement ids), whatever the event id,
    // and that saves two store calls per event on the hot path.
    if (!ours.has(envelope.eventType)) return;
    const log = deps.logger.child({ event_id: envelope.eventId, event_type: envelope.eventType });
    switch (envelope.eventType) {
      case orderEvents.OrderCreated.$type: {
        const created = unpackPayload(envelope, orderEvents.OrderCreated);
        const outcome = await reservations.reserve(
          created.orderId,
          linesOf(created),
          envelope.eventId,
        );
        if (outcome.kind === 'cancelled') {
          log.info({ order_id: created.orderId }, 'order already cancelled; nothing reserved');
          break;
        }
        if (!outcome.replayed) {
          metrics.reservations.inc({ outcome: outcome.kind });
          if (outcome.kind === 'rejected') metrics.reservationsRejected.inc();
          if (envelope.occurredAt) {
            metrics.reservationDelay.observe(
              { outcome: outcome.kind },
              Math.max(0, outcome.record.createdAt.getTime() - envelope.occurredAt.getTime()) /
                1000,
            );
          }
        }
        await publisher.publish(topics.inventoryUpdates, [
          reservationOutcomeEvent(outcome.record, envelope.eventId),
        ]);
        log.info({ order_id: created.orderId, outcome: outcome.kind }, 'reservation decided');
        break;
      }
      case orderEvents.OrderCancelled.$type: {
        const cancelled = unpackPayload(envelope, orderEvents.OrderCancelled);
        if (!cancelled.orderId) throw new PoisonMessageError('OrderCancelled without order_id');
        const reason = `order cancelled (${orderCancellationName(cancelled.reason)})`;
        const released = await reservations.release(cancelled.orderId, envelope.eventId, reason);
        if (released.lines.length > 0) {
          await publisher.publish(topics.inventoryUpdates, [
            outgoingEvent(
              inventoryEvents.StockReleased,
              { orderId: cancelled.orderId, lines: released.lines.map((l) => ({ ...l })) },
              {
                aggregateType: 'order',
                aggregateId: cancelled.orderId,
                causationId: envelope.eventId,
              },
            ),
          ]);
        }
        break;
      }
      case orderEvents.OrderConfirmed.$type: {
        const confirmed = unpackPayload(envelope, orderEvents.OrderConfirmed);
        if (!confirmed.orderId) throw new PoisonMessageError('OrderConfirmed without order_id');
        const committed = await reservations.commit(confirmed.orderId, envelope.eventId);
        if (committed.lines.length > 0) {
          await publisher.publish(topics.inventoryUpdates, [
            outgoingEvent(
              inventoryEvents.StockCommitted,
              { orderId: confirmed.orderId, lines: committed.lines.map((l) => ({ ...l })) },
              {
                aggregateType: 'order',
                aggregateId: confirmed.orderId,
                causationId: envelope.eventId,
              },
            ),
          ]);
        }
        break;
      }
      default:
        // Status changes and future order events are not ours to act on.
        break;
    }
  };
}

const orderCancellationName = (reason: order.CancellationReason): string =>
  order.CancellationReason[reason] ?? String(reason);

/** A running outbox relay of stock movements. */
export interface OutboxRelay {
  /**
   * The fast path, called with movements just written: publishes their StockLevelChanged at once
   * (batched with whatever else is waiting) and marks them sent. A failure is logged and left to
   * the relay loop.
   */
  publishSoon(movements: readonly MovementRecord[]): void;
  /** Publishes everything pending now, of any age; resolves with how many movements it found. */
  flush(): Promise<number>;
  stop(): Promise<void>;
}

/** Dependencies of {@link startOutboxRelay}. */
export interface OutboxRelayDeps {
  store: InventoryStore;
  publisher: EventPublisher;
  topic: string;
  /** Pause between the relay's scans for movements the fast path left behind. */
  intervalMs: number;
  /** Longest time between scans while the fast path left nothing behind (default 10 intervals). */
  backstopMs?: number;
  /** Movements younger than this are left to the fast path by the scan (default 1 s). */
  graceMs?: number;
  logger: Logger;
  metrics: InventoryMetrics;
  batchSize?: number;
}

/**
 * Publishes the StockLevelChanged of every movement to `inventory-updates`, then marks it sent,
 * on the platform's relay ({@link startPlatformRelay}). The movement is its own outbox entry,
 * written in the same insert as the change, so nothing is lost while Kafka is down: the store
 * hands every movement it wrote to the fast path, and the relay's scan publishes what a crash or
 * a failed send left pending (on the local store a scan reads every movement, so it runs every
 * `intervalMs` only after a start or a failure, otherwise every `backstopMs`). Each send is in
 * version order per product (the topic is keyed by product id); the event id is the movement's,
 * so consumers drop repeats, and each event carries the stock version so consumers ignore older
 * levels.
 */
export function startOutboxRelay(deps: OutboxRelayDeps): OutboxRelay {
  return startPlatformRelay<MovementRecord>({
    name: 'stock',
    source: {
      pending: (before, limit) => deps.store.pendingOutbox(before, limit),
      markPublished: (movements) => deps.store.markPublished(movements.map((m) => m.id)),
    },
    publisher: deps.publisher,
    topic: deps.topic,
    events: (m) => [stockLevelChangedEvent(m)],
    key: (m) => m.id,
    // Per product in version order: the topic is keyed by product id.
    sendOrder: (a, b) =>
      a.productId === b.productId ? a.seq - b.seq : a.productId < b.productId ? -1 : 1,
    pendingSince: (m) => m.at,
    intervalMs: deps.intervalMs,
    batchSize: deps.batchSize ?? 200,
    ...(deps.backstopMs === undefined ? {} : { backstopMs: deps.backstopMs }),
    ...(deps.graceMs === undefined ? {} : { graceMs: deps.graceMs }),
    logger: deps.logger,
    observe: { oldestPendingSeconds: (seconds) => deps.metrics.outboxOldestAge.set(seconds) },
  });
}
