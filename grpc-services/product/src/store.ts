import type { Collection, Db, Filter, Sort } from 'mongodb';
import type { IndexDeclarations, PendingEventMarker, PendingEventSource } from '@shop/platform';

/** One product as stored. */
export interface ProductDoc {
  _id: string;
  sku: string;
  name: string;
  /** `name` lower-cased: case-insensitive search without `$text` or case-insensitive regex. */
  nameLower: string;
  description: string;
  price: { amount: number; currency: string };
  categoryId: string;
  images: Array<{ url: string; altText: string }>;
  attributes: Array<{ name: string; value: string }>;
  createdAt: Date;
  updatedAt: Date;
  version: number;
  deleted: boolean;
  deletedAt: Date | null;
  /** Projection of the inventory service's StockLevelChanged events (see events.ts). */
  stock?: { available: number; version: number };
  /**
   * Set by every write that changes the product, in the same update, until its ProductChanged
   * is published (see events.ts); a newer write replaces it.
   */
  pendingEvent?: PendingEventMarker;
}

/** The fields a caller may change. */
export type ProductChanges = Partial<
  Pick<
    ProductDoc,
    'sku' | 'name' | 'nameLower' | 'description' | 'price' | 'categoryId' | 'images' | 'attributes'
  >
>;

/** Sort orders of a listing; ties are broken by `_id` in the same direction. */
export type ListOrder = 'created' | 'newest' | 'name' | 'price_asc' | 'price_desc';

/** The value of an item's sort key: what a cursor remembers. */
export type SortValue = number | string;

/** Conditions of a listing; all must hold. */
export interface ProductQuery {
  categoryIds?: readonly string[];
  /** Lower-case substring of the name. */
  nameContains?: string;
  sku?: string;
  price?: { currency: string; min?: number; max?: number };
  inStockOnly?: boolean;
  includeDeleted?: boolean;
}

const SORT_FIELD: Record<ListOrder, { field: string; dir: 1 | -1 }> = {
  created: { field: 'createdAt', dir: 1 },
  newest: { field: 'createdAt', dir: -1 },
  name: { field: 'nameLower', dir: 1 },
  price_asc: { field: 'price.amount', dir: 1 },
  price_desc: { field: 'price.amount', dir: -1 },
};

/** The sort key of a product under an order, as a cursor stores it (dates as epoch ms). */
export function sortValueOf(doc: ProductDoc, order: ListOrder): SortValue {
  switch (order) {
    case 'created':
    case 'newest':
      return doc.createdAt.getTime();
    case 'name':
      return doc.nameLower;
    case 'price_asc':
    case 'price_desc':
      return doc.price.amount;
  }
}

/**
 * Indexes of the product collection. `sku_unique` enforces SKU uniqueness (soft-deleted
 * products keep their SKU). The listing indexes lead with the equality fields of the common
 * filters (`deleted`, `categoryId`) and end with the sort key and `_id`, so a page is a range
 * scan; the bench compares with and without `category_listing`.
 */
export const productIndexes: IndexDeclarations = {
  products: [
    { key: { sku: 1 }, name: 'sku_unique', unique: true },
    { key: { categoryId: 1, deleted: 1, createdAt: 1, _id: 1 }, name: 'category_listing' },
    { key: { deleted: 1, createdAt: 1, _id: 1 }, name: 'listing' },
    { key: { 'price.amount': 1, _id: 1 }, name: 'price' },
    { key: { nameLower: 1, _id: 1 }, name: 'name' },
    // The relay's scan for markers left behind (most products have none).
    { key: { 'pendingEvent.at': 1 }, name: 'pending_events' },
    // The three conditional writes, each read by `_id` first and then applied with exactly
    // these keys. Redundant on MongoDB (its `_id` index serves them), needed on the local store:
    // mongo-java-server answers from an index only a filter whose keys are exactly a unique
    // index's keys and scans every product for anything else (50 stock changes at 86k products
    // took 46 s and starved the store; see bench/README.md).
    { key: { _id: 1, version: 1 }, name: 'id_version', unique: true },
    { key: { _id: 1, 'stock.version': 1 }, name: 'id_stock_version', unique: true },
    { key: { _id: 1, 'pendingEvent.id': 1 }, name: 'id_pending_event', unique: true },
  ],
};

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * MongoDB access of the product service. Single-document atomic updates only. Writes that change
 * a product carry its pending-event marker (`insert` in the document, `update` as `marker`); the
 * {@link PendingEventSource} half serves the publisher and relay of those markers.
 */
export interface ProductStore extends PendingEventSource<ProductDoc> {
  get(id: string): Promise<ProductDoc | null>;
  getMany(ids: readonly string[]): Promise<ProductDoc[]>;
  /** Inserts a product (with its marker); a taken SKU surfaces as a duplicate-key error. */
  insert(doc: ProductDoc): Promise<void>;
  /**
   * Bulk insert without per-product checks or change events: the fast path of the benchmark,
   * never used by RPC handlers.
   */
  insertMany(docs: readonly ProductDoc[]): Promise<void>;
  /**
   * Applies `set` and `marker` (bumping the version) when the product is live and, if
   * `expectedVersion` is given, still at that version; returns null otherwise.
   */
  update(
    id: string,
    expectedVersion: number | undefined,
    set: ProductChanges & { updatedAt: Date; deleted?: boolean; deletedAt?: Date | null },
    marker: PendingEventMarker,
  ): Promise<ProductDoc | null>;
  /**
   * One page: up to `limit` products matching `query` strictly after `after` in `order` (ties by
   * `_id` in the same direction).
   */
  list(
    query: ProductQuery,
    order: ListOrder,
    after: { value: SortValue; id: string } | undefined,
    limit: number,
  ): Promise<ProductDoc[]>;
  /** Records a stock level unless a newer one was already recorded; false when ignored. */
  recordStock(productId: string, available: number, version: number): Promise<boolean>;
}

/**
 * Builds the store. Conditional updates of one product are also serialized inside this process:
 * FerretDB's SQLite backend applies a conditional update as read-modify-write, so two concurrent
 * updates at the same version could otherwise both win (see infra/test/ferretdb-concurrency).
 * That protects one replica; MongoDB proper needs nothing of it.
 */
export function createProductStore(db: Db): ProductStore {
  const col: Collection<ProductDoc> = db.collection<ProductDoc>('products');
  const locks = new Map<string, Promise<unknown>>();
  const serialized = <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const prev = locks.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    locks.set(key, tail);
    void tail.then(() => {
      if (locks.get(key) === tail) locks.delete(key);
    });
    return next;
  };

  return {
    get: (id) => col.findOne({ _id: id }),
    getMany: (ids) => col.find({ _id: { $in: [...ids] } }).toArray(),
    async insert(doc) {
      await col.insertOne(doc);
    },
    async insertMany(docs) {
      if (docs.length > 0) await col.insertMany([...docs], { ordered: false });
    },
    update(id, expectedVersion, set, marker) {
      // Read by `_id`, decide, then a versioned write: a point lookup on every store.
      return serialized(id, async () => {
        const current = await col.findOne({ _id: id }, { projection: { deleted: 1, version: 1 } });
        if (!current || current.deleted) return null;
        if (expectedVersion !== undefined && current.version !== expectedVersion) return null;
        return col.findOneAndUpdate(
          { _id: id, version: current.version },
          { $set: { ...set, pendingEvent: marker }, $inc: { version: 1 } },
          { returnDocument: 'after' },
        );
      });
    },
    list(query, order, after, limit) {
      const { field, dir } = SORT_FIELD[order];
      // A flat filter with top-level equalities: FerretDB pushes those down to SQL, while a
      // nested `$and` would make it fetch and filter every row itself.
      const filter: Record<string, unknown> = {};
      if (!query.includeDeleted) filter['deleted'] = false;
      if (query.sku !== undefined) filter['sku'] = query.sku;
      if (query.nameContains) filter['nameLower'] = { $regex: escapeRegex(query.nameContains) };
      if (query.price) {
        filter['price.currency'] = query.price.currency;
        const range: Record<string, number> = {};
        if (query.price.min !== undefined) range['$gte'] = query.price.min;
        if (query.price.max !== undefined) range['$lte'] = query.price.max;
        if (Object.keys(range).length > 0) filter['price.amount'] = range;
      }
      if (query.inStockOnly) filter['stock.available'] = { $gt: 0 };
      if (after) {
        const value = field === 'createdAt' ? new Date(after.value) : after.value;
        const beyond = dir === 1 ? '$gt' : '$lt';
        filter['$or'] = [
          { [field]: { [beyond]: value } },
          { [field]: value, _id: { [beyond]: after.id } },
        ];
      }
      const ids = query.categoryIds;
      if (ids !== undefined) {
        if (ids.length === 0) return Promise.resolve([]);
        filter['categoryId'] = ids.length === 1 ? ids[0] : { $in: [...ids] };
      }
      // On MongoDB, `category_listing` turns a subtree `$in` into one index range scan per
      // category merged in key order (SORT_MERGE). FerretDB/SQLite uses none of the secondary
      // indexes for this and sorts in Go; splitting the `$in` into per-category queries was
      // measured and was worse there (see bench/README.md).
      const sort: Sort = { [field]: dir, _id: dir };
      return col
        .find(filter as Filter<ProductDoc>)
        .sort(sort)
        .limit(limit)
        .toArray();
    },
    recordStock(productId, available, version) {
      // Read by `_id`, then write only if the recorded version is still the one read (null
      // matches a product with no stock yet), so an older event never overwrites a newer one.
      return serialized(productId, async () => {
        // Another replica may write between the read and the write: read again and retry.
        for (let attempt = 0; attempt < 10; attempt += 1) {
          const current = await col.findOne({ _id: productId }, { projection: { stock: 1 } });
          if (!current) return false;
          const seen = current.stock?.version ?? null;
          if (seen !== null && seen >= version) return false;
          const res = await col.updateOne(
            { _id: productId, 'stock.version': seen },
            { $set: { stock: { available, version } } },
          );
          if (res.modifiedCount === 1) return true;
        }
        return false;
      });
    },
    byIds: (ids) => col.find({ _id: { $in: [...ids] } }).toArray(),
    pendingBefore: (before, limit) =>
      col
        .find({ 'pendingEvent.at': { $lt: before } })
        .sort({ 'pendingEvent.at': 1 })
        .limit(limit)
        .toArray(),
    clearPending(id, markerId) {
      return serialized(id, async () => {
        // Exactly the keys of `id_pending_event`: a point lookup on the local store too.
        await col.updateOne(
          { _id: id, 'pendingEvent.id': markerId },
          { $unset: { pendingEvent: '' } },
        );
      });
    },
  };
}
