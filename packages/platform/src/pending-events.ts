import { randomUUID } from 'node:crypto';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Kafka } from 'kafkajs';
import { createEventPublisher, type EventPublisher, type OutgoingEvent } from './kafka';
import type { Logger } from './logger';
import { startOutboxRelay, type OutboxRelayObserver } from './outbox-relay';

/**
 * "This entity changed; announce its latest state": a note a store keeps on the entity's own
 * document, written in the same single-document update as the change (so the change and the
 * duty to announce it cannot be separated by a crash or a Kafka outage). A newer write replaces
 * the marker, so one event announces every change since the last one (coalescing).
 */
export interface PendingEventMarker {
  /** New for every write; the id of the event that announces it. */
  readonly id: string;
  /** The domain's name for the latest change, e.g. `UPDATED`. */
  readonly kind: string;
  /** When the latest change was written. */
  readonly at: Date;
}

/** A new marker for one write; store it as `pendingEvent` in the write itself. */
export function pendingEventMarker(kind: string, at: Date = new Date()): PendingEventMarker {
  return { id: randomUUID(), kind, at };
}

/** A document that may carry a marker (field `pendingEvent`). */
export interface MarkedDocument {
  readonly _id: string;
  readonly pendingEvent?: PendingEventMarker | undefined;
}

/** Where marked documents live; implemented by a service's store. */
export interface PendingEventSource<Doc extends MarkedDocument> {
  /** The documents with these ids, current state (`_id` lookups; missing ones left out). */
  byIds(ids: readonly string[]): Promise<Doc[]>;
  /** Documents whose marker was written before `before`, oldest first (the relay's scan). */
  pendingBefore(before: Date, limit: number): Promise<Doc[]>;
  /** Removes the marker of `id` only if it is still `markerId` (a newer write keeps its own). */
  clearPending(id: string, markerId: string): Promise<void>;
}

/**
 * Producer retries for a publisher whose events are backed by markers: while Kafka is down a
 * send fails within seconds (kafkajs still retries connections underneath) and the relay retries,
 * instead of holding it open for over a minute on the client's default budget.
 */
export const MARKER_PUBLISHER_RETRY = { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000 };

/**
 * A factory of publishers backed by stored events (fast retries, {@link MARKER_PUBLISHER_RETRY}),
 * for a relay to own: it connects on first use and again after a failed send.
 */
export const markerPublisher =
  (kafka: Kafka, producerName: string): (() => Promise<EventPublisher>) =>
  () =>
    createEventPublisher(kafka, { producerName, retry: MARKER_PUBLISHER_RETRY });

/** Options of {@link startPendingEventRelay}. */
export interface PendingEventRelayOptions<Doc extends MarkedDocument> {
  /** The envelope's aggregate type (`product`, `category`): labels logs and metrics. */
  aggregateType: string;
  source: PendingEventSource<Doc>;
  /** The publisher, or a factory the relay calls (again after a failure) and owns. */
  publisher: EventPublisher | (() => Promise<EventPublisher>);
  topic: string;
  /** The event a document's marker announces, built from the document's current state. */
  toEvent(doc: Doc, marker: PendingEventMarker): OutgoingEvent;
  /** Pause between relay passes while all is well. */
  intervalMs: number;
  /** Markers younger than this are left to the fast path (default 1 s). */
  graceMs?: number;
  /**
   * Longest pause between relay passes while this process's fast path left nothing behind
   * (default 10 × `intervalMs`): a pass reads every document on a store without the marker
   * index (the local one), so it runs every `intervalMs` only after a failure or a start.
   */
  backstopMs?: number;
  /** Longest pause between failing passes; the pause doubles from `intervalMs` (default 10 s). */
  maxBackoffMs?: number;
  /** Documents per relay pass (default 100). */
  batchSize?: number;
  /** Longest `stop()` waits for publications in flight; their markers stay (default 5 s). */
  stopTimeoutMs?: number;
  logger: Logger;
  registry?: Registry;
}

/** A running publisher and relay of pending-event markers. */
export interface PendingEventRelay {
  /**
   * The fast path, called after a write: publishes what these documents have pending and clears
   * their markers, in the background. A failure is logged and left to the relay loop.
   */
  publishSoon(ids: Iterable<string>): void;
  /** Stops the relay loop and waits (bounded) for publications in flight. */
  stop(): Promise<void>;
}

interface RelayMetrics {
  published: Counter<'aggregate' | 'path'>;
  failures: Counter<'aggregate' | 'path'>;
  oldest: Gauge<'aggregate'>;
}

const metricsByRegistry = new WeakMap<Registry, RelayMetrics>();

function relayMetrics(registry: Registry): RelayMetrics {
  let m = metricsByRegistry.get(registry);
  if (!m) {
    m = {
      published: new Counter({
        name: 'pending_events_published_total',
        help: 'Change events published from pending-event markers, by path (fast, relay).',
        labelNames: ['aggregate', 'path'],
        registers: [registry],
      }),
      failures: new Counter({
        name: 'pending_events_publish_failures_total',
        help: 'Failed publications of pending-event markers, by path (fast, relay).',
        labelNames: ['aggregate', 'path'],
        registers: [registry],
      }),
      oldest: new Gauge({
        name: 'pending_events_oldest_seconds',
        help: 'Age of the oldest marker past the grace period at the last relay pass (0: none).',
        labelNames: ['aggregate'],
        registers: [registry],
      }),
    };
    metricsByRegistry.set(registry, m);
  }
  return m;
}

/** The relay's observer feeding the `pending_events_*` metrics of one aggregate type. */
function observerOf(registry: Registry | undefined, aggregate: string): OutboxRelayObserver {
  if (!registry) return {};
  const m = relayMetrics(registry);
  return {
    published: (path, events) => m.published.inc({ aggregate, path }, events.length),
    failed: (path) => m.failures.inc({ aggregate, path }),
    oldestPendingSeconds: (seconds) => m.oldest.set({ aggregate }, seconds),
  };
}

/**
 * Publishes the change events that pending-event markers stand for, on the platform's outbox
 * relay ({@link startOutboxRelay}): at once after each write (`publishSoon` reads the documents'
 * current state), and from the relay's scan, which republishes the markers a crash or a Kafka
 * outage left behind. A marker is cleared only after the broker acknowledged its event, and only
 * if no newer write replaced it, so every change is announced at least once; a crash between the
 * two repeats an event (same event id). Within one process a marker is never published twice at
 * the same time.
 */
export function startPendingEventRelay<Doc extends MarkedDocument>(
  options: PendingEventRelayOptions<Doc>,
): PendingEventRelay {
  const { source, aggregateType } = options;
  const relay = startOutboxRelay<Doc>({
    name: aggregateType,
    source: {
      pending: (before, limit) => source.pendingBefore(before, limit),
      async markPublished(docs) {
        for (const doc of docs) {
          if (doc.pendingEvent) await source.clearPending(doc._id, doc.pendingEvent.id);
        }
      },
    },
    publisher: options.publisher,
    topic: options.topic,
    events: (doc) => (doc.pendingEvent ? [options.toEvent(doc, doc.pendingEvent)] : []),
    key: (doc) => `${doc._id} ${doc.pendingEvent?.id ?? '-'}`,
    pendingSince: (doc) => doc.pendingEvent?.at ?? new Date(),
    intervalMs: options.intervalMs,
    logger: options.logger,
    observe: observerOf(options.registry, aggregateType),
    ...pick(options, ['graceMs', 'backstopMs', 'maxBackoffMs', 'batchSize', 'stopTimeoutMs']),
  });
  const reads = new Set<Promise<void>>();
  let stopped = false;

  return {
    publishSoon(ids) {
      const list = [...new Set(ids)];
      if (list.length === 0 || stopped) return;
      const read: Promise<void> = source
        .byIds(list)
        .then(
          (docs) => relay.publishSoon(docs.filter((d) => d.pendingEvent)),
          (err: unknown) => relay.missed(err),
        )
        .finally(() => reads.delete(read));
      reads.add(read);
    },
    async stop() {
      stopped = true;
      await Promise.all(reads);
      await relay.stop();
    },
  };
}

/** The options of `keys` that are set. */
function pick<T extends object, K extends keyof T>(
  from: T,
  keys: readonly K[],
): Partial<Pick<T, K>> {
  const picked: Partial<Pick<T, K>> = {};
  for (const k of keys) if (from[k] !== undefined) picked[k] = from[k];
  return picked;
}

/**
 * Wraps a publisher so that publications to one topic made while a send is in flight go out
 * together in the next send (group commit): under load many callers share one produce request
 * (still acks=all, idempotent, in order per key), and an idle caller waits for no timer. Each
 * caller's promise settles with its own envelopes once its send was acknowledged, or with the
 * send's error.
 */
export function coalescingPublisher(inner: EventPublisher, maxBatch = 500): EventPublisher {
  interface Waiting {
    events: readonly OutgoingEvent[];
    resolve: (envelopes: Awaited<ReturnType<EventPublisher['publish']>>) => void;
    reject: (err: unknown) => void;
  }
  const queues = new Map<string, Waiting[]>();

  const run = async (topic: string): Promise<void> => {
    for (;;) {
      const queue = queues.get(topic);
      if (!queue || queue.length === 0) {
        queues.delete(topic);
        return;
      }
      const batch: Waiting[] = [];
      let size = 0;
      while (
        queue.length > 0 &&
        (batch.length === 0 || size + queue[0].events.length <= maxBatch)
      ) {
        const next = queue.shift()!;
        batch.push(next);
        size += next.events.length;
      }
      try {
        const envelopes = await inner.publish(
          topic,
          batch.flatMap((w) => w.events),
        );
        let at = 0;
        for (const w of batch) {
          w.resolve(envelopes.slice(at, at + w.events.length));
          at += w.events.length;
        }
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
  };

  return {
    publish(topic, events) {
      if (events.length === 0) return Promise.resolve([]);
      return new Promise((resolve, reject) => {
        const queue = queues.get(topic);
        if (queue) {
          queue.push({ events, resolve, reject });
          return;
        }
        queues.set(topic, [{ events, resolve, reject }]);
        void run(topic);
      });
    },
    disconnect: () => inner.disconnect(),
  };
}
