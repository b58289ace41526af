import type { EventPublisher, Logger, OutgoingEvent } from '@shop/platform';
import { order, orderEvents, type MessageType } from '@shop/proto';
import { randomUUID } from 'node:crypto';
import { toBinary, type OrderDoc, type OrderStore, type OutboxEntry } from './store';

// Kafka out: the events an order's changes produce, written to its outbox in the same write as
// the change, and the relay that publishes them.

/** Aggregate type of every order event. */
export const ORDER_AGGREGATE = 'order';

/** Builds an outbox entry for a payload, stamped with the order version it produces. */
export function outboxEntry<T>(
  type: MessageType<T>,
  payload: T,
  fields: { aggregateVersion: number; occurredAt: Date; causationId?: string },
): OutboxEntry {
  return {
    eventId: randomUUID(),
    eventType: type.$type,
    payload: toBinary(type.encode(payload).finish()),
    occurredAt: fields.occurredAt,
    aggregateVersion: fields.aggregateVersion,
    causationId: fields.causationId ?? '',
  };
}

/** The events an order's status change produces: always OrderStatusChanged, plus the specific one. */
export function transitionEvents(
  before: Pick<OrderDoc, '_id' | 'customerId' | 'customerEmail' | 'status' | 'lines' | 'total'>,
  after: {
    status: order.OrderStatus;
    reason: order.CancellationReason;
    note: string;
    version: number;
    at: Date;
    causationId?: string;
    paymentIntentId?: string;
    refunded?: boolean;
  },
): OutboxEntry[] {
  const stamp = {
    aggregateVersion: after.version,
    occurredAt: after.at,
    causationId: after.causationId ?? '',
  };
  const entries = [
    outboxEntry(
      orderEvents.OrderStatusChanged,
      orderEvents.OrderStatusChanged.fromPartial({
        orderId: before._id,
        customerId: before.customerId,
        fromStatus: before.status,
        toStatus: after.status,
        cancellationReason: after.reason,
        reason: after.note,
        orderVersion: after.version,
      }),
      stamp,
    ),
  ];
  if (after.status === order.OrderStatus.ORDER_STATUS_CONFIRMED) {
    entries.push(
      outboxEntry(
        orderEvents.OrderConfirmed,
        orderEvents.OrderConfirmed.fromPartial({
          orderId: before._id,
          customerId: before.customerId,
          total: before.total,
          paymentIntentId: after.paymentIntentId ?? '',
          customerEmail: before.customerEmail,
        }),
        stamp,
      ),
    );
  }
  if (after.status === order.OrderStatus.ORDER_STATUS_CANCELLED) {
    entries.push(
      outboxEntry(
        orderEvents.OrderCancelled,
        orderEvents.OrderCancelled.fromPartial({
          orderId: before._id,
          customerId: before.customerId,
          reason: after.reason,
          fromStatus: before.status,
          note: after.note,
          refunded: after.refunded ?? false,
          customerEmail: before.customerEmail,
          lines: before.lines,
          total: before.total,
        }),
        stamp,
      ),
    );
  }
  return entries;
}

/** Turns a stored outbox entry into the event the publisher sends. */
export function toOutgoing(doc: Pick<OrderDoc, '_id'>, entry: OutboxEntry): OutgoingEvent {
  return {
    eventId: entry.eventId,
    eventType: entry.eventType,
    payload: entry.payload.buffer,
    aggregateType: ORDER_AGGREGATE,
    aggregateId: doc._id,
    aggregateVersion: entry.aggregateVersion,
    occurredAt: entry.occurredAt,
    causationId: entry.causationId,
  };
}

/** Publishes stored order events to Kafka. */
export interface OutboxRelay {
  /** Starts the background loop. */
  start(): void;
  /** Asks the loop to look for new events now (called after every write). */
  nudge(): void;
  /** Publishes what is pending once; returns the number of events published. */
  drainOnce(): Promise<number>;
  stop(): Promise<void>;
}

/** Options for {@link createOutboxRelay}. */
export interface OutboxRelayOptions {
  store: OrderStore;
  topic: string;
  /** Creates a publisher; called again after a failure, so a broker outage heals itself. */
  connect: () => Promise<EventPublisher>;
  logger: Logger;
  pollIntervalMs: number;
  /** Orders per round. */
  batchSize?: number;
  /** Longest wait between attempts while Kafka fails. */
  maxBackoffMs?: number;
}

/**
 * The outbox relay: finds orders with unpublished events (oldest first), publishes those events
 * in order (one keyed batch, so per-order order holds), then advances each order's published
 * count. Publishing happens before marking, so a crash in between republishes: consumers
 * deduplicate by event id. When Kafka is down it keeps the events and retries with backoff.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { store, topic, logger } = options;
  const log = logger.child({ component: 'outbox-relay', topic });
  const batchSize = options.batchSize ?? 100;
  const maxBackoff = options.maxBackoffMs ?? 5_000;
  let publisher: EventPublisher | undefined;
  let running = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let nudged = false;

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  const markPublished = async (doc: OrderDoc, sent: number): Promise<void> => {
    let current: OrderDoc | null = doc;
    for (let attempt = 0; attempt < 5 && current; attempt += 1) {
      if (current.outboxSent >= sent) return;
      const pendingSince = current.outbox[sent]?.occurredAt ?? null;
      if (
        await store.markPublished(
          current._id,
          current.version,
          current.outboxSent,
          sent,
          pendingSince,
        )
      ) {
        return;
      }
      current = await store.get(doc._id);
    }
  };

  const drainOnce = async (): Promise<number> => {
    const docs = await store.findUnpublished(batchSize);
    const pending = docs.filter((d) => d.outboxSent < d.outbox.length);
    if (pending.length === 0) return 0;
    publisher ??= await options.connect();
    const events = pending.flatMap((d) =>
      d.outbox.slice(d.outboxSent).map((e) => toOutgoing(d, e)),
    );
    await publisher.publish(topic, events);
    for (const doc of pending) await markPublished(doc, doc.outbox.length);
    log.debug({ events: events.length, orders: pending.length }, 'published outbox events');
    return events.length;
  };

  const run = async (): Promise<void> => {
    let backoff = options.pollIntervalMs;
    while (running) {
      try {
        const published = await drainOnce();
        backoff = options.pollIntervalMs;
        if (published > 0 || nudged) {
          nudged = false;
          continue;
        }
        await sleep(options.pollIntervalMs);
      } catch (err) {
        log.warn({ err, retryInMs: backoff }, 'outbox relay could not publish; will retry');
        const broken = publisher;
        publisher = undefined;
        await broken?.disconnect().catch(() => undefined);
        await sleep(backoff);
        backoff = Math.min(backoff * 2, maxBackoff);
      }
    }
  };

  return {
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    nudge() {
      nudged = true;
      wake?.();
    },
    drainOnce,
    async stop() {
      running = false;
      wake?.();
      await loop;
      await publisher?.disconnect().catch(() => undefined);
      publisher = undefined;
    },
  };
}
