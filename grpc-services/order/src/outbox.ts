import {
  activeTraceParent,
  type EventPublisher,
  type Logger,
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
  /** Publishes what is pending once, of any age; returns the number of events published. */
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
 * The outbox relay. Two paths publish an order's stored events, in order, as one keyed batch
 * (so per-order order holds), then advance the order's published count:
 * - the fast path: every write hands its document to {@link OutboxRelay.publishSoon}; one
 *   drainer publishes whatever documents are waiting in one send, without reading the outbox
 *   back (documents written while a send is in flight go together in the next one);
 * - the loop: every `pollIntervalMs` it scans for orders whose events have waited longer than
 *   `graceMs` (a crash, a Kafka outage) and publishes them, backing off while Kafka fails.
 * Publishing happens before marking, so a crash in between republishes: consumers deduplicate
 * by event id. When Kafka is down the events stay in the orders and the loop retries.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { store, topic, logger } = options;
  const log = logger.child({ component: 'outbox-relay', topic });
  const batchSize = options.batchSize ?? 100;
  const graceMs = options.graceMs ?? 1_000;
  const maxBackoff = options.maxBackoffMs ?? 5_000;
  let publisher: EventPublisher | undefined;
  let running = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  /** Newest document per order handed to the fast path, not yet taken into a send. */
  const queued = new Map<string, OrderDoc>();
  let draining: Promise<void> | undefined;
  /** How many events of each recently published order this process sent (newest last). */
  const sentUpTo = new Map<string, number>();
  /** Orders being published right now, by either path. */
  const inFlight = new Set<string>();
  let connecting: Promise<EventPublisher> | undefined;
  const connect = (): Promise<EventPublisher> => {
    connecting ??= options.connect().finally(() => {
      connecting = undefined;
    });
    return connecting;
  };

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
      if (await store.markPublished(current._id, current.version, sent, pendingSince)) return;
      current = await store.get(doc._id);
    }
  };

  /** Publishes the unpublished events of `docs` in one send, then marks them; returns how many. */
  const publishDocs = async (docs: readonly OrderDoc[], path: 'fast' | 'loop'): Promise<number> => {
    const work = docs
      // The fast path's own sends never overlap (one drainer); the loop leaves its orders alone.
      .filter((doc) => path === 'fast' || !inFlight.has(doc._id))
      .map((doc) => ({ doc, from: Math.max(doc.outboxSent, sentUpTo.get(doc._id) ?? 0) }))
      .filter((w) => w.from < w.doc.outbox.length);
    if (work.length === 0) return 0;
    for (const w of work) inFlight.add(w.doc._id);
    try {
      publisher ??= await connect();
      const events = work.flatMap((w) =>
        w.doc.outbox.slice(w.from).map((e) => toOutgoing(w.doc, e)),
      );
      try {
        await publisher.publish(topic, events);
      } catch (err) {
        const broken = publisher;
        publisher = undefined;
        await broken?.disconnect().catch(() => undefined);
        throw err;
      }
      for (const w of work) {
        sentUpTo.delete(w.doc._id);
        sentUpTo.set(w.doc._id, w.doc.outbox.length);
      }
      // Bounded, oldest first: a document written before its order's count was stored may
      // still be on its way to the fast path, and must not send those events again.
      for (const id of sentUpTo.keys()) {
        if (sentUpTo.size <= SENT_REMEMBERED) break;
        sentUpTo.delete(id);
      }
      options.onPublished?.(events);
      await Promise.all(work.map((w) => markPublished(w.doc, w.doc.outbox.length)));
      log.debug({ events: events.length, orders: work.length }, 'published outbox events');
      return events.length;
    } finally {
      for (const w of work) inFlight.delete(w.doc._id);
    }
  };

  const drain = async (): Promise<void> => {
    while (queued.size > 0) {
      const docs = [...queued.values()].slice(0, batchSize);
      for (const d of docs) queued.delete(d._id);
      try {
        await publishDocs(docs, 'fast');
      } catch (err) {
        log.warn({ err, orders: docs.length }, 'publishing order events failed; the loop retries');
      }
    }
  };

  const drainOnce = async (before = new Date()): Promise<number> => {
    const docs = await store.findUnpublished(before, batchSize);
    return publishDocs(
      docs.filter((d) => d.outboxSent < d.outbox.length),
      'loop',
    );
  };

  const run = async (): Promise<void> => {
    let backoff = options.pollIntervalMs;
    while (running) {
      try {
        const published = await drainOnce(new Date(Date.now() - graceMs));
        backoff = options.pollIntervalMs;
        if (published > 0) continue;
        await sleep(options.pollIntervalMs);
      } catch (err) {
        log.warn({ err, retryInMs: backoff }, 'outbox relay could not publish; will retry');
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
    publishSoon(doc) {
      if (!running || doc.outboxSent >= doc.outbox.length) return;
      const waiting = queued.get(doc._id);
      if (!waiting || waiting.version < doc.version) queued.set(doc._id, doc);
      draining ??= drain().finally(() => {
        draining = undefined;
      });
    },
    drainOnce: () => drainOnce(),
    async stop() {
      running = false;
      wake?.();
      await Promise.all([loop, draining]);
      await publisher?.disconnect().catch(() => undefined);
      publisher = undefined;
    },
  };
}
