/**
 * The entity cache's storage: serialised values by key, least recently used first out under a
 * byte budget, each entry filed under the tags whose change makes it stale.
 *
 * Staleness is handled with epochs rather than timestamps. A fill takes a ticket ({@link
 * TaggedStore.ticket}) before it asks the subgraph; an invalidation bumps the epoch of its tags;
 * the fill is stored only if none of its tags was invalidated since its ticket. So an answer read
 * before a change but returned after the change's event was applied is never stored.
 */

import { LRUCache } from 'lru-cache';

/** What one entry costs besides its key and value: the LRU node, the tag sets, the object. */
const ENTRY_OVERHEAD_BYTES = 400;
/** Invalidated tags remembered one by one; past this the store forgets them all at once. */
const MAX_REMEMBERED_TAGS = 200_000;

interface Entry<V> {
  readonly value: V;
  readonly tags: readonly string[];
}

/** Counters the store reports to its owner (metrics). */
export interface StoreEvents {
  evicted?(count: number): void;
}

/** How many bytes a value holds (strings of our JSON are one byte per character in V8). */
export type SizeOf<V> = (value: V) => number;

const stringSize: SizeOf<string> = (value) => value.length;

/** A byte-bounded LRU of values (lru-cache), invalidated by tag; by default serialised JSON. */
export class TaggedStore<V = string> {
  private readonly entries: LRUCache<string, Entry<V>>;
  private readonly keysByTag = new Map<string, Set<string>>();
  private readonly tagEpochs = new Map<string, number>();
  /** Fills whose ticket is older than this are refused (after a clear or a forgotten tag). */
  private floor = 0;
  private epoch = 0;

  constructor(
    maxBytes: number,
    events: StoreEvents = {},
    sizeOf: SizeOf<V> = stringSize as unknown as SizeOf<V>,
  ) {
    this.entries = new LRUCache<string, Entry<V>>({
      maxSize: maxBytes,
      // Tags are kept twice (entry, index).
      sizeCalculation: (entry, key) =>
        key.length * 2 +
        sizeOf(entry.value) +
        ENTRY_OVERHEAD_BYTES +
        entry.tags.reduce((sum, tag) => sum + tag.length + 48, 0),
      dispose: (entry, key, reason) => {
        for (const tag of entry.tags) {
          const keys = this.keysByTag.get(tag);
          if (keys === undefined) continue;
          keys.delete(key);
          if (keys.size === 0) this.keysByTag.delete(tag);
        }
        if (reason === 'evict') events.evicted?.(1);
      },
    });
  }

  /** Bytes held, by the store's own accounting (keys, values and a fixed overhead per entry). */
  get bytes(): number {
    return this.entries.calculatedSize;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Taken before reading from the source; hand it back to {@link set}. */
  ticket(): number {
    return this.epoch;
  }

  /** The value under `key`, marking it most recently used. */
  get(key: string): V | undefined {
    return this.entries.get(key)?.value;
  }

  /**
   * Stores `value` unless one of its tags was invalidated since `ticket` was taken (then the value
   * may predate the change). Returns whether it was stored.
   */
  set(key: string, value: V, tags: readonly string[], ticket: number): boolean {
    if (!this.accepts(tags, ticket)) return false;
    this.entries.set(key, { value, tags });
    if (!this.entries.has(key)) return false; // larger than the whole budget
    for (const tag of tags) {
      let keys = this.keysByTag.get(tag);
      if (keys === undefined) {
        keys = new Set();
        this.keysByTag.set(tag, keys);
      }
      keys.add(key);
    }
    return true;
  }

  /**
   * Whether a fill under `tags` with `ticket` would be stored: none of its tags was invalidated
   * since the ticket. Lets a caller skip preparing a value that would be refused.
   */
  accepts(tags: readonly string[], ticket: number): boolean {
    if (ticket < this.floor) return false;
    for (const tag of tags) if ((this.tagEpochs.get(tag) ?? -1) > ticket) return false;
    return true;
  }

  /** Drops every entry filed under any of `tags`; fills in flight for them will not be stored. */
  invalidate(tags: readonly string[]): number {
    this.epoch += 1;
    let dropped = 0;
    for (const tag of tags) {
      this.tagEpochs.set(tag, this.epoch);
      const keys = this.keysByTag.get(tag);
      if (keys === undefined) continue;
      for (const key of [...keys]) if (this.entries.delete(key)) dropped += 1;
    }
    if (this.tagEpochs.size > MAX_REMEMBERED_TAGS) {
      // Forget per-tag epochs; refusing every fill older than now is the safe equivalent.
      this.tagEpochs.clear();
      this.floor = this.epoch;
    }
    return dropped;
  }

  /** Empties the store and refuses every fill that started before now. */
  clear(): void {
    this.epoch += 1;
    this.floor = this.epoch;
    this.entries.clear();
    this.keysByTag.clear();
    this.tagEpochs.clear();
  }
}
