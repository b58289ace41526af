import {
  Validator,
  checkPageSize,
  createdAtTokens,
  isAdmin,
  readPage,
  signedInCaller,
  withPolicy,
  type AsyncServiceImplementation,
  type CreatedPosition,
  type SignedInCaller,
} from '@shop/platform';
import { common, order } from '@shop/proto';
import { createHash } from 'node:crypto';
import { errors } from './errors';
import { orderPolicy } from './policy';
import type { ProductCatalog } from './products';
import type { OrderDoc, OrderStore } from './store';
import type { Actor, OrderWorkflow } from './workflow';

const S = order.OrderStatus;
const R = order.CancellationReason;

/** Limits of a PlaceOrder request. */
export const PLACE_ORDER_LIMITS = {
  maxLines: 100,
  maxQuantity: 1_000,
  maxIdempotencyKeyLength: 128,
  maxTokenLength: 255,
} as const;

const BATCH_MAX = 500;

/** Dependencies of {@link createOrderService}. */
export interface OrderServiceDeps {
  store: OrderStore;
  workflow: OrderWorkflow;
  products: ProductCatalog;
  /** Name of the configured payment provider, recorded on each order. */
  paymentProvider: string;
}

const actorOf = (caller: SignedInCaller): Actor => ({
  type:
    caller.kind === 'service'
      ? common.ActorType.ACTOR_TYPE_SERVICE
      : common.ActorType.ACTOR_TYPE_USER,
  id: caller.subject,
});

/** The public view of a stored order (no payment token, no outbox). */
export function toOrderMessage(doc: OrderDoc): order.Order {
  return order.Order.fromPartial({
    id: doc._id,
    customerId: doc.customerId,
    status: doc.status,
    cancellationReason: doc.cancellationReason,
    lines: doc.lines,
    total: doc.total,
    currency: doc.currency,
    shippingAddress: doc.shippingAddress,
    statusHistory: doc.statusHistory.map((h) => ({
      status: h.status,
      cancellationReason: h.cancellationReason,
      note: h.note,
      actor: h.actor,
      at: h.at,
    })),
    payment: {
      provider: doc.payment.provider,
      intentId: doc.payment.intentId,
      status: doc.payment.status,
      amount: doc.payment.amount,
      failureCode: doc.payment.failureCode,
    },
    idempotencyKey: doc.idempotencyKey,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
    ...(doc.expiresAt ? { expiresAt: doc.expiresAt } : {}),
    version: doc.version,
  });
}

/** Validates a PlaceOrder request, throwing INVALID_ARGUMENT with every field violation. */
export function validatePlaceOrder(request: order.PlaceOrderRequest): void {
  const v = new Validator();
  const L = PLACE_ORDER_LIMITS;
  v.check(request.lines.length > 0, 'lines', 'at least one line is required');
  v.check(request.lines.length <= L.maxLines, 'lines', `at most ${L.maxLines} lines`);
  const seen = new Set<string>();
  request.lines.forEach((line, i) => {
    if (v.check(line.productId.trim() !== '', `lines[${i}].product_id`, 'is required')) {
      v.check(!seen.has(line.productId), `lines[${i}].product_id`, 'appears in another line');
      seen.add(line.productId);
    }
    v.check(
      Number.isInteger(line.quantity) && line.quantity >= 1 && line.quantity <= L.maxQuantity,
      `lines[${i}].quantity`,
      `must be between 1 and ${L.maxQuantity}`,
    );
  });
  const a = request.shippingAddress;
  if (v.check(a !== undefined, 'shipping_address', 'is required') && a) {
    v.check(a.recipientName.trim() !== '', 'shipping_address.recipient_name', 'is required');
    v.check(a.line1.trim() !== '', 'shipping_address.line1', 'is required');
    v.check(a.city.trim() !== '', 'shipping_address.city', 'is required');
    v.check(a.postalCode.trim() !== '', 'shipping_address.postal_code', 'is required');
    v.check(
      /^[A-Z]{2}$/.test(a.countryCode),
      'shipping_address.country_code',
      'must be an ISO 3166-1 alpha-2 code in upper case',
    );
    v.check(
      a.phone === '' || /^\+[1-9]\d{6,14}$/.test(a.phone),
      'shipping_address.phone',
      'must be in E.164 format',
    );
  }
  v.check(
    request.paymentMethodToken.trim() !== '' &&
      request.paymentMethodToken.length <= L.maxTokenLength,
    'payment_method_token',
    'is required',
  );
  v.check(
    request.idempotencyKey.trim() !== '' &&
      request.idempotencyKey.length <= L.maxIdempotencyKeyLength,
    'idempotency_key',
    `is required, at most ${L.maxIdempotencyKeyLength} characters`,
  );
  v.throwIfInvalid();
}

/** Fingerprint of what was ordered, to refuse reusing a key for a different order. */
function requestHash(request: order.PlaceOrderRequest): string {
  const lines = [...request.lines]
    .map((l) => [l.productId, l.quantity])
    .sort((x, y) => String(x[0]).localeCompare(String(y[0])));
  return createHash('sha256')
    .update(JSON.stringify({ lines, address: request.shippingAddress }))
    .digest('base64url');
}

/** Pages continue after the last item's creation time and id. */
const pages = createdAtTokens();
const positionOf = (doc: OrderDoc): CreatedPosition => ({ createdAt: doc.createdAt, id: doc._id });

/**
 * The OrderService RPC handlers, guarded by {@link orderPolicy}. The policy is always enforced:
 * every handler acts for a signed-in caller.
 */
export function createOrderService(
  deps: OrderServiceDeps,
): AsyncServiceImplementation<typeof order.OrderServiceService> {
  return withPolicy(orderHandlers(deps), orderPolicy, true);
}

function orderHandlers(
  deps: OrderServiceDeps,
): AsyncServiceImplementation<typeof order.OrderServiceService> {
  const { store, workflow, products } = deps;

  /** Loads an order the caller may see; NOT_FOUND otherwise (no existence leak). */
  const visibleOrder = async (caller: SignedInCaller, id: string): Promise<OrderDoc> => {
    const v = new Validator();
    v.check(id.trim() !== '', 'id', 'is required');
    v.throwIfInvalid();
    const doc = await store.get(id);
    if (!doc || (doc.customerId !== caller.subject && !isAdmin(caller))) {
      throw errors.ORDER_NOT_FOUND();
    }
    return doc;
  };

  return {
    async placeOrder(request, ctx) {
      const caller = signedInCaller(ctx.caller);
      validatePlaceOrder(request);
      const hash = requestHash(request);
      const existing = await store.findByIdempotencyKey(caller.subject, request.idempotencyKey);
      if (existing) {
        if (existing.requestHash !== hash) throw errors.IDEMPOTENCY_KEY_REUSED();
        return { order: toOrderMessage(existing), replayed: true };
      }

      const found = await products.lookup(
        request.lines.map((l) => l.productId),
        caller,
      );
      const missing = request.lines.flatMap((line, i) => {
        const p = found.get(line.productId);
        return p && !p.deleted
          ? []
          : [{ field: `lines[${i}].product_id`, description: 'no such product' }];
      });
      if (missing.length > 0) throw errors.PRODUCT_NOT_FOUND({ fieldViolations: missing });
      const lines = request.lines.map((line) => {
        const p = found.get(line.productId)!;
        return order.OrderLine.fromPartial({
          productId: p.id,
          sku: p.sku,
          productName: p.name,
          quantity: line.quantity,
          unitPrice: p.price,
          lineTotal: { amount: p.price.amount * line.quantity, currency: p.price.currency },
        });
      });
      const currencies = new Set(lines.map((l) => l.unitPrice!.currency));
      if (currencies.size !== 1) throw errors.MIXED_CURRENCIES();
      const total = {
        amount: lines.reduce((sum, l) => sum + l.lineTotal!.amount, 0),
        currency: [...currencies][0],
      };

      const { order: doc, created } = await workflow.place({
        customerId: caller.subject,
        customerEmail: caller.email ?? '',
        idempotencyKey: request.idempotencyKey,
        requestHash: hash,
        lines,
        total,
        shippingAddress: common.PostalAddress.fromPartial(request.shippingAddress ?? {}),
        paymentMethodToken: request.paymentMethodToken,
        paymentProvider: deps.paymentProvider,
        actor: actorOf(caller),
      });
      if (!created && doc.requestHash !== hash) throw errors.IDEMPOTENCY_KEY_REUSED();
      ctx.logger.info(
        { order_id: doc._id, replayed: !created, total: doc.total },
        created ? 'order placed' : 'order replayed',
      );
      return { order: toOrderMessage(doc), replayed: !created };
    },

    async getOrder(request, ctx) {
      const caller = signedInCaller(ctx.caller);
      return { order: toOrderMessage(await visibleOrder(caller, request.id)) };
    },

    async batchGetOrders(request, ctx) {
      const caller = signedInCaller(ctx.caller);
      const v = new Validator();
      v.check(request.ids.length <= BATCH_MAX, 'ids', `at most ${BATCH_MAX} ids`);
      v.throwIfInvalid();
      const ids = [...new Set(request.ids)];
      const docs = await store.getMany(ids);
      const byId = new Map(
        docs
          .filter((d) => d.customerId === caller.subject || isAdmin(caller))
          .map((d) => [d._id, d]),
      );
      return {
        orders: ids.filter((id) => byId.has(id)).map((id) => toOrderMessage(byId.get(id)!)),
        notFoundIds: ids.filter((id) => !byId.has(id)),
      };
    },

    async listOrders(request, ctx) {
      const caller = signedInCaller(ctx.caller);
      const v = new Validator();
      checkPageSize(v, request.page);
      v.throwIfInvalid();
      const customerId = isAdmin(caller) ? request.customerId || undefined : caller.subject;
      const { items, nextPageToken } = await readPage(
        request.page,
        { tokens: pages, positionOf },
        (after, limit) =>
          store.list({
            ...(customerId === undefined ? {} : { customerId }),
            statuses: request.statuses,
            ...(after ? { after } : {}),
            limit,
          }),
      );
      return { orders: items.map(toOrderMessage), page: { nextPageToken } };
    },

    async cancelOrder(request, ctx) {
      const caller = signedInCaller(ctx.caller);
      const doc = await visibleOrder(caller, request.id);
      const reason =
        doc.customerId === caller.subject
          ? R.CANCELLATION_REASON_CUSTOMER_CANCELLED
          : R.CANCELLATION_REASON_OPERATOR_CANCELLED;
      const updated = await workflow.cancel(doc._id, actorOf(caller), reason, request.note);
      return { order: toOrderMessage(updated) };
    },

    async markOrderShipped(request, ctx) {
      const caller = signedInCaller(ctx.caller);
      const doc = await visibleOrder(caller, request.id);
      const note = request.trackingReference ? `Tracking: ${request.trackingReference}` : '';
      return {
        order: toOrderMessage(
          await workflow.advance(doc._id, S.ORDER_STATUS_SHIPPED, actorOf(caller), note),
        ),
      };
    },

    async markOrderDelivered(request, ctx) {
      const caller = signedInCaller(ctx.caller);
      const doc = await visibleOrder(caller, request.id);
      return {
        order: toOrderMessage(
          await workflow.advance(doc._id, S.ORDER_STATUS_DELIVERED, actorOf(caller), ''),
        ),
      };
    },
  };
}
