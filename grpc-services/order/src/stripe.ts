import Stripe from 'stripe';
import {
  PaymentUnavailableError,
  type AuthorizeRequest,
  type PaymentOutcome,
  type PaymentProvider,
} from './payments';

/** Options for {@link createStripePaymentProvider}. */
export interface StripeProviderOptions {
  apiKey: string;
  /** API base URL; https://api.stripe.com in production, stripe-mock locally. */
  apiBase: string;
  /** Deadline of one HTTP call. */
  timeoutMs: number;
}

/** Stripe error types whose outcome is unknown (the request may or may not have been applied). */
const UNKNOWN_OUTCOME = new Set([
  'StripeConnectionError',
  'StripeAPIError',
  'StripeRateLimitError',
  'StripeIdempotencyError',
]);

/** Translates an SDK error into a decline (the customer's problem) or an unavailability fault. */
function classify(err: unknown, intentId: string): PaymentOutcome {
  const e = err as { type?: string; code?: string; decline_code?: string; message?: string };
  if (e.type === 'StripeCardError' || e.type === 'StripeInvalidRequestError') {
    return {
      outcome: 'declined',
      intentId,
      code: e.decline_code ?? e.code ?? 'declined',
      message: e.message ?? 'The payment was declined',
    };
  }
  if (e.type !== undefined && UNKNOWN_OUTCOME.has(e.type)) {
    throw new PaymentUnavailableError('provider_error', `stripe: ${e.type}`, { cause: err });
  }
  // Authentication or permission errors are configuration faults: never a customer decline.
  throw new PaymentUnavailableError('provider_error', `stripe: ${e.type ?? 'unknown error'}`, {
    cause: err,
  });
}

/**
 * Payments through Stripe PaymentIntents with manual capture: authorize creates and confirms an
 * intent (`capture_method: manual`), capture takes it, void cancels it, refund refunds it. Each
 * call carries an idempotency key derived from the order, so retries never double-charge.
 */
export function createStripePaymentProvider(options: StripeProviderOptions): PaymentProvider {
  const base = new URL(options.apiBase);
  const stripe = new Stripe(options.apiKey, {
    host: base.hostname,
    port: base.port || (base.protocol === 'https:' ? 443 : 80),
    protocol: base.protocol.replace(':', '') as 'http' | 'https',
    timeout: options.timeoutMs,
    maxNetworkRetries: 1,
    telemetry: false,
  });

  return {
    name: 'stripe',
    async authorize(request: AuthorizeRequest) {
      try {
        const intent = await stripe.paymentIntents.create(
          {
            amount: request.amount.amount,
            currency: request.amount.currency.toLowerCase(),
            payment_method: request.paymentMethodToken,
            capture_method: 'manual',
            confirm: true,
            automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
            metadata: { order_id: request.orderId, customer_id: request.customerId },
          },
          { idempotencyKey: `order-${request.orderId}-authorize` },
        );
        if (intent.status === 'requires_capture' || intent.status === 'succeeded') {
          return { outcome: 'approved', intentId: intent.id };
        }
        return {
          outcome: 'declined',
          intentId: intent.id,
          code: intent.last_payment_error?.code ?? intent.status,
          message: intent.last_payment_error?.message ?? `payment intent is ${intent.status}`,
        };
      } catch (err) {
        return classify(err, '');
      }
    },
    async capture(intentId, orderId) {
      try {
        const intent = await stripe.paymentIntents.capture(
          intentId,
          {},
          { idempotencyKey: `order-${orderId}-capture` },
        );
        return intent.status === 'succeeded'
          ? { outcome: 'approved', intentId }
          : {
              outcome: 'declined',
              intentId,
              code: intent.status,
              message: `capture left the intent ${intent.status}`,
            };
      } catch (err) {
        return classify(err, intentId);
      }
    },
    async void(intentId, orderId) {
      try {
        await stripe.paymentIntents.cancel(
          intentId,
          {},
          { idempotencyKey: `order-${orderId}-void` },
        );
      } catch (err) {
        classify(err, intentId);
      }
    },
    async refund(intentId, orderId) {
      try {
        await stripe.refunds.create(
          { payment_intent: intentId },
          { idempotencyKey: `order-${orderId}-refund` },
        );
      } catch (err) {
        const outcome = classify(err, intentId);
        throw new PaymentUnavailableError('provider_error', `refund refused: ${outcome.outcome}`);
      }
    },
  };
}
