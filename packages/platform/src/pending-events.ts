import { randomUUID } from 'node:crypto';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { EventPublisher, OutgoingEvent } from './kafka';
import type { Logger } from './logger';

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

/** Options of {@link startPendingEventRelay}. */
export interface PendingEventRelayOptions<Doc extends MarkedDocument> {
  /** The envelope's aggregate type (`product`, `category`): labels logs and metrics. */
  aggregateType: string;
  source: PendingEventSource<Doc>;
  publisher: EventPublisher;
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

/**
 * Publishes the change events that pending-event markers stand for: at once after each write
 * (`publishSoon`), and from a relay loop that republishes the markers a crash or a Kafka outage
 * left behind, backing off while publishing fails. The loop passes every `intervalMs` after a
 * start or a failure of the fast path, otherwise every `backstopMs` (another replica's crash). A marker is cleared only
 * after the broker acknowledged its event, and only if no newer write replaced it, so every
 * change is announced at least once; a crash between the two repeats an event (same event id).
 * Within one process a marker is never published twice at the same time.
 */
export function startPendingEventRelay<Doc extends MarkedDocument>(
  options: PendingEventRelayOptions<Doc>,
): PendingEventRelay {
  const { source, publisher, topic, aggregateType } = options;
  const log = options.logger.child({ component: 'pending-events', aggregate_type: aggregateType });
  const graceMs = options.graceMs ?? 1_000;
  const maxBackoffMs = options.maxBackoffMs ?? 10_000;
  const batchSize = options.batchSize ?? 100;
  const stopTimeoutMs = options.stopTimeoutMs ?? 5_000;
  const metrics = options.registry ? relayMetrics(options.registry) : undefined;
  const labels = (path: 'fast' | 'relay') => ({ aggregate: aggregateType, path });

  /** `<id> <marker id>` of the markers being published right now. */
  const inFlight = new Set<string>();
  const tasks = new Set<Promise<void>>();
  let stopped = false;
  const backstopMs = options.backstopMs ?? 10 * options.intervalMs;
  /** When the fast path last left a marker behind; the start counts as one (a crash before). */
  let dirtyAt: number | undefined = Date.now();
  let lastPass = 0;
  const leftBehind = (): void => {
    dirtyAt = Date.now();
  };

  /** Publishes the markers of `docs` not already in flight, then clears them; returns how many. */
  const publishMarked = async (docs: readonly Doc[], path: 'fast' | 'relay'): Promise<number> => {
    const batch = docs.flatMap((doc) => {
      const marker = doc.pendingEvent;
      if (!marker) return [];
      const key = `${doc._id} ${marker.id}`;
      return inFlight.has(key) ? [] : [{ doc, marker, key }];
    });
    if (batch.length === 0) return 0;
    for (const b of batch) inFlight.add(b.key);
    try {
      await publisher.publish(
        topic,
        batch.map((b) => options.toEvent(b.doc, b.marker)),
      );
      metrics?.published.inc(labels(path), batch.length);
      try {
        for (const b of batch) await source.clearPending(b.doc._id, b.marker.id);
      } catch (err) {
        // Published, so only a repeat is at stake: the relay publishes the marker once more.
        leftBehind();
        log.warn({ err }, 'could not clear published markers; their events will repeat');
      }
      return batch.length;
    } finally {
      for (const b of batch) inFlight.delete(b.key);
    }
  };

  // The relay loop.
  let wake: (() => void) | undefined;
  const pass = async (): Promise<number> => {
    const now = Date.now();
    const docs = await source.pendingBefore(new Date(now - graceMs), batchSize);
    const oldest = docs[0]?.pendingEvent?.at;
    metrics?.oldest.set({ aggregate: aggregateType }, oldest ? (now - oldest.getTime()) / 1000 : 0);
    const sent = await publishMarked(docs, 'relay');
    if (sent > 0) log.info({ count: sent }, 'relayed change events a write left pending');
    return sent;
  };
  const loop = async (): Promise<void> => {
    let delay = options.intervalMs;
    let failures = 0;
    while (!stopped) {
      try {
        const now = Date.now();
        if (dirtyAt !== undefined || now - lastPass >= backstopMs) {
          const sent = await pass();
          lastPass = now;
          if (failures > 0) log.info({ failures }, 'relay publishing again');
          failures = 0;
          delay = options.intervalMs;
          if (sent === batchSize) continue;
          if (dirtyAt !== undefined && dirtyAt <= now - graceMs) dirtyAt = undefined;
        }
      } catch (err) {
        failures += 1;
        metrics?.failures.inc(labels('relay'));
        delay = Math.min(Math.max(delay, 1) * 2, maxBackoffMs);
        log.warn({ err, failures, retry_in_ms: delay }, 'relay pass failed; backing off');
      }
      if (stopped) break;
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
    publishSoon(ids) {
      const list = [...new Set(ids)];
      if (list.length === 0 || stopped) return;
      const task: Promise<void> = (async () => {
        try {
          await publishMarked(await source.byIds(list), 'fast');
        } catch (err) {
          leftBehind();
          metrics?.failures.inc(labels('fast'));
          log.warn({ err, ids: list }, 'publishing a change failed; the relay will retry');
        }
      })().finally(() => tasks.delete(task));
      tasks.add(task);
    },
    async stop() {
      stopped = true;
      wake?.();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        Promise.all([looping, ...tasks]).then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), stopTimeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        log.warn('stopped with publications in flight; their markers stay for the next start');
      }
    },
  };
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
