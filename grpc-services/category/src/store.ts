import type { AnyBulkWriteOperation, Collection, Db } from 'mongodb';
import type { IndexDeclarations } from '@shop/platform';

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
}

/** Indexes the category collection needs. */
export const categoryIndexes: IndexDeclarations = {
  categories: [
    { key: { parentId: 1, slug: 1 }, name: 'parent_slug_unique', unique: true },
    { key: { parentId: 1, position: 1 }, name: 'parent_position' },
    { key: { ancestorIds: 1 }, name: 'ancestors' },
    { key: { moving: 1 }, name: 'moving' },
  ],
};

/** A stored category with its number of direct children. */
export interface CountedCategory {
  readonly doc: CategoryDoc;
  readonly childCount: number;
}

/** MongoDB access of the category service. Single-document atomic updates only. */
export interface CategoryStore {
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
  insert(doc: CategoryDoc): Promise<void>;
  /**
   * Applies `set` when the category is still at `version` (bumping it); null when it is not
   * (changed concurrently, or gone).
   */
  updateIfVersion(
    id: string,
    version: number,
    set: Partial<Omit<CategoryDoc, '_id' | 'version'>>,
    unset?: Array<keyof CategoryDoc>,
  ): Promise<CategoryDoc | null>;
  /** Shifts the positions of the siblings under `parentId` in `[from, to]` by `delta`. */
  shiftPositions(
    parentId: string | null,
    from: number,
    to: number,
    delta: number,
    exceptId?: string,
  ): Promise<void>;
  /** Rewrites many categories' tree fields in one round trip. */
  rewriteTree(
    updates: ReadonlyArray<{ id: string; ancestorIds: string[]; path: string; depth: number }>,
  ): Promise<void>;
  /** Categories whose move did not finish (crash between the two steps of a move). */
  unfinishedMoves(): Promise<CategoryDoc[]>;
  remove(id: string): Promise<boolean>;
}

/** Builds the store over the service's database. */
export function createCategoryStore(db: Db): CategoryStore {
  const col: Collection<CategoryDoc> = db.collection<CategoryDoc>('categories');
  const siblingOrder = { position: 1, name: 1, _id: 1 } as const;
  return {
    get: (id) => col.findOne({ _id: id }),
    getMany: (ids) => col.find({ _id: { $in: [...ids] } }).toArray(),
    children: (parentId) => col.find({ parentId }).sort(siblingOrder).toArray(),
    async childCounts(ids) {
      const counts = new Map<string, number>(ids.map((id) => [id, 0]));
      if (ids.length === 0) return counts;
      const kids = await col
        .find({ parentId: { $in: [...ids] } }, { projection: { parentId: 1 } })
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
        .find({ $or: [{ _id: { $in: [...wanted] } }, { parentId: { $in: [...wanted] } }] })
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
        .find({ $or: [{ _id: id }, { parentId: id }] })
        .sort(siblingOrder)
        .toArray();
      return {
        node: docs.find((d) => d._id === id) ?? null,
        children: docs.filter((d) => d._id !== id),
      };
    },
    descendantsOf: (id) => col.find({ ancestorIds: id }).toArray(),
    async insert(doc) {
      await col.insertOne(doc);
    },
    async updateIfVersion(id, version, set, unset = []) {
      const update: Record<string, unknown> = {
        $set: { ...set, updatedAt: set.updatedAt ?? new Date() },
        $inc: { version: 1 },
      };
      if (unset.length > 0) update['$unset'] = Object.fromEntries(unset.map((k) => [k, '']));
      return col.findOneAndUpdate({ _id: id, version }, update, { returnDocument: 'after' });
    },
    async shiftPositions(parentId, from, to, delta, exceptId) {
      await col.updateMany(
        {
          parentId,
          position: { $gte: from, $lte: to },
          ...(exceptId === undefined ? {} : { _id: { $ne: exceptId } }),
        },
        { $inc: { position: delta } },
      );
    },
    async rewriteTree(updates) {
      if (updates.length === 0) return;
      const ops: AnyBulkWriteOperation<CategoryDoc>[] = updates.map((u) => ({
        updateOne: {
          filter: { _id: u.id },
          update: {
            $set: { ancestorIds: u.ancestorIds, path: u.path, depth: u.depth },
            $inc: { version: 1 },
          },
        },
      }));
      await col.bulkWrite(ops, { ordered: false });
    },
    unfinishedMoves: () => col.find({ moving: true }).toArray(),
    async remove(id) {
      const result = await col.deleteOne({ _id: id });
      return result.deletedCount === 1;
    },
  };
}
