import type { EventPublisher, OutgoingEvent } from './kafka';
import type { Logger } from './logger';
import { activeTraceParent } from './trace-context';

/** Which path published: right after the write (`fast`) or the backstop scan (`relay`). */
export type RelayPath = 'fast' | 'relay';

/** Where a service keeps the events it still owes the broker (its outbox, however stored). */
export interface OutboxSource<Item> {
  /** Items written before `before` with events still unpublished, oldest first (the scan). */
  pending(before: Date, limit: number): Promise<readonly Item[]>;
  /** Records that the broker acknowledged the events of `items`. */
  markPublished(items: readonly Item[]): Promise<void>;
}

/** What the relay reports, for a service's own metrics. */
export interface OutboxRelayObserver {
  /** Events the broker acknowledged, by path. */
  published?(path: RelayPath, events: readonly OutgoingEvent[]): void;
  /** A failed send (or, for `fast`, a failed hand-over), by path. */
  failed?(path: RelayPath): void;
  /** Age of the oldest item the last scan found (0: none). */
  oldestPendingSeconds?(seconds: number): void;
}

/** Options of {@link startOutboxRelay}. */
export interface OutboxRelayOptions<Item> {
  /** Names the relay in logs (`order`, `stock`, `product`). */
  name: string;
  source: OutboxSource<Item>;
  /**
   * The publisher, or a factory of one: a factory is called lazily and again after a failed
   * send (the broken publisher is disconnected), so a broker outage heals itself; the relay then
   * owns the publisher and disconnects it on stop.
   */
  publisher: EventPublisher | (() => Promise<EventPublisher>);
  topic: string;
  /** The events an item stands for, in publish order (keyed per aggregate by the publisher). */
  events: (item: Item) => readonly OutgoingEvent[];
  /** Identity of what an item publishes: an item is never in two sends at once. */
  key: (item: Item) => string;
  /** When the item's oldest unpublished event was written. */
  pendingSince: (item: Item) => Date;
  /**
   * The fast path's queue slot of an item (default: its key): a newer item for a slot replaces
   * the one waiting there (e.g. an order's newer document carries all its events).
   */
  slot?: (item: Item) => string;
  /** Whether `a` supersedes `b` in one slot (default: always). */
  newer?: (a: Item, b: Item) => boolean;
  /** Order of the items within one send (default: as handed over or scanned). */
  sendOrder?: (a: Item, b: Item) => number;
  /** Pause between scans while something may have been left behind. */
  intervalMs: number;
  /** Items younger than this are left to the fast path by the scan (default 1 s). */
  graceMs?: number;
  /**
   * Longest pause between scans while this process's fast path left nothing behind (default
   * 10 × `intervalMs`): on a store without the pending index (the local one) a scan reads every
   * document, so it runs every `intervalMs` only after a start or a failure.
   */
  backstopMs?: number;
  /** Longest pause between failing scans; the pause doubles from `intervalMs` (default 10 s). */
  maxBackoffMs?: number;
  /** Items per send and per scan (default 100). */
  batchSize?: number;
  /** Most items the fast path holds while a send is in flight; the rest wait for the scan. */
  maxQueued?: number;
  /** Longest `stop()` waits for sends in flight; their items stay pending (default 5 s). */
  stopTimeoutMs?: number;
  logger: Logger;
  observe?: OutboxRelayObserver;
}

/** A running outbox relay. */
export interface OutboxRelay<Item> {
  /**
   * The fast path, called with what a write just stored: publishes it in the background, in one
   * send with whatever else is waiting, then marks it published. Each event keeps the trace that
   * was active here. A failure is logged and left to the scan.
   */
  publishSoon(items: Iterable<Item>): void;
  /** Tells the relay the fast path could not take something (e.g. reading it failed). */
  missed(err: unknown): void;
  /** Publishes everything pending now, of any age; resolves with how many items were found. */
  flush(): Promise<number>;
  /** Stops the scan, waits (bounded) for sends in flight and releases an owned publisher. */
  stop(): Promise<void>;
}

interface Queued<Item> {
  item: Item;
  traceParent: string;
}

/**
 * Publishes what services store next to their writes (an outbox, a marker, a movement), so a
 * change and the duty to announce it cannot be separated by a crash or a Kafka outage. Two paths:
 * - the fast path: each write hands its items to {@link OutboxRelay.publishSoon}; one drainer
 *   sends whatever is waiting in one send (items written while a send is in flight go together
 *   in the next one), without reading the outbox back;
 * - the scan: after a start and after the fast path left something behind it looks every
 *   `intervalMs` for items older than `graceMs` still pending, otherwise every `backstopMs` (a
 *   peer that stopped for good), backing off while publishing fails.
 * Items are marked only after the broker acknowledged their events, so delivery is at least once
 * (a crash in between repeats an event with the same id, which consumers drop).
 */
export function startOutboxRelay<Item>(options: OutboxRelayOptions<Item>): OutboxRelay<Item> {
  const { source, topic, observe } = options;
  const log = options.logger.child({ component: 'outbox-relay', relay: options.name, topic });
  const graceMs = options.graceMs ?? 1_000;
  const backstopMs = options.backstopMs ?? 10 * options.intervalMs;
  const maxBackoffMs = options.maxBackoffMs ?? 10_000;
  const batchSize = options.batchSize ?? 100;
  const maxQueued = options.maxQueued ?? 10_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 5_000;
  const slotOf = options.slot ?? options.key;
  const owned = typeof options.publisher === 'function' ? options.publisher : undefined;

  let publisher = owned ? undefined : (options.publisher as EventPublisher);
  let connecting: Promise<EventPublisher> | undefined;
  const connected = async (): Promise<EventPublisher> => {
    if (publisher) return publisher;
    connecting ??= owned!().finally(() => {
      connecting = undefined;
    });
    publisher = await connecting;
    return publisher;
  };
  const dropPublisher = async (): Promise<void> => {
    if (!owned) return;
    const broken = publisher;
    publisher = undefined;
    await broken?.disconnect().catch(() => undefined);
  };

  /** Keys of the items being sent right now, by either path. */
  const inFlight = new Set<string>();
  let stopped = false;
  /** When the fast path last left something behind; the start counts as one (a crash before). */
  let dirtyAt: number | undefined = Date.now();
  let lastScan = 0;
  const leftBehind = (): void => {
    dirtyAt = Date.now();
  };

  /**
   * Marks published items (their events were acknowledged), then releases their keys. A failure
   * only risks a repeat: the scan publishes them once more.
   */
  const mark = async (items: readonly Item[], keys: readonly string[]): Promise<void> => {
    try {
      await source.markPublished(items);
    } catch (err) {
      leftBehind();
      log.warn({ err }, 'could not mark published events; they will repeat');
    } finally {
      for (const k of keys) inFlight.delete(k);
    }
  };
  /** Marks the fast path started and has not finished (flush and stop wait for them). */
  const marking = new Set<Promise<void>>();

  /**
   * Sends the events of the items not in flight, then marks them; returns how many items. The
   * fast path (`awaitMark` false) leaves the marking running: the next send does not wait for a
   * store write that only keeps the scan from repeating these events.
   */
  const publishItems = async (
    batch: readonly Queued<Item>[],
    path: RelayPath,
    awaitMark = true,
  ): Promise<number> => {
    const work = batch.filter((q) => !inFlight.has(options.key(q.item)));
    if (work.length === 0) return 0;
    const { sendOrder } = options;
    if (sendOrder) work.sort((a, b) => sendOrder(a.item, b.item));
    const keys = work.map((q) => options.key(q.item));
    for (const k of keys) inFlight.add(k);
    let marked: Promise<void> | undefined;
    try {
      const events = work.flatMap((q) =>
        options
          .events(q.item)
          .map((e) => (e.traceParent || !q.traceParent ? e : { ...e, traceParent: q.traceParent })),
      );
      if (events.length > 0) {
        const target = await connected();
        try {
          await target.publish(topic, events);
        } catch (err) {
          await dropPublisher();
          throw err;
        }
        observe?.published?.(path, events);
      }
      marked = mark(
        work.map((q) => q.item),
        keys,
      );
    } finally {
      // Not sent: release the keys now (the marking releases them otherwise).
      if (marked === undefined) for (const k of keys) inFlight.delete(k);
    }
    if (awaitMark) await marked;
    else {
      marking.add(marked);
      void marked.finally(() => marking.delete(marked));
    }
    return work.length;
  };

  // The fast path: one drainer over a queue of slots.
  const queued = new Map<string, Queued<Item>>();
  let draining: Promise<void> | undefined;
  const drain = async (): Promise<void> => {
    while (queued.size > 0) {
      const batch: Queued<Item>[] = [];
      for (const [slot, q] of queued) {
        if (batch.length >= batchSize) break;
        queued.delete(slot);
        batch.push(q);
      }
      try {
        await publishItems(batch, 'fast', false);
      } catch (err) {
        leftBehind();
        observe?.failed?.('fast');
        log.warn({ err, count: batch.length }, 'publishing events failed; the scan will retry');
      }
    }
  };

  // The scan.
  const scan = async (before: Date): Promise<number> => {
    const pending = await source.pending(before, batchSize);
    const oldest = pending[0];
    observe?.oldestPendingSeconds?.(
      oldest ? Math.max(0, Date.now() - options.pendingSince(oldest).getTime()) / 1000 : 0,
    );
    const sent = await publishItems(
      pending.map((item) => ({ item, traceParent: '' })),
      'relay',
    );
    if (sent > 0) log.info({ count: sent }, 'relayed events a write left pending');
    return pending.length;
  };
  let wake: (() => void) | undefined;
  const loop = async (): Promise<void> => {
    let delay = options.intervalMs;
    let failures = 0;
    while (!stopped) {
      try {
        const now = Date.now();
        const cutoff = now - graceMs;
        if (dirtyAt !== undefined || now - lastScan >= backstopMs) {
          const found = await scan(new Date(cutoff));
          lastScan = now;
          if (failures > 0) log.info({ failures }, 'relay publishing again');
          failures = 0;
          delay = options.intervalMs;
          if (found === batchSize) continue;
          if (dirtyAt !== undefined && dirtyAt <= cutoff) dirtyAt = undefined;
        }
      } catch (err) {
        failures += 1;
        observe?.failed?.('relay');
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
    publishSoon(items) {
      if (stopped) return;
      const traceParent = activeTraceParent();
      let added = false;
      for (const item of items) {
        const slot = slotOf(item);
        const waiting = queued.get(slot);
        if (waiting) {
          if (!options.newer || options.newer(item, waiting.item)) {
            queued.set(slot, { item, traceParent });
          }
        } else if (queued.size < maxQueued) {
          queued.set(slot, { item, traceParent });
        } else {
          // While Kafka is slow or down the queue is capped; the rest stays pending in the store.
          leftBehind();
          continue;
        }
        added = true;
      }
      if (!added) return;
      draining ??= drain().finally(() => {
        draining = undefined;
      });
    },
    missed(err) {
      leftBehind();
      observe?.failed?.('fast');
      log.warn({ err }, 'the fast path missed events; the scan will publish them');
    },
    async flush() {
      await draining;
      await Promise.all(marking);
      let total = 0;
      for (;;) {
        const found = await scan(new Date());
        total += found;
        if (found < batchSize) return total;
      }
    },
    async stop() {
      stopped = true;
      wake?.();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        Promise.all([looping, draining]).then(async () => {
          await Promise.all(marking);
          return false;
        }),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), stopTimeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) log.warn('stopped with sends in flight; their events stay for the next start');
      await connecting?.catch(() => undefined);
      if (owned) {
        const last = publisher;
        publisher = undefined;
        await last?.disconnect().catch(() => undefined);
      }
    },
  };
}
