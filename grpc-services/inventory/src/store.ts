/**
 * MongoDB access for the inventory service: stock levels, the movement ledger, order
 * reservation decisions and the processed-events record.
 *
 * ## Why the ledger, not the stock document, decides (FerretDB evidence)
 *
 * The store was FerretDB 1.24 on SQLite when this was written. Its update path reads the document, applies the
 * update in Go and writes the whole document back, without re-checking the filter at write
 * time, so neither of the usual single-document guards holds under concurrency. Measured with
 * 8 clients (pool 20 each), 200 concurrent contenders for one document holding 10 units, six
 * runs on FerretDB v1.24.2 (SQLite):
 *
 * | guard                                                              | writers that "won" | expected |
 * |--------------------------------------------------------------------|--------------------|----------|
 * | `findOneAndUpdate({_id, available: {$gte: 1}}, {$inc: -1})`        | 158–200            | 10       |
 * | `updateOne({_id, version: v}, {$set, $inc: {version: 1}})` + retry | 21–200             | 10       |
 * | `insertOne` into a unique index `{productId, seq}` + retry         | 10 every run       | 10       |
 *
 * mongo-java-server, the local store since, gives 10 for all three, and so does MongoDB. The
 * design below does not depend on which one runs: only the unique index is enforced atomically
 * everywhere (by SQLite itself on FerretDB), so correctness rests on it alone. The whole
 * inventory suite, including both 200-orders races, passes on FerretDB v1.24.2 as well:
 *
 * - Every change is a ledger movement with `seq` = stock version after it, and the unique index
 *   `{productId, seq}` makes "append movement v+1" a compare-and-set: exactly one writer wins
 *   each version. A movement is computed from the levels of the movement before it, so the
 *   ledger is a serial history that never goes negative, whatever the number of processes.
 * - Within a process, one writer per product appends its movements: moves that arrive while a
 *   write is in flight are decided in arrival order against the head and appended together by
 *   the next ordered `insertMany` (one write per batch, not per order), so moves of one process
 *   never race each other and never retry. Only a second process appending to the same product
 *   makes an insert fail; the writer then re-reads the head and decides the rest again.
 * - Every read is a point lookup the local store answers from an index (mongo-java-server
 *   serves only exact-key lookups of a unique index and scans for anything else, so a range
 *   query on the ledger costs a scan of every movement): the head is the projection rolled
 *   forward by `{productId, seq: v + 1}` lookups until one misses, which is also what a writer
 *   does before each batch, so a refusal is decided on the true head.
 * - The `stock` collection is a projection of the ledger head for fast reads, written only by
 *   the product's writer with complete levels copied from a movement, once per batch.
 * - Movements whose effect must happen once carry deterministic ids (`rsv:<order>:<product>`,
 *   `end:<order>:<product>` for release or commit, `adj:<product>:<key>`, `init:<product>`),
 *   so a redelivered event or a retried RPC hits the `_id` index instead of moving stock twice,
 *   and a line can be released or committed, never both.
 * - Each movement is also its StockLevelChanged outbox entry (`pending: true` until the relay
 *   published it), written in the same single-document insert as the change itself.
 *
 * On MongoDB proper the same design is correct too (unique indexes are atomic there as well).
 */
import { isDuplicateKeyError, type IndexDeclarations } from '@shop/platform';
import { common, inventory } from '@shop/proto';
import { MongoBulkWriteError, type Collection, type Db } from 'mongodb';
import { randomUUID } from 'node:crypto';
import { inventoryErrors } from './errors';

/** Stock quantities at one moment. */
export interface Levels {
  readonly onHand: number;
  readonly reserved: number;
  readonly available: number;
}

/** The current stock of one product (the projection of its ledger head). */
export interface StockRecord extends Levels {
  readonly productId: string;
  /** Sequence number of the last movement. */
  readonly version: number;
  readonly updatedAt: Date;
}

/** Who caused a movement. */
export interface ActorRecord {
  readonly type: common.ActorType;
  readonly id: string;
}

/** One ledger entry; `seq` is the stock version it produced. */
export interface MovementRecord {
  readonly id: string;
  readonly productId: string;
  readonly seq: number;
  readonly kind: inventory.MovementKind;
  readonly deltaOnHand: number;
  readonly deltaReserved: number;
  readonly before: Levels;
  readonly after: Levels;
  readonly reason: string;
  readonly actor: ActorRecord;
  readonly orderId: string;
  readonly eventId: string;
  readonly idempotencyKey: string;
  readonly at: Date;
  /** Event id of the StockLevelChanged this movement publishes. */
  readonly outboxEventId: string;
}

/** A proposed change, or why it is refused. */
export type Decision =
  { readonly deltaOnHand: number; readonly deltaReserved: number } | { readonly refuse: string };

/** A movement to append, with the rule deciding it from the current levels. */
export interface MoveRequest {
  readonly productId: string;
  /** Deterministic id making the movement happen at most once; a UUID when omitted. */
  readonly movementId?: string;
  readonly kind: inventory.MovementKind;
  readonly reason: string;
  readonly actor: ActorRecord;
  readonly orderId?: string;
  readonly eventId?: string;
  readonly idempotencyKey?: string;
  /** Decides from the current stock; called again with fresher stock after a lost race. */
  readonly decide: (current: StockRecord) => Decision;
}

/** What happened to a {@link MoveRequest}. */
export type MoveResult =
  | { readonly outcome: 'applied'; readonly movement: MovementRecord; readonly stock: StockRecord }
  | { readonly outcome: 'duplicate'; readonly movement: MovementRecord }
  | { readonly outcome: 'refused'; readonly reason: string; readonly stock: StockRecord }
  | { readonly outcome: 'missing' };

/** Status of an order's reservation. */
export type ReservationStatus = 'RESERVED' | 'REJECTED' | 'RELEASED' | 'COMMITTED' | 'CANCELLED';

/** A line that could not be reserved. */
export interface RejectedLineRecord {
  readonly productId: string;
  readonly requested: number;
  readonly available: number;
}

/** The all-or-none decision taken for one order; written once, then only its status moves. */
export interface ReservationRecord {
  readonly orderId: string;
  readonly status: ReservationStatus;
  readonly lines: ReadonlyArray<{ readonly productId: string; readonly quantity: number }>;
  readonly rejected: readonly RejectedLineRecord[];
  /** Event id of the StockReserved/StockRejected outcome, reused when it is re-published. */
  readonly outcomeEventId: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** MongoDB access of the inventory service. */
export interface InventoryStore {
  getStock(productId: string): Promise<StockRecord | null>;
  /** Stock of the given products that have a record (any order). */
  getStocks(productIds: readonly string[]): Promise<StockRecord[]>;
  /** Appends one movement, deciding it against the ledger head (see the module comment). */
  move(request: MoveRequest): Promise<MoveResult>;
  /** Creates a product's stock; `created` is false when the same quantity was already set. */
  setInitialStock(
    productId: string,
    onHand: number,
    actor: ActorRecord,
  ): Promise<{ stock: StockRecord; created: boolean }>;
  findMovement(id: string): Promise<MovementRecord | null>;
  /** Movements of a product, newest first, strictly older than `beforeSeq` when given. */
  listMovements(query: {
    productId: string;
    orderId?: string;
    beforeSeq?: number;
    limit: number;
  }): Promise<MovementRecord[]>;
  /** The movements with these ids that exist (an `_id` lookup; any order). */
  movementsById(ids: readonly string[]): Promise<MovementRecord[]>;
  getReservation(orderId: string): Promise<ReservationRecord | null>;
  /** Records an order's decision once; returns the one that won when it already existed. */
  recordReservation(record: ReservationRecord): Promise<ReservationRecord>;
  setReservationStatus(orderId: string, status: ReservationStatus): Promise<void>;
  isProcessed(eventId: string): Promise<boolean>;
  markProcessed(eventId: string, eventType: string): Promise<void>;
  /** Movements written before `before` whose StockLevelChanged is not yet published, oldest first. */
  pendingOutbox(before: Date, limit: number): Promise<MovementRecord[]>;
  markPublished(movementIds: readonly string[]): Promise<void>;
}

const COLLECTIONS = {
  stock: 'stock',
  movements: 'movements',
  reservations: 'reservations',
  processed: 'processed_events',
} as const;

/** Indexes the inventory store needs, created at start-up. */
export const inventoryIndexes: IndexDeclarations = {
  [COLLECTIONS.movements]: [
    // The compare-and-set every stock change rests on.
    { key: { productId: 1, seq: 1 }, name: 'product_seq', unique: true },
    { key: { orderId: 1, productId: 1 }, name: 'order_product' },
    { key: { productId: 1, orderId: 1, seq: 1 }, name: 'product_order_seq' },
    { key: { pending: 1, at: 1 }, name: 'outbox_pending' },
  ],
  [COLLECTIONS.stock]: [],
  [COLLECTIONS.reservations]: [],
  [COLLECTIONS.processed]: [],
};

interface StockDoc {
  _id: string;
  onHand: number;
  reserved: number;
  available: number;
  version: number;
  updatedAt: Date;
}

interface MovementDoc {
  _id: string;
  productId: string;
  seq: number;
  kind: string;
  deltaOnHand: number;
  deltaReserved: number;
  before: Levels;
  after: Levels;
  reason: string;
  actor: { type: string; id: string };
  orderId: string;
  eventId: string;
  idempotencyKey: string;
  at: Date;
  outboxEventId: string;
  /** Present (true) until the relay published the movement's StockLevelChanged. */
  pending?: true;
}

interface ReservationDoc extends Omit<ReservationRecord, 'orderId'> {
  _id: string;
}

interface ProcessedDoc {
  _id: string;
  eventType: string;
  at: Date;
}

const levels = (onHand: number, reserved: number): Levels => ({
  onHand,
  reserved,
  available: onHand - reserved,
});

const toStock = (d: StockDoc): StockRecord => ({
  productId: d._id,
  onHand: d.onHand,
  reserved: d.reserved,
  available: d.available,
  version: d.version,
  updatedAt: d.updatedAt,
});

const stockFromMovement = (m: MovementRecord): StockRecord => ({
  productId: m.productId,
  ...m.after,
  version: m.seq,
  updatedAt: m.at,
});

const kindName = (k: inventory.MovementKind): string => inventory.MovementKind[k] ?? 'UNSPECIFIED';
const kindValue = (name: string): inventory.MovementKind =>
  (inventory.MovementKind as unknown as Record<string, inventory.MovementKind>)[name] ??
  inventory.MovementKind.MOVEMENT_KIND_UNSPECIFIED;
const actorTypeValue = (name: string): common.ActorType =>
  (common.ActorType as unknown as Record<string, common.ActorType>)[name] ??
  common.ActorType.ACTOR_TYPE_UNSPECIFIED;

const toMovement = (d: MovementDoc): MovementRecord => ({
  id: d._id,
  productId: d.productId,
  seq: d.seq,
  kind: kindValue(d.kind),
  deltaOnHand: d.deltaOnHand,
  deltaReserved: d.deltaReserved,
  before: d.before,
  after: d.after,
  reason: d.reason,
  actor: { type: actorTypeValue(d.actor.type), id: d.actor.id },
  orderId: d.orderId,
  eventId: d.eventId,
  idempotencyKey: d.idempotencyKey,
  at: d.at,
  outboxEventId: d.outboxEventId,
});

const toMovementDoc = (m: MovementRecord): MovementDoc => ({
  _id: m.id,
  productId: m.productId,
  seq: m.seq,
  kind: kindName(m.kind),
  deltaOnHand: m.deltaOnHand,
  deltaReserved: m.deltaReserved,
  before: m.before,
  after: m.after,
  reason: m.reason,
  actor: { type: common.ActorType[m.actor.type] ?? 'ACTOR_TYPE_UNSPECIFIED', id: m.actor.id },
  orderId: m.orderId,
  eventId: m.eventId,
  idempotencyKey: m.idempotencyKey,
  at: m.at,
  outboxEventId: m.outboxEventId,
  pending: true,
});

const toReservation = (d: ReservationDoc): ReservationRecord => {
  const { _id, ...rest } = d;
  return { orderId: _id, ...rest };
};

/** Options of {@link createInventoryStore}. */
export interface InventoryStoreOptions {
  /** Most movements of one product appended in one write (default 500). */
  maxBatch?: number;
  clock?: () => Date;
  /**
   * Told of every movement written, once the stock projection reflects it, so its
   * StockLevelChanged can be published at once (the outbox relay's fast path).
   */
  onMoved?: (movement: MovementRecord) => void;
}

/** A move waiting for its product's writer. */
interface QueuedMove {
  readonly request: MoveRequest;
  readonly movementId: string;
  readonly resolve: (result: MoveResult) => void;
  readonly reject: (err: unknown) => void;
}

/** Runs one async section at a time per key, in call order. */
function createKeyedSerial(): <T>(key: string, section: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<unknown>>();
  return async (key, section) => {
    const run = (tails.get(key) ?? Promise.resolve()).then(section, section);
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
 * Index of the first document an ordered insertMany did not write because of a duplicate key;
 * anything else is rethrown. (The driver's `insertedCount` is not reliable on the local store.)
 */
const firstFailedInsert = (err: unknown): number => {
  if (!isDuplicateKeyError(err) && !(err instanceof MongoBulkWriteError)) throw err;
  const writeErrors: unknown = (err as { writeErrors?: unknown }).writeErrors;
  const first: unknown = Array.isArray(writeErrors) ? writeErrors[0] : writeErrors;
  const index = (first as { index?: number } | undefined)?.index;
  if (typeof index !== 'number' || (first as { code?: number }).code !== 11000) throw err;
  return index;
};

/** Builds the store over one service database. */
export function createInventoryStore(db: Db, options: InventoryStoreOptions = {}): InventoryStore {
  const stock: Collection<StockDoc> = db.collection(COLLECTIONS.stock);
  const movements: Collection<MovementDoc> = db.collection(COLLECTIONS.movements);
  const reservations: Collection<ReservationDoc> = db.collection(COLLECTIONS.reservations);
  const processed: Collection<ProcessedDoc> = db.collection(COLLECTIONS.processed);
  const maxBatch = options.maxBatch ?? 500;
  const clock = options.clock ?? (() => new Date());
  /** One write section per product at a time in this process (the writer, initial stock). */
  const serial = createKeyedSerial();
  /** Ledger heads this process wrote or read; checked against the ledger before each batch. */
  const heads = new Map<string, StockRecord>();
  /** Moves waiting per product, and the products whose writer is running. */
  const queues = new Map<string, QueuedMove[]>();

  /** The movement at exactly `seq`: a point lookup on the unique `product_seq` index. */
  const movementAt = async (productId: string, seq: number): Promise<MovementRecord | null> => {
    const doc = await movements.findOne({ productId, seq });
    return doc ? toMovement(doc) : null;
  };

  /**
   * The ledger head at or after `from`: steps forward one version at a time while a newer
   * movement exists (usually zero or one step), so no query depends on a range scan.
   */
  const rollForward = async (from: StockRecord): Promise<StockRecord> => {
    let state = from;
    for (;;) {
      const next = await movementAt(state.productId, state.version + 1);
      if (!next) return state;
      state = stockFromMovement(next);
    }
  };

  /** The head as recorded (projection, else the initial movement), rolled forward. */
  const loadHead = async (productId: string): Promise<StockRecord | null> => {
    const doc = await stock.findOne({ _id: productId });
    if (doc) return rollForward(toStock(doc));
    const first = await movementAt(productId, 1);
    return first ? rollForward(stockFromMovement(first)) : null;
  };

  /** Writes the projection; only from the product's serial section, so it never goes back. */
  const project = async (s: StockRecord): Promise<void> => {
    await stock.updateOne(
      { _id: s.productId },
      {
        $set: {
          onHand: s.onHand,
          reserved: s.reserved,
          available: s.available,
          version: s.version,
          updatedAt: s.updatedAt,
        },
      },
      { upsert: true },
    );
  };

  const buildMovement = (
    q: QueuedMove,
    state: StockRecord,
    decision: { deltaOnHand: number; deltaReserved: number },
    next: Levels,
  ): MovementRecord => ({
    id: q.movementId,
    productId: q.request.productId,
    seq: state.version + 1,
    kind: q.request.kind,
    deltaOnHand: decision.deltaOnHand,
    deltaReserved: decision.deltaReserved,
    before: levels(state.onHand, state.reserved),
    after: next,
    reason: q.request.reason,
    actor: q.request.actor,
    orderId: q.request.orderId ?? '',
    eventId: q.request.eventId ?? '',
    idempotencyKey: q.request.idempotencyKey ?? '',
    at: clock(),
    outboxEventId: randomUUID(),
  });

  /**
   * Appends one batch of moves of one product: deterministic ids already in the ledger answer
   * as duplicates (one `$in` lookup), the rest are decided in queue order against the head and
   * appended with one ordered insert, then the projection is written once. A failed insert
   * means another process appended first (or wrote one of our deterministic ids): the head is
   * re-read and the rest decided again; that is the only retry, and it needs a second writer.
   */
  const writeBatch = async (productId: string, batch: QueuedMove[]): Promise<void> => {
    const ids = batch.filter((q) => q.request.movementId !== undefined).map((q) => q.movementId);
    const existing = ids.length === 0 ? [] : await movements.find({ _id: { $in: ids } }).toArray();
    const written = new Map(existing.map((d) => [d._id, toMovement(d)]));
    let todo: QueuedMove[] = [];
    const seen = new Set<string>();
    for (const q of batch) {
      const found = written.get(q.movementId);
      if (found) q.resolve({ outcome: 'duplicate', movement: found });
      else if (seen.has(q.movementId)) requeue(productId, [q]);
      else {
        seen.add(q.movementId);
        todo.push(q);
      }
    }
    if (todo.length === 0) return;
    const cached = heads.get(productId);
    let head = cached ? await rollForward(cached) : await loadHead(productId);
    if (!head) {
      for (const q of todo) q.resolve({ outcome: 'missing' });
      return;
    }
    while (todo.length > 0) {
      const planned: Array<{ q: QueuedMove; movement: MovementRecord }> = [];
      let state: StockRecord = head;
      for (const q of todo) {
        const decision = q.request.decide(state);
        const next =
          'refuse' in decision
            ? undefined
            : levels(state.onHand + decision.deltaOnHand, state.reserved + decision.deltaReserved);
        if (
          'refuse' in decision ||
          !next ||
          next.onHand < 0 ||
          next.reserved < 0 ||
          next.available < 0
        ) {
          // The head was checked against the ledger just before: a refusal is on the true head.
          q.resolve({
            outcome: 'refused',
            reason: 'refuse' in decision ? decision.refuse : 'negative stock',
            stock: state,
          });
          continue;
        }
        const movement = buildMovement(q, state, decision, next);
        planned.push({ q, movement });
        state = stockFromMovement(movement);
      }
      if (planned.length === 0) return;
      let applied = planned.length;
      try {
        await movements.insertMany(
          planned.map((p) => toMovementDoc(p.movement)),
          { ordered: true },
        );
      } catch (err) {
        applied = firstFailedInsert(err);
      }
      const done = planned.slice(0, applied);
      const last = done[done.length - 1];
      if (last) {
        head = stockFromMovement(last.movement);
        heads.set(productId, head);
        await project(head);
        for (const p of done) options.onMoved?.(p.movement);
        for (const p of done)
          p.q.resolve({
            outcome: 'applied',
            movement: p.movement,
            stock: stockFromMovement(p.movement),
          });
      }
      if (applied === planned.length) return;
      // Lost a version to another writer, or one of our deterministic ids was taken meanwhile.
      const failed = planned[applied];
      const taken = await movements.findOne({ _id: failed.q.movementId });
      const rest = planned.slice(applied + 1).map((p) => p.q);
      if (taken) {
        failed.q.resolve({ outcome: 'duplicate', movement: toMovement(taken) });
        todo = rest;
      } else {
        todo = [failed.q, ...rest];
      }
      head = await rollForward(head);
      heads.set(productId, head);
    }
  };

  const requeue = (productId: string, moves: QueuedMove[]): void => {
    const queue = queues.get(productId);
    if (queue) queue.unshift(...moves);
    else queues.set(productId, [...moves]);
  };

  /** Drains a product's queue, one batch per write, until it is empty. */
  const runWriter = async (productId: string): Promise<void> => {
    for (;;) {
      const queue = queues.get(productId);
      if (!queue || queue.length === 0) {
        queues.delete(productId);
        return;
      }
      const batch = queue.splice(0, maxBatch);
      try {
        await serial(productId, () => writeBatch(productId, batch));
      } catch (err) {
        heads.delete(productId);
        for (const q of batch) q.reject(err);
      }
    }
  };

  /**
   * Queues a move for its product's writer. Moves that arrive while a batch is being written
   * go together in the next one, so a hot product costs one write per batch, not per order.
   */
  const move = (request: MoveRequest): Promise<MoveResult> =>
    new Promise<MoveResult>((resolve, reject) => {
      const q: QueuedMove = {
        request,
        movementId: request.movementId ?? randomUUID(),
        resolve,
        reject,
      };
      const queue = queues.get(request.productId);
      if (queue) {
        queue.push(q);
        return;
      }
      queues.set(request.productId, [q]);
      void runWriter(request.productId);
    });

  return {
    // The projection rolled forward by point lookups, so a write not yet projected is served.
    getStock: loadHead,

    async getStocks(productIds) {
      if (productIds.length === 0) return [];
      const docs = await stock.find({ _id: { $in: [...productIds] } }).toArray();
      return docs.map(toStock);
    },

    move,

    async setInitialStock(productId, onHand, actor) {
      const id = `init:${productId}`;
      const movement: MovementRecord = {
        id,
        productId,
        seq: 1,
        kind: inventory.MovementKind.MOVEMENT_KIND_INITIAL,
        deltaOnHand: onHand,
        deltaReserved: 0,
        before: levels(0, 0),
        after: levels(onHand, 0),
        reason: 'initial stock',
        actor,
        orderId: '',
        eventId: '',
        idempotencyKey: '',
        at: clock(),
        outboxEventId: randomUUID(),
      };
      const created = await serial(productId, async () => {
        try {
          await movements.insertOne(toMovementDoc(movement));
        } catch (err) {
          if (!isDuplicateKeyError(err)) throw err;
          return false;
        }
        // Seq 1 is the first movement, so nothing newer can be projected yet in this process.
        if (!heads.has(productId)) await project(stockFromMovement(movement));
        options.onMoved?.(movement);
        return true;
      });
      if (created) return { stock: stockFromMovement(movement), created: true };
      const existing = await movements.findOne({ _id: id });
      if (!existing || existing.deltaOnHand !== onHand)
        throw inventoryErrors.STOCK_ALREADY_EXISTS();
      const state = await this.getStock(productId);
      if (!state) throw inventoryErrors.STOCK_NOT_FOUND();
      return { stock: state, created: false };
    },

    async findMovement(id) {
      const doc = await movements.findOne({ _id: id });
      return doc ? toMovement(doc) : null;
    },

    async listMovements({ productId, orderId, beforeSeq, limit }) {
      const filter: Record<string, unknown> = { productId };
      if (orderId) filter['orderId'] = orderId;
      if (beforeSeq !== undefined) filter['seq'] = { $lt: beforeSeq };
      const docs = await movements.find(filter).sort({ seq: -1 }).limit(limit).toArray();
      return docs.map(toMovement);
    },

    async movementsById(ids) {
      if (ids.length === 0) return [];
      const docs = await movements.find({ _id: { $in: [...ids] } }).toArray();
      return docs.map(toMovement);
    },

    async getReservation(orderId) {
      const doc = await reservations.findOne({ _id: orderId });
      return doc ? toReservation(doc) : null;
    },

    async recordReservation(record) {
      const { orderId, ...rest } = record;
      try {
        await reservations.insertOne({ _id: orderId, ...rest });
        return record;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
      const winner = await reservations.findOne({ _id: orderId });
      if (!winner) throw new Error(`reservation ${orderId} vanished after a duplicate key`);
      return toReservation(winner);
    },

    async setReservationStatus(orderId, status) {
      await reservations.updateOne({ _id: orderId }, { $set: { status, updatedAt: clock() } });
    },

    async isProcessed(eventId) {
      // findOne, not countDocuments: the local store answers a count by scanning.
      return (await processed.findOne({ _id: eventId }, { projection: { _id: 1 } })) !== null;
    },

    async markProcessed(eventId, eventType) {
      try {
        await processed.insertOne({ _id: eventId, eventType, at: clock() });
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
    },

    async pendingOutbox(before, limit) {
      const docs = await movements
        .find({ pending: true, at: { $lt: before } })
        .sort({ at: 1 })
        .limit(limit)
        .toArray();
      return docs.map(toMovement);
    },

    async markPublished(movementIds) {
      if (movementIds.length === 0) return;
      await movements.updateMany({ _id: { $in: [...movementIds] } }, { $unset: { pending: '' } });
    },
  };
}
