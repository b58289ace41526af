import { common, inventory } from '@shop/proto';
import { randomUUID } from 'node:crypto';
import type {
  ActorRecord,
  InventoryStore,
  MovementRecord,
  RejectedLineRecord,
  ReservationRecord,
} from './store';

/** One product and quantity of an order. */
export interface OrderLineInput {
  readonly productId: string;
  readonly quantity: number;
}

/** The outcome of reserving an order: every line, or none. */
export type ReservationOutcome =
  | { readonly kind: 'reserved'; readonly record: ReservationRecord; readonly replayed: boolean }
  | { readonly kind: 'rejected'; readonly record: ReservationRecord; readonly replayed: boolean }
  /** The order was cancelled before its creation was processed: nothing to reserve. */
  | { readonly kind: 'cancelled'; readonly record: ReservationRecord };

/** Lines released or committed for an order (empty when there was nothing to do). */
export interface SettlementOutcome {
  readonly lines: readonly OrderLineInput[];
  readonly movements: readonly MovementRecord[];
}

/** The reservation rules, over the store. */
export interface Reservations {
  /** Reserves every line of an order or none; safe to call again with the same order. */
  reserve(
    orderId: string,
    lines: readonly OrderLineInput[],
    eventId: string,
  ): Promise<ReservationOutcome>;
  /** Gives back whatever the order holds (cancellation, expiry, payment declined). Idempotent. */
  release(orderId: string, eventId: string, reason: string): Promise<SettlementOutcome>;
  /** Turns the order's reservation into a sale (on hand −n, reserved −n). Idempotent. */
  commit(orderId: string, eventId: string): Promise<SettlementOutcome>;
}

/** Merges lines of the same product and sorts by product id (a stable order for every writer). */
export function normaliseLines(lines: readonly OrderLineInput[]): OrderLineInput[] {
  const merged = new Map<string, number>();
  for (const line of lines)
    merged.set(line.productId, (merged.get(line.productId) ?? 0) + line.quantity);
  return [...merged.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([productId, quantity]) => ({ productId, quantity }));
}

const reserveId = (orderId: string, productId: string): string => `rsv:${orderId}:${productId}`;
/** One id for release and commit, so a line is settled once, one way or the other. */
const settleId = (orderId: string, productId: string): string => `end:${orderId}:${productId}`;

/** The actor recorded on movements caused by order events. */
export const ORDER_PIPELINE_ACTOR: ActorRecord = {
  type: common.ActorType.ACTOR_TYPE_SERVICE,
  id: 'inventory-service',
};

/**
 * Builds the reservation rules. All-or-none without transactions: lines are reserved one by one
 * (each a ledger movement with a deterministic id), the decision is recorded once per order, and
 * a rejected order's reserved lines are released by compensation. Every step is idempotent, so a
 * crash anywhere is repaired by redelivery, and two instances handling the same event converge.
 */
export function createReservations(deps: {
  store: InventoryStore;
  clock?: () => Date;
}): Reservations {
  const { store } = deps;
  const clock = deps.clock ?? (() => new Date());

  /** The RESERVATION movements of an order among these products (`_id` lookups). */
  const reservedLines = async (
    orderId: string,
    lines: readonly OrderLineInput[],
  ): Promise<MovementRecord[]> =>
    (await store.movementsById(lines.map((l) => reserveId(orderId, l.productId)))).filter(
      (m) => m.kind === inventory.MovementKind.MOVEMENT_KIND_RESERVATION,
    );

  /**
   * Settles every reserved line of the order (among `lines`) not yet released or committed, one
   * way: RELEASE gives the units back, COMMIT sells them. Products are settled in parallel.
   */
  const settle = async (
    orderId: string,
    lines: readonly OrderLineInput[],
    eventId: string,
    kind: 'release' | 'commit',
    reason: string,
    allReserved = false,
  ): Promise<SettlementOutcome> => {
    // A RESERVED order holds every one of its lines, so the ledger need not be read.
    const held = allReserved
      ? lines.map((l) => ({ productId: l.productId, deltaReserved: l.quantity }))
      : await reservedLines(orderId, lines);
    const results = await Promise.all(
      held.map((r) =>
        store.move({
          productId: r.productId,
          movementId: settleId(orderId, r.productId),
          kind:
            kind === 'release'
              ? inventory.MovementKind.MOVEMENT_KIND_RELEASE
              : inventory.MovementKind.MOVEMENT_KIND_COMMIT,
          reason,
          actor: ORDER_PIPELINE_ACTOR,
          orderId,
          eventId,
          decide: () => ({
            deltaOnHand: kind === 'release' ? 0 : -r.deltaReserved,
            deltaReserved: -r.deltaReserved,
          }),
        }),
      ),
    );
    const out: { lines: OrderLineInput[]; movements: MovementRecord[] } = {
      lines: [],
      movements: [],
    };
    results.forEach((result, i) => {
      if (result.outcome !== 'applied') return;
      out.lines.push({ productId: held[i].productId, quantity: held[i].deltaReserved });
      out.movements.push(result.movement);
    });
    return out;
  };

  const releaseHeld = (
    orderId: string,
    lines: readonly OrderLineInput[],
    eventId: string,
    reason: string,
  ): Promise<SettlementOutcome> => settle(orderId, lines, eventId, 'release', reason);

  return {
    async reserve(orderId, rawLines, eventId) {
      const existing = await store.getReservation(orderId);
      if (existing) {
        if (existing.status === 'CANCELLED') return { kind: 'cancelled', record: existing };
        if (existing.status === 'REJECTED')
          await releaseHeld(orderId, existing.lines, eventId, 'order rejected: compensation');
        return existing.status === 'REJECTED'
          ? { kind: 'rejected', record: existing, replayed: true }
          : { kind: 'reserved', record: existing, replayed: true };
      }
      const lines = normaliseLines(rawLines);
      const rejected: RejectedLineRecord[] = [];
      for (const line of lines) {
        if (rejected.length > 0) {
          // Already failing: report other short lines too, without reserving them.
          const s = await store.getStock(line.productId);
          const available = s?.available ?? 0;
          if (available < line.quantity)
            rejected.push({ ...line, requested: line.quantity, available });
          continue;
        }
        const result = await store.move({
          productId: line.productId,
          movementId: reserveId(orderId, line.productId),
          kind: inventory.MovementKind.MOVEMENT_KIND_RESERVATION,
          reason: 'reserved for order',
          actor: ORDER_PIPELINE_ACTOR,
          orderId,
          eventId,
          decide: (s) =>
            s.available >= line.quantity
              ? { deltaOnHand: 0, deltaReserved: line.quantity }
              : { refuse: 'insufficient stock' },
        });
        if (result.outcome === 'missing') {
          rejected.push({ productId: line.productId, requested: line.quantity, available: 0 });
        } else if (result.outcome === 'refused') {
          rejected.push({
            productId: line.productId,
            requested: line.quantity,
            available: result.stock.available,
          });
        }
      }
      const now = clock();
      const record = await store.recordReservation({
        orderId,
        status: rejected.length === 0 ? 'RESERVED' : 'REJECTED',
        lines,
        rejected,
        outcomeEventId: randomUUID(),
        createdAt: now,
        updatedAt: now,
      });
      if (record.status === 'CANCELLED') {
        await releaseHeld(orderId, lines, eventId, 'order cancelled before reservation');
        return { kind: 'cancelled', record };
      }
      if (record.status === 'REJECTED') {
        // Compensation: whichever writer decided, lines this attempt reserved go back.
        await releaseHeld(orderId, lines, eventId, 'order rejected: compensation');
        return { kind: 'rejected', record, replayed: false };
      }
      return { kind: 'reserved', record, replayed: false };
    },

    async release(orderId, eventId, reason) {
      let record = await store.getReservation(orderId);
      if (!record) {
        // Cancelled before its creation was processed: a tombstone stops a later reservation.
        // If a reservation was recorded meanwhile, the record returned is that one.
        const now = clock();
        const tombstone = await store.recordReservation({
          orderId,
          status: 'CANCELLED',
          lines: [],
          rejected: [],
          outcomeEventId: randomUUID(),
          createdAt: now,
          updatedAt: now,
        });
        record = tombstone.status === 'CANCELLED' ? null : tombstone;
      }
      const outcome = await releaseHeld(orderId, record?.lines ?? [], eventId, reason);
      if (record?.status === 'RESERVED') await store.setReservationStatus(orderId, 'RELEASED');
      return outcome;
    },

    async commit(orderId, eventId) {
      const record = await store.getReservation(orderId);
      const outcome = await settle(
        orderId,
        record?.lines ?? [],
        eventId,
        'commit',
        'sold: order confirmed',
        record?.status === 'RESERVED' || record?.status === 'COMMITTED',
      );
      if (record?.status === 'RESERVED') await store.setReservationStatus(orderId, 'COMMITTED');
      return outcome;
    },
  };
}
