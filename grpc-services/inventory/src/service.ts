import {
  Validator,
  checkPageSize,
  pageTokens,
  readPage,
  type AsyncServiceImplementation,
  type Caller,
} from '@shop/platform';
import { common, inventory } from '@shop/proto';
import { inventoryErrors } from './errors';
import type { ActorRecord, InventoryStore, MovementRecord, StockRecord } from './store';

/** Largest batch BatchGetStock accepts. */
export const MAX_BATCH_IDS = 500;
/** Largest single adjustment, a guard against typos (units). */
export const MAX_ADJUSTMENT = 1_000_000;
const MAX_ID_LENGTH = 128;
const MAX_REASON_LENGTH = 500;

/** Dependencies of {@link createInventoryService}. */
export interface InventoryServiceDeps {
  store: InventoryStore;
}

/** The actor a caller is recorded as in the ledger. */
export function actorOf(caller: Caller): ActorRecord {
  if (caller.kind === 'anonymous') return { type: common.ActorType.ACTOR_TYPE_UNSPECIFIED, id: '' };
  return {
    type:
      caller.kind === 'user'
        ? common.ActorType.ACTOR_TYPE_USER
        : common.ActorType.ACTOR_TYPE_SERVICE,
    id: caller.subject,
  };
}

const toStockMessage = (s: StockRecord): inventory.Stock => ({
  productId: s.productId,
  onHand: s.onHand,
  reserved: s.reserved,
  available: s.available,
  updatedAt: s.updatedAt,
  version: s.version,
});

const toMovementMessage = (m: MovementRecord): inventory.Movement => ({
  id: m.id,
  productId: m.productId,
  kind: m.kind,
  deltaOnHand: m.deltaOnHand,
  deltaReserved: m.deltaReserved,
  before: { ...m.before },
  after: { ...m.after },
  reason: m.reason,
  actor: { type: m.actor.type, id: m.actor.id },
  orderId: m.orderId,
  eventId: m.eventId,
  at: m.at,
});

const checkProductId = (v: Validator, id: string, field = 'product_id'): void => {
  if (v.check(id.length > 0, field, 'must not be empty')) {
    v.check(id.length <= MAX_ID_LENGTH, field, `must be at most ${MAX_ID_LENGTH} characters`);
  }
};

/** Movement pages continue below the sequence of the last movement returned. */
const movementPages = pageTokens((value) =>
  Number.isInteger(value) ? (value as number) : undefined,
);
/** A movement page token belongs to one product and order filter. */
const movementListing = (productId: string, orderId: string): string => `${productId}\n${orderId}`;

/** The InventoryService RPC handlers. */
export function createInventoryService(
  deps: InventoryServiceDeps,
): AsyncServiceImplementation<typeof inventory.InventoryServiceService> {
  const { store } = deps;

  return {
    async getStock(req) {
      const v = new Validator();
      checkProductId(v, req.productId);
      v.throwIfInvalid();
      const stock = await store.getStock(req.productId);
      if (!stock)
        throw inventoryErrors.STOCK_NOT_FOUND({ metadata: { product_id: req.productId } });
      return { stock: toStockMessage(stock) };
    },

    async batchGetStock(req) {
      const v = new Validator();
      v.check(req.productIds.length > 0, 'product_ids', 'must not be empty');
      v.check(
        req.productIds.length <= MAX_BATCH_IDS,
        'product_ids',
        `must have at most ${MAX_BATCH_IDS} ids`,
      );
      req.productIds.forEach((id, i) => checkProductId(v, id, `product_ids[${i}]`));
      v.throwIfInvalid();
      const ids = [...new Set(req.productIds)];
      const found = new Map((await store.getStocks(ids)).map((s) => [s.productId, s]));
      return {
        stocks: ids.flatMap((id) => {
          const s = found.get(id);
          return s ? [toStockMessage(s)] : [];
        }),
        notFoundProductIds: ids.filter((id) => !found.has(id)),
      };
    },

    async adjustStock(req, ctx) {
      const v = new Validator();
      checkProductId(v, req.productId);
      if (v.check(req.delta !== 0, 'delta', 'must not be zero')) {
        v.check(
          Math.abs(req.delta) <= MAX_ADJUSTMENT,
          'delta',
          `must be within ±${MAX_ADJUSTMENT}`,
        );
      }
      if (v.check(req.reason.trim().length > 0, 'reason', 'must not be empty')) {
        v.check(
          req.reason.length <= MAX_REASON_LENGTH,
          'reason',
          `must be at most ${MAX_REASON_LENGTH} characters`,
        );
      }
      v.check(
        req.idempotencyKey.length <= MAX_ID_LENGTH,
        'idempotency_key',
        `must be at most ${MAX_ID_LENGTH} characters`,
      );
      if (req.expectedVersion !== undefined) {
        v.check(req.expectedVersion >= 0, 'expected_version', 'must not be negative');
      }
      v.throwIfInvalid();

      const key = req.idempotencyKey;
      const result = await store.move({
        productId: req.productId,
        ...(key ? { movementId: `adj:${req.productId}:${key}`, idempotencyKey: key } : {}),
        kind: inventory.MovementKind.MOVEMENT_KIND_ADJUSTMENT,
        reason: req.reason.trim(),
        actor: actorOf(ctx.caller),
        decide: (s) => {
          if (req.expectedVersion !== undefined && s.version !== req.expectedVersion)
            return { refuse: 'stale' };
          if (s.onHand + req.delta < s.reserved) return { refuse: 'insufficient' };
          return { deltaOnHand: req.delta, deltaReserved: 0 };
        },
      });
      switch (result.outcome) {
        case 'missing':
          throw inventoryErrors.STOCK_NOT_FOUND({ metadata: { product_id: req.productId } });
        case 'refused':
          if (result.reason === 'stale') {
            throw inventoryErrors.STALE_VERSION({
              metadata: { current_version: String(result.stock.version) },
            });
          }
          throw inventoryErrors.INSUFFICIENT_STOCK({
            metadata: {
              on_hand: String(result.stock.onHand),
              reserved: String(result.stock.reserved),
            },
          });
        case 'duplicate': {
          if (
            result.movement.deltaOnHand !== req.delta ||
            result.movement.productId !== req.productId
          ) {
            throw inventoryErrors.IDEMPOTENCY_KEY_REUSED();
          }
          const stock = await store.getStock(req.productId);
          if (!stock) throw inventoryErrors.STOCK_NOT_FOUND();
          return { stock: toStockMessage(stock), movement: toMovementMessage(result.movement) };
        }
        case 'applied':
          ctx.logger.info(
            { product_id: req.productId, delta: req.delta, version: result.stock.version },
            'stock adjusted',
          );
          return {
            stock: toStockMessage(result.stock),
            movement: toMovementMessage(result.movement),
          };
      }
    },

    async setInitialStock(req, ctx) {
      const v = new Validator();
      checkProductId(v, req.productId);
      v.check(req.onHand >= 0, 'on_hand', 'must not be negative');
      v.check(req.onHand <= MAX_ADJUSTMENT * 1_000, 'on_hand', 'is too large');
      v.throwIfInvalid();
      const { stock } = await store.setInitialStock(req.productId, req.onHand, actorOf(ctx.caller));
      return { stock: toStockMessage(stock) };
    },

    async listMovements(req) {
      const v = new Validator();
      checkProductId(v, req.productId);
      v.check(
        req.orderId.length <= MAX_ID_LENGTH,
        'order_id',
        `must be at most ${MAX_ID_LENGTH} characters`,
      );
      checkPageSize(v, req.page);
      v.throwIfInvalid();
      const { items, nextPageToken } = await readPage(
        req.page,
        {
          tokens: movementPages,
          positionOf: (row: MovementRecord) => row.seq,
          listing: movementListing(req.productId, req.orderId),
        },
        (beforeSeq, limit) =>
          store.listMovements({
            productId: req.productId,
            ...(req.orderId ? { orderId: req.orderId } : {}),
            ...(beforeSeq !== undefined ? { beforeSeq } : {}),
            limit,
          }),
      );
      return { movements: items.map(toMovementMessage), page: { nextPageToken } };
    },
  };
}
