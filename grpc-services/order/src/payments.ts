import type { common } from '@shop/proto';

/** What the order service asks a payment provider to authorize. */
export interface AuthorizeRequest {
  orderId: string;
  customerId: string;
  amount: common.Money;
  /** Provider token of the customer's payment method. Never logged. */
  paymentMethodToken: string;
}

/** Outcome of an authorization or capture the provider answered. Faults are thrown instead. */
export type PaymentOutcome =
  | { outcome: 'approved'; intentId: string }
  | { outcome: 'declined'; intentId: string; code: string; message: string };

/**
 * The provider could not give an answer (timeout, network error, provider error). Whether money
 * moved is unknown, so callers retry with the same idempotency keys and give up after a bounded
 * number of attempts.
 */
export class PaymentUnavailableError extends Error {
  constructor(
    readonly code: 'timeout' | 'provider_error',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PaymentUnavailableError';
  }
}

/**
 * A payment provider. Every call is idempotent per order (adapters derive idempotency keys from
 * the order id), so a retry after a timeout never charges twice.
 */
export interface PaymentProvider {
  /** Short name recorded on the order, e.g. "stripe". */
  readonly name: string;
  /** Holds the amount on the payment method without taking it. */
  authorize(request: AuthorizeRequest): Promise<PaymentOutcome>;
  /** Takes the held amount. */
  capture(intentId: string, orderId: string): Promise<PaymentOutcome>;
  /** Releases a hold that was never captured. */
  void(intentId: string, orderId: string): Promise<void>;
  /** Returns a captured amount. */
  refund(intentId: string, orderId: string): Promise<void>;
}

/** Card tokens with a fixed behaviour in {@link createDeterministicPaymentProvider}. */
export const TEST_TOKENS = {
  /** Declined with `card_declined`. */
  decline: 'tok_decline',
  /** Never answers within the provider timeout. */
  timeout: 'tok_timeout',
  /** Authorizes, then the capture is declined (e.g. the hold expired). */
  captureDecline: 'tok_capture_decline',
} as const;

/** A call the deterministic provider received, for tests to inspect. */
export interface RecordedPaymentCall {
  readonly op: 'authorize' | 'capture' | 'void' | 'refund';
  readonly orderId: string;
  readonly intentId: string;
}

/** The deterministic provider, with the calls it has received. */
export interface DeterministicPaymentProvider extends PaymentProvider {
  readonly calls: readonly RecordedPaymentCall[];
}

/**
 * A provider for tests and local runs whose behaviour depends only on the payment method token
 * ({@link TEST_TOKENS}); any other token is approved. Like a real provider it is idempotent per
 * order: authorizing an order twice returns the same intent.
 */
export function createDeterministicPaymentProvider(
  options: { timeoutMs?: number } = {},
): DeterministicPaymentProvider {
  const timeoutMs = options.timeoutMs ?? 50;
  const calls: RecordedPaymentCall[] = [];
  const tokenByIntent = new Map<string, string>();
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  return {
    name: 'fake',
    calls,
    async authorize(request) {
      const intentId = `fake_pi_${request.orderId}`;
      calls.push({ op: 'authorize', orderId: request.orderId, intentId });
      if (request.paymentMethodToken === TEST_TOKENS.timeout) {
        await sleep(timeoutMs);
        throw new PaymentUnavailableError('timeout', `no answer within ${timeoutMs} ms`);
      }
      if (request.paymentMethodToken === TEST_TOKENS.decline) {
        return {
          outcome: 'declined',
          intentId,
          code: 'card_declined',
          message: 'Your card was declined.',
        };
      }
      tokenByIntent.set(intentId, request.paymentMethodToken);
      return { outcome: 'approved', intentId };
    },
    capture(intentId, orderId) {
      calls.push({ op: 'capture', orderId, intentId });
      if (tokenByIntent.get(intentId) === TEST_TOKENS.captureDecline) {
        return Promise.resolve({
          outcome: 'declined',
          intentId,
          code: 'capture_declined',
          message: 'The authorization could not be captured.',
        });
      }
      return Promise.resolve({ outcome: 'approved', intentId });
    },
    void(intentId, orderId) {
      calls.push({ op: 'void', orderId, intentId });
      return Promise.resolve();
    },
    refund(intentId, orderId) {
      calls.push({ op: 'refund', orderId, intentId });
      return Promise.resolve();
    },
  };
}
