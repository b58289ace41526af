import type { Logger } from '@shop/platform';
import type { inventoryEvents } from '@shop/proto';
import { common, order, orderEvents } from '@shop/proto';
import { randomUUID } from 'node:crypto';
import { errors } from './errors';
import { outboxEntry, transitionEvents } from './outbox';
import { PaymentUnavailableError, type PaymentProvider } from './payments';
import { checkTransition } from './state-machine';
import {
  createKeyedMutex,
  type NewOrderDoc,
  type OrderDoc,
  type OrderStore,
  type PaymentDoc,
  type StatusChangeDoc,
} from './store';

const S = order.OrderStatus;
const R = order.CancellationReason;
const P = order.PaymentStatus;

/** Source of the current time; tests pass a controllable one. */
export interface Clock {
  now(): Date;
}

/** The system clock. */
export const systemClock: Clock = { now: () => new Date() };

/** Who made a change, as recorded in the status history. */
export type Actor = StatusChangeDoc['actor'];

/** The order service itself, as the actor of automatic changes. */
export const SYSTEM_ACTOR = (job: string): Actor => ({
  type: common.ActorType.ACTOR_TYPE_SYSTEM,
  id: job,
});

/** A validated, priced order to store. */
export interface NewOrder {
  customerId: string;
  customerEmail: string;
  idempotencyKey: string;
  requestHash: string;
  lines: order.OrderLine[];
  total: common.Money;
  shippingAddress: common.PostalAddress;
  paymentMethodToken: string;
  paymentProvider: string;
  actor: Actor;
}

/** The event's order is unknown here (yet); retried, then dead-lettered for replay. */
export class OrderNotFoundError extends Error {
  constructor(orderId: string) {
    super(`order ${orderId} not found`);
    this.name = 'OrderNotFoundError';
  }
}

/** A payment attempt failed for a technical reason and will be retried by the consumer. */
export class PaymentRetryError extends Error {
  constructor(orderId: string, attempts: number, options?: { cause?: unknown }) {
    super(`payment of order ${orderId} failed (attempt ${attempts}); retrying`, options);
    this.name = 'PaymentRetryError';
  }
}

/** The order lifecycle: every status change goes through here. */
export interface OrderWorkflow {
  place(input: NewOrder): Promise<{ order: OrderDoc; created: boolean }>;
  /**
   * Stock is reserved: authorize and capture the payment, then confirm (or cancel).
   * `reservedAt` (when the reservation was decided) times the pipeline's stages.
   */
  onStockReserved(orderId: string, causationId: string, reservedAt?: Date): Promise<void>;
  /** Stock could not be reserved: cancel as OUT_OF_STOCK. */
  onStockRejected(
    orderId: string,
    lines: readonly inventoryEvents.RejectedLine[],
    causationId: string,
  ): Promise<void>;
  /** Cancels on request, refunding or voiding the payment. INVALID_TRANSITION once shipped. */
  cancel(
    orderId: string,
    actor: Actor,
    reason: order.CancellationReason,
    note: string,
  ): Promise<OrderDoc>;
  /** Operator transitions after confirmation. */
  advance(
    orderId: string,
    to: order.OrderStatus.ORDER_STATUS_SHIPPED | order.OrderStatus.ORDER_STATUS_DELIVERED,
    actor: Actor,
    note: string,
  ): Promise<OrderDoc>;
  /** Cancels PENDING orders past their expiry as EXPIRED; returns how many. */
  expireDue(limit?: number): Promise<number>;
}

/** Dependencies of {@link createOrderWorkflow}. */
export interface OrderWorkflowDeps {
  store: OrderStore;
  payments: PaymentProvider;
  clock: Clock;
  logger: Logger;
  pendingTtlMs: number;
  /** Technical payment failures tolerated before the order is cancelled as PAYMENT_FAILED. */
  paymentMaxAttempts: number;
  /** Called with the document every write that stored events returned (the relay's fast path). */
  onEventsStored?: (doc: OrderDoc) => void;
  /** Called with the duration of each stage of an order that reached CONFIRMED. */
  onStage?: (stage: PipelineStage, seconds: number) => void;
  /** Called for every status change (metrics). */
  onTransition?: (to: order.OrderStatus, reason: order.CancellationReason) => void;
}

const MAX_CONFLICT_RETRIES = 10;

/** Stages of an order on its way to CONFIRMED, timed by the order service. */
export type PipelineStage =
  'placed_to_reserved' | 'reserved_to_paid' | 'paid_to_confirmed' | 'placed_to_confirmed';

/** Creates the order workflow over a store and a payment provider. */
export function createOrderWorkflow(deps: OrderWorkflowDeps): OrderWorkflow {
  const { store, payments, clock, logger } = deps;
  // One lifecycle operation per order at a time in this process: payments are not re-entered
  // concurrently for one order. Across processes the version check in the store decides.
  const exclusive = createKeyedMutex();

  /** Applies a validated status change; null when the order changed concurrently. */
  const transition = async (
    doc: OrderDoc,
    to: order.OrderStatus,
    fields: {
      actor: Actor;
      reason?: order.CancellationReason;
      note?: string;
      causationId?: string;
      payment?: PaymentDoc;
      refunded?: boolean;
    },
  ): Promise<OrderDoc | null> => {
    const reason = fields.reason ?? R.CANCELLATION_REASON_UNSPECIFIED;
    const check = checkTransition(doc.status, to, reason);
    if (!check.ok) throw errors.INVALID_TRANSITION({ message: check.why });
    const at = clock.now();
    const version = doc.version + 1;
    const note = fields.note ?? '';
    const updated = await store.update(doc, {
      set: {
        status: to,
        cancellationReason: reason,
        expiresAt: null,
        updatedAt: at,
        ...(fields.payment ? { payment: fields.payment } : {}),
      },
      history: [{ status: to, cancellationReason: reason, note, actor: fields.actor, at }],
      events: transitionEvents(doc, {
        status: to,
        reason,
        note,
        version,
        at,
        ...(fields.causationId === undefined ? {} : { causationId: fields.causationId }),
        paymentIntentId: (fields.payment ?? doc.payment).intentId,
        refunded: fields.refunded ?? false,
      }),
    });
    if (updated) {
      deps.onEventsStored?.(updated);
      deps.onTransition?.(to, reason);
      logger.info(
        { order_id: doc._id, from: doc.status, to, reason, version },
        'order status changed',
      );
    }
    return updated;
  };

  /** Saves a payment change without a status change (no event). */
  const savePayment = (doc: OrderDoc, payment: PaymentDoc): Promise<OrderDoc | null> =>
    store.update(doc, { set: { payment, updatedAt: clock.now() } });

  const load = async (orderId: string): Promise<OrderDoc> => {
    const doc = await store.get(orderId);
    if (!doc) throw new OrderNotFoundError(orderId);
    return doc;
  };

  /** Retries `attempt` on version conflicts (it returns null for a conflict). */
  const untilApplied = async <T>(orderId: string, attempt: () => Promise<T | null>): Promise<T> => {
    for (let i = 0; i < MAX_CONFLICT_RETRIES; i += 1) {
      const result = await attempt();
      if (result !== null) return result;
    }
    throw errors.CONCURRENT_UPDATE({ metadata: { order_id: orderId } });
  };

  /** Returns money we took or held in this attempt when the order went away meanwhile. */
  const compensate = async (
    doc: OrderDoc,
    held: { intentId: string; captured: boolean } | undefined,
  ): Promise<void> => {
    if (!held) return;
    logger.warn(
      { order_id: doc._id, status: doc.status, captured: held.captured },
      'order left PENDING while it was being paid; returning the payment',
    );
    if (held.captured) await payments.refund(held.intentId, doc._id);
    else await payments.void(held.intentId, doc._id);
  };

  /** Records a technical payment failure; cancels as PAYMENT_FAILED once attempts run out. */
  const paymentFailed = async (
    doc: OrderDoc,
    err: PaymentUnavailableError,
    causationId: string,
  ): Promise<'cancelled' | 'retry' | null> => {
    const attempts = doc.payment.failedAttempts + 1;
    const payment: PaymentDoc = { ...doc.payment, failedAttempts: attempts, failureCode: err.code };
    logger.warn(
      { order_id: doc._id, attempts, code: err.code, err },
      'payment provider did not answer',
    );
    if (attempts < deps.paymentMaxAttempts) {
      return (await savePayment(doc, payment)) ? 'retry' : null;
    }
    if (doc.payment.status === P.PAYMENT_STATUS_AUTHORIZED) {
      await payments.void(doc.payment.intentId, doc._id).catch((voidErr: unknown) => {
        logger.warn({ order_id: doc._id, err: voidErr }, 'could not void the authorization');
      });
    }
    const updated = await transition(doc, S.ORDER_STATUS_CANCELLED, {
      actor: SYSTEM_ACTOR('payments'),
      reason: R.CANCELLATION_REASON_PAYMENT_FAILED,
      note: `The payment could not be completed (${err.code}).`,
      causationId,
      payment: { ...payment, status: P.PAYMENT_STATUS_FAILED },
    });
    return updated ? 'cancelled' : null;
  };

  const timeStages = (doc: OrderDoc, reservedAt: Date | undefined, paidAt: Date, at: Date) => {
    if (!deps.onStage) return;
    const seconds = (from: Date, to: Date) => Math.max(0, to.getTime() - from.getTime()) / 1000;
    deps.onStage('placed_to_confirmed', seconds(doc.createdAt, at));
    deps.onStage('paid_to_confirmed', seconds(paidAt, at));
    if (reservedAt) {
      deps.onStage('placed_to_reserved', seconds(doc.createdAt, reservedAt));
      deps.onStage('reserved_to_paid', seconds(reservedAt, paidAt));
    }
  };

  const payAndConfirm = async (
    orderId: string,
    causationId: string,
    reservedAt: Date | undefined,
  ): Promise<void> => {
    let held: { intentId: string; captured: boolean } | undefined;
    for (let i = 0; i < MAX_CONFLICT_RETRIES; i += 1) {
      let doc = await load(orderId);
      if (doc.status !== S.ORDER_STATUS_PENDING) {
        // Duplicate delivery, or cancelled/expired meanwhile (the cancellation released stock).
        const recorded =
          doc.payment.intentId === held?.intentId &&
          doc.payment.status !== P.PAYMENT_STATUS_PENDING;
        await compensate(doc, recorded ? undefined : held);
        return;
      }
      if (doc.payment.status !== P.PAYMENT_STATUS_AUTHORIZED) {
        let outcome;
        try {
          outcome = await payments.authorize({
            orderId,
            customerId: doc.customerId,
            amount: doc.total,
            paymentMethodToken: doc.paymentMethodToken,
          });
        } catch (err) {
          if (!(err instanceof PaymentUnavailableError)) throw err;
          const next = await paymentFailed(doc, err, causationId);
          if (next === 'retry')
            throw new PaymentRetryError(orderId, doc.payment.failedAttempts + 1);
          if (next === 'cancelled') return;
          continue;
        }
        if (outcome.outcome === 'declined') {
          const cancelled = await transition(doc, S.ORDER_STATUS_CANCELLED, {
            actor: SYSTEM_ACTOR('payments'),
            reason: R.CANCELLATION_REASON_PAYMENT_DECLINED,
            note: outcome.message,
            causationId,
            payment: {
              ...doc.payment,
              intentId: outcome.intentId,
              status: P.PAYMENT_STATUS_DECLINED,
              failureCode: outcome.code,
            },
          });
          if (cancelled) return;
          continue;
        }
        held = { intentId: outcome.intentId, captured: false };
        const saved = await savePayment(doc, {
          ...doc.payment,
          intentId: outcome.intentId,
          status: P.PAYMENT_STATUS_AUTHORIZED,
        });
        if (!saved) continue;
        doc = saved;
      }

      let captured;
      try {
        captured = await payments.capture(doc.payment.intentId, orderId);
      } catch (err) {
        if (!(err instanceof PaymentUnavailableError)) throw err;
        const next = await paymentFailed(doc, err, causationId);
        if (next === 'retry') throw new PaymentRetryError(orderId, doc.payment.failedAttempts + 1);
        if (next === 'cancelled') return;
        continue;
      }
      if (captured.outcome === 'declined') {
        await payments.void(doc.payment.intentId, orderId).catch(() => undefined);
        const cancelled = await transition(doc, S.ORDER_STATUS_CANCELLED, {
          actor: SYSTEM_ACTOR('payments'),
          reason: R.CANCELLATION_REASON_PAYMENT_DECLINED,
          note: captured.message,
          causationId,
          payment: {
            ...doc.payment,
            status: P.PAYMENT_STATUS_DECLINED,
            failureCode: captured.code,
          },
        });
        if (cancelled) return;
        continue;
      }
      held = { intentId: doc.payment.intentId, captured: true };
      const paidAt = clock.now();
      const confirmed = await transition(doc, S.ORDER_STATUS_CONFIRMED, {
        actor: SYSTEM_ACTOR('payments'),
        causationId,
        payment: { ...doc.payment, status: P.PAYMENT_STATUS_CAPTURED, failureCode: '' },
      });
      if (confirmed) {
        timeStages(doc, reservedAt, paidAt, confirmed.updatedAt);
        return;
      }
    }
    throw errors.CONCURRENT_UPDATE({ metadata: { order_id: orderId } });
  };

  const describeRejection = (doc: OrderDoc, lines: readonly inventoryEvents.RejectedLine[]) => {
    const names = new Map(doc.lines.map((l) => [l.productId, l.productName || l.sku]));
    const parts = lines.map(
      (l) =>
        `${names.get(l.productId) ?? l.productId} (asked ${l.requested}, ${l.available} available)`,
    );
    return parts.length > 0 ? `Out of stock: ${parts.join(', ')}.` : 'Out of stock.';
  };

  return {
    async place(input) {
      const now = clock.now();
      const id = randomUUID();
      const created = outboxEntry(
        orderEvents.OrderCreated,
        orderEvents.OrderCreated.fromPartial({
          orderId: id,
          customerId: input.customerId,
          lines: input.lines,
          total: input.total,
          idempotencyKey: input.idempotencyKey,
          customerEmail: input.customerEmail,
        }),
        { aggregateVersion: 1, occurredAt: now },
      );
      const doc: NewOrderDoc = {
        _id: id,
        customerId: input.customerId,
        customerEmail: input.customerEmail,
        idempotencyKey: input.idempotencyKey,
        requestHash: input.requestHash,
        status: S.ORDER_STATUS_PENDING,
        cancellationReason: R.CANCELLATION_REASON_UNSPECIFIED,
        lines: input.lines,
        total: input.total,
        currency: input.total.currency,
        shippingAddress: input.shippingAddress,
        paymentMethodToken: input.paymentMethodToken,
        payment: {
          provider: input.paymentProvider,
          intentId: '',
          status: P.PAYMENT_STATUS_PENDING,
          amount: input.total,
          failureCode: '',
          failedAttempts: 0,
        },
        statusHistory: [
          {
            status: S.ORDER_STATUS_PENDING,
            cancellationReason: R.CANCELLATION_REASON_UNSPECIFIED,
            note: '',
            actor: input.actor,
            at: now,
          },
        ],
        createdAt: now,
        updatedAt: now,
        expiresAt: new Date(now.getTime() + deps.pendingTtlMs),
        version: 1,
        outbox: [
          created,
          ...transitionEvents(
            {
              _id: id,
              customerId: input.customerId,
              customerEmail: input.customerEmail,
              status: S.ORDER_STATUS_UNSPECIFIED,
              lines: input.lines,
              total: input.total,
            },
            { status: S.ORDER_STATUS_PENDING, reason: 0, note: '', version: 1, at: now },
          ),
        ],
      };
      const result = await store.insert(doc);
      if (result.created) {
        deps.onEventsStored?.(result.order);
        deps.onTransition?.(S.ORDER_STATUS_PENDING, R.CANCELLATION_REASON_UNSPECIFIED);
      }
      return result;
    },

    onStockReserved: (orderId, causationId, reservedAt) =>
      exclusive(orderId, () => payAndConfirm(orderId, causationId, reservedAt)),

    onStockRejected: (orderId, lines, causationId) =>
      exclusive(orderId, () =>
        untilApplied(orderId, async () => {
          const doc = await load(orderId);
          if (doc.status !== S.ORDER_STATUS_PENDING) return true;
          return transition(doc, S.ORDER_STATUS_CANCELLED, {
            actor: SYSTEM_ACTOR('inventory'),
            reason: R.CANCELLATION_REASON_OUT_OF_STOCK,
            note: describeRejection(doc, lines),
            causationId,
          });
        }),
      ).then(() => undefined),

    cancel: (orderId, actor, reason, note) =>
      exclusive(orderId, () =>
        untilApplied(orderId, async () => {
          const doc = await store.get(orderId);
          if (!doc) throw errors.ORDER_NOT_FOUND();
          const check = checkTransition(doc.status, S.ORDER_STATUS_CANCELLED, reason);
          if (!check.ok) throw errors.INVALID_TRANSITION({ message: check.why });
          let payment = doc.payment;
          let refunded = false;
          try {
            if (payment.status === P.PAYMENT_STATUS_CAPTURED) {
              await payments.refund(payment.intentId, orderId);
              payment = { ...payment, status: P.PAYMENT_STATUS_REFUNDED };
              refunded = true;
            } else if (payment.status === P.PAYMENT_STATUS_AUTHORIZED) {
              await payments.void(payment.intentId, orderId);
              payment = { ...payment, status: P.PAYMENT_STATUS_VOIDED };
            }
          } catch (err) {
            if (err instanceof PaymentUnavailableError) {
              throw errors.PAYMENT_UNAVAILABLE({ cause: err });
            }
            throw err;
          }
          return transition(doc, S.ORDER_STATUS_CANCELLED, {
            actor,
            reason,
            note,
            payment,
            refunded,
          });
        }),
      ),

    advance: (orderId, to, actor, note) =>
      exclusive(orderId, () =>
        untilApplied(orderId, async () => {
          const doc = await store.get(orderId);
          if (!doc) throw errors.ORDER_NOT_FOUND();
          return transition(doc, to, { actor, note });
        }),
      ),

    async expireDue(limit = 100) {
      const due = await store.findExpired(clock.now(), limit);
      let expired = 0;
      for (const candidate of due) {
        try {
          const done = await exclusive(candidate._id, () =>
            untilApplied(candidate._id, async () => {
              const doc = await load(candidate._id);
              if (
                doc.status !== S.ORDER_STATUS_PENDING ||
                !doc.expiresAt ||
                doc.expiresAt > clock.now()
              ) {
                return false;
              }
              let payment = doc.payment;
              if (payment.status === P.PAYMENT_STATUS_AUTHORIZED) {
                await payments.void(payment.intentId, doc._id);
                payment = { ...payment, status: P.PAYMENT_STATUS_VOIDED };
              }
              const updated = await transition(doc, S.ORDER_STATUS_CANCELLED, {
                actor: SYSTEM_ACTOR('expiry-sweeper'),
                reason: R.CANCELLATION_REASON_EXPIRED,
                note: 'The order was not completed in time.',
                payment,
              });
              return updated ? true : null;
            }),
          );
          if (done) expired += 1;
        } catch (err) {
          logger.warn({ err, order_id: candidate._id }, 'could not expire order; will retry');
        }
      }
      return expired;
    },
  };
}
