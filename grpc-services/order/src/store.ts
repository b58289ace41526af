import { isDuplicateKeyError, type IndexDeclarations } from '@shop/platform';
import type { common, order } from '@shop/proto';
import {
  Binary,
  MongoBulkWriteError,
  type Collection,
  type Db,
  type Document,
  type Filter,
  type OptionalUnlessRequiredId,
} from 'mongodb';

/** Collection names of the order database. */
export const COLLECTIONS = { orders: 'orders', processedEvents: 'processed_events' } as const;

/** Indexes created at start-up. */
export const ORDER_INDEXES: IndexDeclarations = {
  [COLLECTIONS.orders]: [
    // One order per (customer, idempotency key): concurrent retries collapse onto one order.
    { key: { customerId: 1, idempotencyKey: 1 }, name: 'customer_idempotency_key', unique: true },
    { key: { customerId: 1, createdAt: -1, _id: -1 }, name: 'customer_newest_first' },
    { key: { createdAt: -1, _id: -1 }, name: 'newest_first' },
    { key: { status: 1, expiresAt: 1 }, name: 'status_expiry' },
    { key: { outboxPendingSince: 1 }, name: 'outbox_pending' },
    // Redundant on MongoDB (the `_id` index serves `{_id, version}`), needed on the local store:
    // mongo-java-server answers from an index only a query whose keys are exactly a unique
    // index's keys, and scans the collection for anything else, so without it every versioned
    // update read every order (about 100 ms at 30k orders against 2 ms with it).
    { key: { _id: 1, version: 1 }, name: 'id_version', unique: true },
  ],
  // `_id` is the event id; the default unique `_id` index deduplicates deliveries.
  [COLLECTIONS.processedEvents]: [{ key: { processedAt: 1 }, name: 'processed_at' }],
};

/** One stored, not necessarily published, event of an order (the outbox). */
export interface OutboxEntry {
  eventId: string;
  /** Fully-qualified proto name of the payload. */
  eventType: string;
  payload: Binary;
  occurredAt: Date;
  /** Order version after the change that produced the event. */
  aggregateVersion: number;
  causationId: string;
  /** W3C traceparent of the write that stored it (absent outside a trace): its publication joins that trace. */
  traceParent?: string;
}

/** An order's payment as stored. */
export interface PaymentDoc {
  provider: string;
  intentId: string;
  status: order.PaymentStatus;
  amount: common.Money;
  failureCode: string;
  /** Technical failures (timeouts, provider errors) seen so far. */
  failedAttempts: number;
}

/** An entry of the status history as stored. */
export interface StatusChangeDoc {
  status: order.OrderStatus;
  cancellationReason: order.CancellationReason;
  note: string;
  actor: { type: common.ActorType; id: string };
  at: Date;
}

/** An order document: the order, its status history and its outbox, written together. */
export interface OrderDoc {
  _id: string;
  customerId: string;
  customerEmail: string;
  idempotencyKey: string;
  /** Hash of the request the key was first used with, to refuse reuse for another order. */
  requestHash: string;
  status: order.OrderStatus;
  cancellationReason: order.CancellationReason;
  lines: order.OrderLine[];
  total: common.Money;
  currency: string;
  shippingAddress: common.PostalAddress;
  /** Provider token of the payment method, needed when stock is reserved. Never returned. */
  paymentMethodToken: string;
  payment: PaymentDoc;
  statusHistory: StatusChangeDoc[];
  createdAt: Date;
  updatedAt: Date;
  /** When a PENDING order expires; null once it left PENDING. */
  expiresAt: Date | null;
  version: number;
  outbox: OutboxEntry[];
  /** Number of outbox entries already published (they are published in order). */
  outboxSent: number;
  /** When the oldest unpublished outbox entry was written; null when all are published. */
  outboxPendingSince: Date | null;
}

/** A new order as the workflow builds it; the store adds the relay's bookkeeping. */
export type NewOrderDoc = Omit<OrderDoc, 'outboxSent' | 'outboxPendingSince'>;

/** A change to apply to an order at a known version, with the events it produces. */
export interface OrderChange {
  set: Partial<
    Pick<OrderDoc, 'status' | 'cancellationReason' | 'payment' | 'expiresAt' | 'updatedAt'>
  >;
  history?: StatusChangeDoc[];
  events?: OutboxEntry[];
}

/** Filter and cursor of {@link OrderStore.list}. */
export interface ListQuery {
  customerId?: string;
  statuses?: readonly order.OrderStatus[];
  after?: { createdAt: Date; id: string };
  limit: number;
}

/** MongoDB access of the order service. */
export interface OrderStore {
  /**
   * Inserts a new order with all its events unpublished; returns the existing one when its
   * idempotency key was already used.
   */
  insert(order: NewOrderDoc): Promise<{ order: OrderDoc; created: boolean }>;
  get(id: string): Promise<OrderDoc | null>;
  getMany(ids: readonly string[]): Promise<OrderDoc[]>;
  findByIdempotencyKey(customerId: string, key: string): Promise<OrderDoc | null>;
  list(query: ListQuery): Promise<OrderDoc[]>;
  /**
   * Applies a change if the order is still at the version of `current`, the document the change
   * was decided on (optimistic concurrency); increments the version, appends history and outbox
   * events. One write, no read: new events are pending since `current`'s oldest unpublished
   * event, or since the first new one. Returns the new document, or null when the version moved
   * on.
   */
  update(
    current: Pick<OrderDoc, '_id' | 'version' | 'outboxPendingSince'>,
    change: OrderChange,
  ): Promise<OrderDoc | null>;
  /** Orders with events unpublished since before `before`, oldest first. */
  findUnpublished(before: Date, limit: number): Promise<OrderDoc[]>;
  /**
   * Records that the outbox entries before `sent` were published, if the order is still at
   * `expectedVersion` (at one version every relay marks the same count: the whole outbox).
   */
  markPublished(
    id: string,
    expectedVersion: number,
    sent: number,
    pendingSince: Date | null,
  ): Promise<boolean>;
  /** PENDING orders whose expiry passed. */
  findExpired(now: Date, limit: number): Promise<OrderDoc[]>;
  /** When the oldest unpublished event was written; null when the outbox is drained. */
  oldestUnpublished(): Promise<Date | null>;
  /** Order counts per status. */
  countByStatus(): Promise<Map<order.OrderStatus, number>>;
  /** Records an incoming event as processed; false when it already was. */
  markProcessed(eventId: string, eventType: string): Promise<boolean>;
  wasProcessed(eventId: string): Promise<boolean>;
}

/**
 * Runs one async section at a time per key. FerretDB (the local store) applies a conditional
 * update as read-modify-write without isolation, so two concurrent updates of one document can
 * both pass the version filter and one is lost (measured: 17 of 20 racing conditional updates
 * "won"). Serialising this process's writes per order makes the version check a real
 * compare-and-set here; on MongoDB the filter alone already is one, across instances too.
 */
export function createKeyedMutex(): <T>(key: string, section: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<unknown>>();
  return async (key, section) => {
    const previous = tails.get(key) ?? Promise.resolve();
    const run = previous.then(section, section);
    const tail = run.catch(() => undefined);
    tails.set(key, tail);
    try {
      return await run;
    } finally {
      if (tails.get(key) === tail) tails.delete(key);
    }
  };
}

/**
 * Group commit for inserts: documents inserted while an `insertMany` is in flight go together in
 * the next one (unordered), so under load many PlaceOrder calls or processed-event records share
 * one round trip and an idle caller waits for no timer. Resolves `true` when the document was
 * inserted, `false` when it broke a unique index; any other failure rejects.
 */
function groupInserts<T extends Document>(
  collection: Collection<T>,
  maxBatch = 256,
): (doc: OptionalUnlessRequiredId<T>) => Promise<boolean> {
  interface Waiting {
    doc: OptionalUnlessRequiredId<T>;
    resolve: (inserted: boolean) => void;
    reject: (err: unknown) => void;
  }
  const queue: Waiting[] = [];
  let running = false;
  const run = async (): Promise<void> => {
    running = true;
    try {
      while (queue.length > 0) {
        const batch = queue.splice(0, maxBatch);
        try {
          await collection.insertMany(
            batch.map((w) => w.doc),
            { ordered: false },
          );
          for (const w of batch) w.resolve(true);
        } catch (err) {
          if (batch.length === 1 && isDuplicateKeyError(err)) {
            batch[0].resolve(false);
            continue;
          }
          if (!(err instanceof MongoBulkWriteError)) {
            for (const w of batch) w.reject(err);
            continue;
          }
          const failed = new Map([err.writeErrors].flat().map((e) => [e.index, e.code]));
          batch.forEach((w, i) => {
            const code = failed.get(i);
            if (code === undefined) w.resolve(true);
            else if (code === 11000) w.resolve(false);
            else w.reject(err);
          });
        }
      }
    } finally {
      running = false;
    }
  };
  return (doc) =>
    new Promise<boolean>((resolve, reject) => {
      queue.push({ doc, resolve, reject });
      if (!running) void run();
    });
}

/** Creates the MongoDB-backed {@link OrderStore}. Single-document atomic writes only. */
export function createOrderStore(db: Db): OrderStore {
  const serialised = createKeyedMutex();
  const orders: Collection<OrderDoc> = db.collection<OrderDoc>(COLLECTIONS.orders);
  const processed = db.collection<{ _id: string; eventType: string; processedAt: Date }>(
    COLLECTIONS.processedEvents,
  );
  const insertOrder = groupInserts(orders);
  const insertProcessed = groupInserts(processed);

  return {
    async insert(order) {
      const doc: OrderDoc = {
        ...order,
        outboxSent: 0,
        outboxPendingSince: order.outbox[0]?.occurredAt ?? null,
      };
      if (await insertOrder(doc)) return { order: doc, created: true };
      const existing = await orders.findOne({
        customerId: doc.customerId,
        idempotencyKey: doc.idempotencyKey,
      });
      if (!existing) throw new Error(`order ${doc._id} broke a unique index but has no twin`);
      return { order: existing, created: false };
    },
    get: (id) => orders.findOne({ _id: id }),
    getMany: (ids) => orders.find({ _id: { $in: [...ids] } }).toArray(),
    findByIdempotencyKey: (customerId, key) => orders.findOne({ customerId, idempotencyKey: key }),
    list(query) {
      const filter: Filter<OrderDoc> = {};
      if (query.customerId !== undefined) filter.customerId = query.customerId;
      if (query.statuses && query.statuses.length > 0) filter.status = { $in: [...query.statuses] };
      if (query.after) {
        filter.$or = [
          { createdAt: { $lt: query.after.createdAt } },
          { createdAt: query.after.createdAt, _id: { $lt: query.after.id } },
        ];
      }
      return orders.find(filter).sort({ createdAt: -1, _id: -1 }).limit(query.limit).toArray();
    },
    update: (current, change) =>
      serialised(current._id, async () => {
        const $set: Record<string, unknown> = { ...change.set, version: current.version + 1 };
        const $push: Record<string, unknown> = {};
        if (change.history && change.history.length > 0) {
          $push['statusHistory'] = { $each: change.history };
        }
        if (change.events && change.events.length > 0) {
          $push['outbox'] = { $each: change.events };
          // The relay may have marked `current`'s events published since it was read (that does
          // not move the version): then this is earlier than needed, and the scan may publish
          // the new events before the fast path does, a repeat consumers drop. Never later.
          $set['outboxPendingSince'] = current.outboxPendingSince ?? change.events[0].occurredAt;
        }
        return orders.findOneAndUpdate(
          { _id: current._id, version: current.version },
          Object.keys($push).length > 0 ? { $set, $push } : { $set },
          { returnDocument: 'after' },
        );
      }),
    findUnpublished: (before, limit) =>
      orders
        .find({ outboxPendingSince: { $ne: null, $lt: before } })
        .sort({ outboxPendingSince: 1 })
        .limit(limit)
        .toArray(),
    markPublished: (id, expectedVersion, sent, pendingSince) =>
      serialised(id, async () => {
        const result = await orders.updateOne(
          { _id: id, version: expectedVersion },
          { $set: { outboxSent: sent, outboxPendingSince: pendingSince } },
        );
        return result.modifiedCount === 1;
      }),
    findExpired: (now, limit) =>
      orders
        .find({
          status: 1 satisfies order.OrderStatus.ORDER_STATUS_PENDING,
          expiresAt: { $lte: now },
        })
        .limit(limit)
        .toArray(),
    async oldestUnpublished() {
      const [oldest] = await orders
        .find({ outboxPendingSince: { $ne: null } }, { projection: { outboxPendingSince: 1 } })
        .sort({ outboxPendingSince: 1 })
        .limit(1)
        .toArray();
      return oldest?.outboxPendingSince ?? null;
    },
    async countByStatus() {
      const rows = await orders
        .aggregate<{ _id: order.OrderStatus; n: number }>([
          { $group: { _id: '$status', n: { $sum: 1 } } },
        ])
        .toArray();
      return new Map(rows.map((r) => [r._id, r.n]));
    },
    markProcessed: (eventId, eventType) =>
      insertProcessed({ _id: eventId, eventType, processedAt: new Date() }),
    async wasProcessed(eventId) {
      // findOne, not countDocuments: the local store answers a count by scanning.
      return (await processed.findOne({ _id: eventId }, { projection: { _id: 1 } })) !== null;
    },
  };
}

/** Wraps raw bytes for storage. */
export const toBinary = (bytes: Uint8Array): Binary => new Binary(Buffer.from(bytes));
