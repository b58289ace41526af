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
 *   each version; losers re-read the ledger head and retry. A movement is computed from the
 *   levels of the movement before it, so the ledger is a serial history that never goes
 *   negative, whatever the number of processes or consumer instances.
 * - The `stock` collection is a projection of the ledger head for fast reads. It is written
 *   only with complete levels copied from a movement, so a reader never sees levels that did
 *   not exist. A racing write can briefly leave it one version behind; every writer re-checks
 *   the head after its write and rolls the projection forward, so it converges to the head.
 *   Decisions never trust it blindly: a refusal is confirmed against the ledger head first.
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
import type { Collection, Db } from 'mongodb';
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
  /** Every movement recorded for an order, any product. */
  movementsOfOrder(orderId: string): Promise<MovementRecord[]>;
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
  /** Attempts at appending one movement before giving up with STOCK_CONTENDED. */
  maxAttempts?: number;
  clock?: () => Date;
  /**
   * Told of every movement written, once the stock projection reflects it, so its
   * StockLevelChanged can be published at once (the outbox relay's fast path).
   */
  onMoved?: (movement: MovementRecord) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Builds the store over one service database. */
export function createInventoryStore(db: Db, options: InventoryStoreOptions = {}): InventoryStore {
  const stock: Collection<StockDoc> = db.collection(COLLECTIONS.stock);
  const movements: Collection<MovementDoc> = db.collection(COLLECTIONS.movements);
  const reservations: Collection<ReservationDoc> = db.collection(COLLECTIONS.reservations);
  const processed: Collection<ProcessedDoc> = db.collection(COLLECTIONS.processed);
  const maxAttempts = options.maxAttempts ?? 2_000;
  const clock = options.clock ?? (() => new Date());

  /** The newest movement of a product with a sequence above `after`, if any. */
  const headAfter = async (productId: string, after: number): Promise<MovementRecord | null> => {
    const [doc] = await movements
      .find({ productId, seq: { $gt: after } })
      .sort({ seq: -1 })
      .limit(1)
      .toArray();
    return doc ? toMovement(doc) : null;
  };

  /** The projection if present, else the ledger head (the projection may not be written yet). */
  const current = async (productId: string): Promise<StockRecord | null> => {
    const doc = await stock.findOne({ _id: productId });
    if (doc) return toStock(doc);
    const head = await headAfter(productId, 0);
    return head ? stockFromMovement(head) : null;
  };

  /**
   * Copies `known` (or a newer head) into the projection until the projection matches the
   * ledger head as seen after our own write, so the last writer always leaves it current.
   */
  const syncProjection = async (known: MovementRecord): Promise<void> => {
    let target: MovementRecord | null = known;
    for (let i = 0; i < 20 && target; i += 1) {
      const next = stockFromMovement(target);
      try {
        await stock.updateOne(
          { _id: next.productId, version: { $lt: next.version } },
          {
            $set: {
              onHand: next.onHand,
              reserved: next.reserved,
              available: next.available,
              version: next.version,
              updatedAt: next.updatedAt,
            },
          },
          { upsert: true },
        );
      } catch (err) {
        // The upsert found a document at this version or newer (or lost an insert race).
        if (!isDuplicateKeyError(err)) throw err;
      }
      const written = await stock.findOne({ _id: next.productId });
      target = await headAfter(next.productId, written?.version ?? 0);
    }
  };

  const move = async (request: MoveRequest): Promise<MoveResult> => {
    const movementId = request.movementId ?? randomUUID();
    if (request.movementId !== undefined) {
      const existing = await movements.findOne({ _id: movementId });
      if (existing) return { outcome: 'duplicate', movement: toMovement(existing) };
    }
    let state = await current(request.productId);
    if (!state) return { outcome: 'missing' };
    let delay = 1;
    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      const decision = request.decide(state);
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
        // Refuse only on the true head: a stale projection must not reject a valid change.
        const newer = await headAfter(request.productId, state.version);
        if (newer) {
          state = stockFromMovement(newer);
          continue;
        }
        return {
          outcome: 'refused',
          reason: 'refuse' in decision ? decision.refuse : 'negative stock',
          stock: state,
        };
      }
      const movement: MovementRecord = {
        id: movementId,
        productId: request.productId,
        seq: state.version + 1,
        kind: request.kind,
        deltaOnHand: decision.deltaOnHand,
        deltaReserved: decision.deltaReserved,
        before: levels(state.onHand, state.reserved),
        after: next,
        reason: request.reason,
        actor: request.actor,
        orderId: request.orderId ?? '',
        eventId: request.eventId ?? '',
        idempotencyKey: request.idempotencyKey ?? '',
        at: clock(),
        outboxEventId: randomUUID(),
      };
      try {
        await movements.insertOne(toMovementDoc(movement));
        await syncProjection(movement);
        options.onMoved?.(movement);
        return { outcome: 'applied', movement, stock: stockFromMovement(movement) };
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
      // Lost the race for this version, or the deterministic id was taken meanwhile.
      if (request.movementId !== undefined) {
        const existing = await movements.findOne({ _id: movementId });
        if (existing) return { outcome: 'duplicate', movement: toMovement(existing) };
      }
      const newer = await headAfter(request.productId, state.version);
      if (newer) state = stockFromMovement(newer);
      await sleep(Math.random() * delay);
      delay = Math.min(delay * 2, 20);
    }
    throw inventoryErrors.STOCK_CONTENDED();
  };

  return {
    async getStock(productId) {
      const state = await current(productId);
      if (!state) return null;
      // Cheap check against the ledger, so a projection left behind by a race is not served.
      const newer = await headAfter(productId, state.version);
      return newer ? stockFromMovement(newer) : state;
    },

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
      try {
        await movements.insertOne(toMovementDoc(movement));
        await syncProjection(movement);
        options.onMoved?.(movement);
        return { stock: stockFromMovement(movement), created: true };
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
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

    async movementsOfOrder(orderId) {
      const docs = await movements.find({ orderId }).toArray();
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
      return (await processed.countDocuments({ _id: eventId }, { limit: 1 })) > 0;
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
