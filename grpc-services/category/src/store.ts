import type { AnyBulkWriteOperation, Collection, Db, Filter } from 'mongodb';
import {
  pendingEventMarker,
  type IndexDeclarations,
  type PendingEventMarker,
  type PendingEventSource,
} from '@shop/platform';

/**
 * One category as stored. The tree is a materialized path: `ancestorIds` (root first, parent
 * last) answers "ancestors" with one `$in` query and "subtree" with one query on the multikey
 * index (`{ ancestorIds: id }`); `path` is the slug path shown to clients.
 */
export interface CategoryDoc {
  _id: string;
  name: string;
  slug: string;
  /** Null for a root (so the `(parentId, slug)` unique index also covers root slugs). */
  parentId: string | null;
  ancestorIds: string[];
  path: string;
  depth: number;
  position: number;
  createdAt: Date;
  updatedAt: Date;
  version: number;
  /**
   * Set while a move is rewriting the descendants' paths; cleared when it is done. Start-up
   * finishes any move a crash interrupted (see {@link CategoryStore.descendantsOf}).
   */
  moving?: boolean;
  /**
   * Set by every write that changes the category, in the same update, until its
   * CategoryChanged is published (see events.ts); a newer write replaces it.
   */
  pendingEvent?: PendingEventMarker;
  /**
   * A deleted category kept, out of every read, until its CategoryChanged (DELETED) is
   * published; then the document is removed. Its slug is freed (`~<id>`) for new siblings.
   */
  deleted?: true;
}

/** A change as the writes record it: the kind (a CategoryChangeKind name) and when. */
export interface CategoryChange {
  readonly kind: string;
  readonly at: Date;
}

/** Indexes the category collection needs. */
export const categoryIndexes: IndexDeclarations = {
  categories: [
    { key: { parentId: 1, slug: 1 }, name: 'parent_slug_unique', unique: true },
    { key: { parentId: 1, position: 1 }, name: 'parent_position' },
    { key: { ancestorIds: 1 }, name: 'ancestors' },
    { key: { moving: 1 }, name: 'moving' },
    // The relay's scan for markers left behind (most categories have none).
    { key: { 'pendingEvent.at': 1 }, name: 'pending_events' },
  ],
};

/**
 * MongoDB access of the category service. Single-document atomic updates only. Every write that
 * changes a category stores a pending-event marker on it in the same update (one per document)
 * and returns what it marked; the {@link PendingEventSource} half serves the publisher and relay
 * of those markers. Reads never see deleted categories (tombstones).
 */
export interface CategoryStore extends PendingEventSource<CategoryDoc> {
  get(id: string): Promise<CategoryDoc | null>;
  getMany(ids: readonly string[]): Promise<CategoryDoc[]>;
  /** Direct children of `parentId` (null: the roots), in sibling order. */
  children(parentId: string | null): Promise<CategoryDoc[]>;
  /** How many direct children each of `ids` has. */
  childCounts(ids: readonly string[]): Promise<Map<string, number>>;
  /**
   * The categories of `ids` that exist, each with how many direct children it has, in one query
   * (counting children scans the collection on mongo-java-server anyway; on MongoDB both
   * branches of the `$or` use an index).
   */
  getManyCounted(ids: readonly string[]): Promise<CountedCategory[]>;
  /** A category (null when it does not exist) and its direct children in sibling order, in one query. */
  withChildren(id: string): Promise<{ node: CategoryDoc | null; children: CategoryDoc[] }>;
  /** Every descendant of `id` (not `id` itself), one query on the ancestors index. */
  descendantsOf(id: string): Promise<CategoryDoc[]>;
  insert(doc: Omit<CategoryDoc, 'pendingEvent'>, change: CategoryChange): Promise<void>;
  /**
   * Applies `set` when the category is still at `version` (bumping it); null when it is not
   * (changed concurrently, or gone).
   */
  updateIfVersion(
    id: string,
    version: number,
    set: Partial<Omit<CategoryDoc, '_id' | 'version' | 'pendingEvent' | 'deleted'>>,
    change: CategoryChange,
  ): Promise<CategoryDoc | null>;
  /**
   * Clears the `moving` mark if the category is still at `version`. Bookkeeping, not a change:
   * no version bump, no event.
   */
  clearMoving(id: string, version: number): Promise<void>;
  /**
   * Shifts the positions of the siblings under `parentId` in `[from, to]` by `delta` (each a
   * change: version bumped, marked); returns the ids it shifted.
   */
  shiftPositions(
    parentId: string | null,
    from: number,
    to: number,
    delta: number,
    change: CategoryChange,
    exceptId?: string,
  ): Promise<string[]>;
  /** Rewrites many categories' tree fields in one round trip (each a change). */
  rewriteTree(
    updates: ReadonlyArray<{ id: string; ancestorIds: string[]; path: string; depth: number }>,
    change: CategoryChange,
  ): Promise<void>;
  /** Categories whose move did not finish (crash between the two steps of a move). */
  unfinishedMoves(): Promise<CategoryDoc[]>;
  /**
   * Deletes a category: it becomes a tombstone carrying its DELETED marker, invisible to every
   * read, removed once the event is published. Null when it was already gone.
   */
  markDeleted(id: string, change: CategoryChange): Promise<CategoryDoc | null>;
}

/** A stored category with its number of direct children. */
export interface CountedCategory {
  readonly doc: CategoryDoc;
  readonly childCount: number;
}

/** Matches categories that are not deleted. */
const LIVE = { deleted: { $ne: true } } as const;

/** Builds the store over the service's database. */
export function createCategoryStore(db: Db): CategoryStore {
  const col: Collection<CategoryDoc> = db.collection<CategoryDoc>('categories');
  const siblingOrder = { position: 1, name: 1, _id: 1 } as const;
  const live = (filter: Filter<CategoryDoc>): Filter<CategoryDoc> => ({ ...filter, ...LIVE });
  const mark = (change: CategoryChange): PendingEventMarker =>
    pendingEventMarker(change.kind, change.at);
  return {
    // By `_id` alone, so the store answers from its primary index; tombstones are dropped here.
    get: async (id) => {
      const doc = await col.findOne({ _id: id });
      return doc === null || doc.deleted === true ? null : doc;
    },
    getMany: async (ids) =>
      (await col.find({ _id: { $in: [...ids] } }).toArray()).filter((d) => d.deleted !== true),
    children: (parentId) => col.find(live({ parentId })).sort(siblingOrder).toArray(),
    async childCounts(ids) {
      const counts = new Map<string, number>(ids.map((id) => [id, 0]));
      if (ids.length === 0) return counts;
      const kids = await col
        .find(live({ parentId: { $in: [...ids] } }), { projection: { parentId: 1 } })
        .toArray();
      for (const kid of kids) {
        if (kid.parentId !== null) counts.set(kid.parentId, (counts.get(kid.parentId) ?? 0) + 1);
      }
      return counts;
    },
    async getManyCounted(ids) {
      if (ids.length === 0) return [];
      const wanted = new Set(ids);
      const docs = await col
        .find(live({ $or: [{ _id: { $in: [...wanted] } }, { parentId: { $in: [...wanted] } }] }))
        .toArray();
      const counts = new Map<string, number>();
      for (const d of docs) {
        if (d.parentId !== null && wanted.has(d.parentId)) {
          counts.set(d.parentId, (counts.get(d.parentId) ?? 0) + 1);
        }
      }
      return docs
        .filter((d) => wanted.has(d._id))
        .map((doc) => ({ doc, childCount: counts.get(doc._id) ?? 0 }));
    },
    async withChildren(id) {
      const docs = await col
        .find(live({ $or: [{ _id: id }, { parentId: id }] }))
        .sort(siblingOrder)
        .toArray();
      return {
        node: docs.find((d) => d._id === id) ?? null,
        children: docs.filter((d) => d._id !== id),
      };
    },
    descendantsOf: (id) => col.find(live({ ancestorIds: id })).toArray(),
    async insert(doc, change) {
      await col.insertOne({ ...doc, pendingEvent: mark(change) });
    },
    async updateIfVersion(id, version, set, change) {
      return col.findOneAndUpdate(
        live({ _id: id, version }),
        {
          $set: { ...set, updatedAt: set.updatedAt ?? change.at, pendingEvent: mark(change) },
          $inc: { version: 1 },
        },
        { returnDocument: 'after' },
      );
    },
    async clearMoving(id, version) {
      await col.updateOne(live({ _id: id, version }), { $unset: { moving: '' } });
    },
    async shiftPositions(parentId, from, to, delta, change, exceptId) {
      const range = { parentId, position: { $gte: from, $lte: to } };
      const ids = (await col.find(live(range), { projection: { _id: 1 } }).toArray()).flatMap(
        (d) => (d._id === exceptId ? [] : [d._id]),
      );
      if (ids.length === 0) return [];
      // One update per sibling, each re-checking the range, so every one gets its own marker.
      await col.bulkWrite(
        ids.map((id) => ({
          updateOne: {
            filter: live({ ...range, _id: id }),
            update: {
              $inc: { position: delta, version: 1 },
              $set: { pendingEvent: mark(change) },
            },
          },
        })),
        { ordered: false },
      );
      return ids;
    },
    async rewriteTree(updates, change) {
      if (updates.length === 0) return;
      const ops: AnyBulkWriteOperation<CategoryDoc>[] = updates.map((u) => ({
        updateOne: {
          filter: live({ _id: u.id }),
          update: {
            $set: {
              ancestorIds: u.ancestorIds,
              path: u.path,
              depth: u.depth,
              pendingEvent: mark(change),
            },
            $inc: { version: 1 },
          },
        },
      }));
      await col.bulkWrite(ops, { ordered: false });
    },
    unfinishedMoves: () => col.find(live({ moving: true })).toArray(),
    markDeleted: (id, change) =>
      col.findOneAndUpdate(
        live({ _id: id }),
        {
          $set: { deleted: true, slug: `~${id}`, updatedAt: change.at, pendingEvent: mark(change) },
          $unset: { moving: '' },
          $inc: { version: 1 },
        },
        { returnDocument: 'after' },
      ),
    // The pending-event source sees tombstones: their DELETED events must go out too.
    byIds: (ids) => col.find({ _id: { $in: [...ids] } }).toArray(),
    pendingBefore: (before, limit) =>
      col
        .find({ 'pendingEvent.at': { $lt: before } })
        .sort({ 'pendingEvent.at': 1 })
        .limit(limit)
        .toArray(),
    async clearPending(id, markerId) {
      const marked = { _id: id, 'pendingEvent.id': markerId };
      const removed = await col.deleteOne({ ...marked, deleted: true });
      if (removed.deletedCount === 0) {
        await col.updateOne(marked, { $unset: { pendingEvent: '' } });
      }
    },
  };
}
