import {
  activeTraceParent,
  startOutboxRelay,
  type EventPublisher,
  type Logger,
  type OutboxRelay as PlatformRelay,
  type OutboxRelayOptions as OutboxRelayOptionsOf,
  type OutboxSource,
  type OutgoingEvent,
} from '@shop/platform';
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
    ...storedTrace(activeTraceParent()),
  };
}

// No field at all outside a trace (the driver would store an undefined one as null).
const storedTrace = (traceParent: string): { traceParent?: string } =>
  traceParent ? { traceParent } : {};

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
    traceParent: entry.traceParent,
  };
}

/** Orders whose published event count the relay remembers. */
const SENT_REMEMBERED = 10_000;

/** Publishes stored order events to Kafka. */
export interface OutboxRelay {
  /** Starts the background loop. */
  start(): void;
  /**
   * The fast path, called with the document a write just returned: publishes its unpublished
   * events at once (batched with other orders' waiting events) and marks them published. A
   * failure is logged and left to the loop.
   */
  publishSoon(doc: OrderDoc): void;
  stop(): Promise<void>;
}

/** Options for {@link createOutboxRelay}. */
export interface OutboxRelayOptions {
  store: OrderStore;
  topic: string;
  /** Creates a publisher; called again after a failure, so a broker outage heals itself. */
  connect: () => Promise<EventPublisher>;
  logger: Logger;
  /** Pause between the loop's scans for events the fast path left behind. */
  pollIntervalMs: number;
  /** Events younger than this are left to the fast path by the scan (default 1 s). */
  graceMs?: number;
  /** Orders per round. */
  batchSize?: number;
  /** Longest wait between attempts while Kafka fails. */
  maxBackoffMs?: number;
  /** Told of every event the broker acknowledged (stage metrics). */
  onPublished?: (events: readonly OutgoingEvent[]) => void;
}

/**
 * The order outbox on the platform's relay ({@link startOutboxRelay}): an order's stored events
 * are published in order, as one keyed batch (so per-order order holds), then the order's
 * published count advances. The fast path takes the documents writes return (a newer document
 * of an order replaces the waiting one); the scan runs every `pollIntervalMs` for orders whose
 * events waited longer than `graceMs` (a crash, a Kafka outage), backing off while Kafka fails.
 * Publishing happens before marking, so a crash in between republishes: consumers deduplicate
 * by event id.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { store } = options;
  /** How many events of each recently published order this process sent (newest last). */
  const sentUpTo = new Map<string, number>();
  const from = (doc: OrderDoc): number => Math.max(doc.outboxSent, sentUpTo.get(doc._id) ?? 0);

  const markPublished = async (doc: OrderDoc, sent: number): Promise<void> => {
    let current: OrderDoc | null = doc;
    for (let attempt = 0; attempt < 5 && current; attempt += 1) {
      if (current.outboxSent >= sent) return;
      const pendingSince = current.outbox[sent]?.occurredAt ?? null;
      if (await store.markPublished(current._id, current.version, sent, pendingSince)) return;
      current = await store.get(doc._id);
    }
  };

  const source: OutboxSource<OrderDoc> = {
    pending: (before, limit) => store.findUnpublished(before, limit),
    async markPublished(docs) {
      for (const doc of docs) {
        sentUpTo.delete(doc._id);
        sentUpTo.set(doc._id, doc.outbox.length);
      }
      // Bounded, oldest first: a document written before its order's count was stored may
      // still be on its way to the fast path, and must not send those events again.
      for (const id of sentUpTo.keys()) {
        if (sentUpTo.size <= SENT_REMEMBERED) break;
        sentUpTo.delete(id);
      }
      await Promise.all(docs.map((doc) => markPublished(doc, doc.outbox.length)));
    },
  };

  let relay: PlatformRelay<OrderDoc> | undefined;
  const relayOptions: OutboxRelayOptionsOf<OrderDoc> = {
    name: ORDER_AGGREGATE,
    source,
    publisher: options.connect,
    topic: options.topic,
    events: (doc) => doc.outbox.slice(from(doc)).map((e) => toOutgoing(doc, e)),
    // What a document publishes: its events up to its outbox length.
    key: (doc) => `${doc._id} ${doc.outbox.length}`,
    pendingSince: (doc) => doc.outboxPendingSince ?? doc.updatedAt,
    slot: (doc) => doc._id,
    newer: (a, b) => a.version > b.version,
    intervalMs: options.pollIntervalMs,
    // Orders have a pending index: the scan is a point range, so it runs every interval.
    backstopMs: options.pollIntervalMs,
    maxBackoffMs: options.maxBackoffMs ?? 5_000,
    logger: options.logger,
    ...(options.graceMs === undefined ? {} : { graceMs: options.graceMs }),
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    ...(options.onPublished
      ? { observe: { published: (_path, events) => options.onPublished?.(events) } }
      : {}),
  };

  return {
    start() {
      relay ??= startOutboxRelay(relayOptions);
    },
    publishSoon(doc) {
      if (!relay || from(doc) >= doc.outbox.length) return;
      relay.publishSoon([doc]);
    },
    async stop() {
      const running = relay;
      relay = undefined;
      await running?.stop();
    },
  };
}
