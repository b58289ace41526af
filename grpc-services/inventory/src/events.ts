import {
  PoisonMessageError,
  outgoingEvent,
  unpackPayload,
  type EventPublisher,
  type IncomingEvent,
  type Logger,
  type OutgoingEvent,
} from '@shop/platform';
import { inventoryEvents, order, orderEvents } from '@shop/proto';
import { Counter, Gauge, type Registry } from 'prom-client';
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
}

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
  /** Called after stock moved, so the outbox relay publishes promptly. */
  onStockMoved?: () => void;
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
 * event id (processed-events record) and, underneath, by deterministic movement ids.
 */
export function createOrderEventHandler(
  deps: OrderEventHandlerDeps,
): (event: IncomingEvent) => Promise<void> {
  const { store, reservations, publisher, topics, metrics } = deps;
  return async ({ envelope }) => {
    if (await store.isProcessed(envelope.eventId)) return;
    const log = deps.logger.child({ event_id: envelope.eventId, event_type: envelope.eventType });
    switch (envelope.eventType) {
      case orderEvents.OrderCreated.$type: {
        const created = unpackPayload(envelope, orderEvents.OrderCreated);
        const outcome = await reservations.reserve(
          created.orderId,
          linesOf(created),
          envelope.eventId,
        );
        deps.onStockMoved?.();
        if (outcome.kind === 'cancelled') {
          log.info({ order_id: created.orderId }, 'order already cancelled; nothing reserved');
          break;
        }
        if (!outcome.replayed) {
          metrics.reservations.inc({ outcome: outcome.kind });
          if (outcome.kind === 'rejected') metrics.reservationsRejected.inc();
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
        deps.onStockMoved?.();
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
        deps.onStockMoved?.();
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
    await store.markProcessed(envelope.eventId, envelope.eventType);
  };
}

const orderCancellationName = (reason: order.CancellationReason): string =>
  order.CancellationReason[reason] ?? String(reason);

/** A running outbox relay. */
export interface OutboxRelay {
  /** Asks for a pass soon (after a write). */
  kick(): void;
  /** Publishes everything pending now; resolves with how many events went out. */
  flush(): Promise<number>;
  stop(): Promise<void>;
}

/** Dependencies of {@link startOutboxRelay}. */
export interface OutboxRelayDeps {
  store: InventoryStore;
  publisher: EventPublisher;
  topic: string;
  intervalMs: number;
  logger: Logger;
  metrics: InventoryMetrics;
  batchSize?: number;
}

/**
 * Publishes the StockLevelChanged of every movement to `inventory-updates`, then marks it sent.
 * The movement is its own outbox entry, so nothing is lost while Kafka is down: the relay retries
 * and the events go out when it is back. Delivery is at least once (a crash between publish and
 * mark repeats a batch); the event id is the movement's, so consumers drop repeats, and each
 * event carries the stock version so consumers ignore older levels.
 */
export function startOutboxRelay(deps: OutboxRelayDeps): OutboxRelay {
  const batchSize = deps.batchSize ?? 200;
  let stopped = false;
  let wake: (() => void) | undefined;
  let running: Promise<number> | undefined;
  // A kick during a pass may come after that pass read the outbox: it asks for one more pass.
  let kicked = false;

  const passOnce = async (): Promise<number> => {
    const pending = await deps.store.pendingOutbox(batchSize);
    const oldest = pending[0];
    deps.metrics.outboxOldestAge.set(oldest ? (Date.now() - oldest.at.getTime()) / 1000 : 0);
    if (pending.length === 0) return 0;
    // Per product in version order: the topic is keyed by product id.
    const ordered = [...pending].sort((a, b) =>
      a.productId === b.productId ? a.seq - b.seq : a.productId < b.productId ? -1 : 1,
    );
    await deps.publisher.publish(deps.topic, ordered.map(stockLevelChangedEvent));
    await deps.store.markPublished(ordered.map((m) => m.id));
    return ordered.length;
  };

  /** One pass at a time, whoever asks. */
  const pass = (): Promise<number> => {
    running ??= passOnce().finally(() => {
      running = undefined;
    });
    return running;
  };

  const loop = async (): Promise<void> => {
    let delay = deps.intervalMs;
    while (!stopped) {
      kicked = false;
      try {
        const sent = await pass();
        delay = deps.intervalMs;
        if (sent === batchSize || kicked) continue;
      } catch (err) {
        deps.logger.warn({ err }, 'outbox relay pass failed; retrying');
        delay = Math.min(delay * 2, 10_000);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  };
  const looping = loop();

  return {
    kick: () => {
      kicked = true;
      wake?.();
    },
    async flush() {
      let total = 0;
      for (;;) {
        const sent = await pass();
        total += sent;
        if (sent < batchSize) return total;
      }
    },
    async stop() {
      stopped = true;
      wake?.();
      await looping;
    },
  };
}
