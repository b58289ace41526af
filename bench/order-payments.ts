// The order benchmarks' payment provider wrappers (type imports only, so the bench's order
// process can load this before its app).
import type { PaymentOutcome, PaymentProvider } from '@shop/order-service';

/**
 * stripe-mock is stateless: every PaymentIntent it returns has the canned status
 * `requires_payment_method`, which the adapter rightly reads as a decline. The bench keeps the
 * adapter's real HTTP round trips (so `payment` is what the SDK and the API cost) and reads that
 * one canned status as an approval; any other answer passes through unchanged.
 */
export function approveCannedIntents(stripe: PaymentProvider): PaymentProvider {
  const approve = (out: PaymentOutcome): PaymentOutcome =>
    out.outcome === 'declined' && out.code === 'requires_payment_method'
      ? { outcome: 'approved', intentId: out.intentId }
      : out;
  return {
    name: stripe.name,
    authorize: async (request) => approve(await stripe.authorize(request)),
    capture: async (intentId, orderId) => approve(await stripe.capture(intentId, orderId)),
    void: (intentId, orderId) => stripe.void(intentId, orderId),
    refund: (intentId, orderId) => stripe.refund(intentId, orderId),
  };
}

/** Payment calls timed per order (epoch ms). */
export interface PaymentTimes {
  authorizeStart?: number;
  captureEnd?: number;
}

/** Tells `captured` when each order's capture ended and when its first authorization started. */
export function timed(
  inner: PaymentProvider,
  captured: (orderId: string, times: PaymentTimes) => void,
): PaymentProvider {
  const started = new Map<string, number>();
  return {
    name: inner.name,
    authorize(request) {
      if (!started.has(request.orderId)) started.set(request.orderId, Date.now());
      return inner.authorize(request);
    },
    async capture(intentId, orderId) {
      const result = await inner.capture(intentId, orderId);
      captured(orderId, { authorizeStart: started.get(orderId), captureEnd: Date.now() });
      started.delete(orderId);
      return result;
    },
    void: (intentId, orderId) => inner.void(intentId, orderId),
    refund: (intentId, orderId) => inner.refund(intentId, orderId),
  };
}
