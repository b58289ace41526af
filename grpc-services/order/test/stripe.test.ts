import { testEnv } from '@shop/testing';
import { createStripePaymentProvider, PaymentUnavailableError } from '../src';

describe('Stripe payment provider against stripe-mock', () => {
  const provider = () =>
    createStripePaymentProvider({
      apiKey: 'sk_test_123',
      apiBase: testEnv().stripeApiBase,
      timeoutMs: 5_000,
    });

  it('authorizes with a manually captured, confirmed PaymentIntent, then captures it', async () => {
    const stripe = provider();
    const authorized = await stripe.authorize({
      orderId: 'order-1',
      customerId: 'alice',
      amount: { amount: 4_297, currency: 'EUR' },
      paymentMethodToken: 'pm_card_visa',
    });
    // stripe-mock answers with canned objects: it proves the request shape the SDK sends.
    expect(authorized.intentId).toMatch(/^pi_/);
    expect(['approved', 'declined']).toContain(authorized.outcome);
    const captured = await stripe.capture(authorized.intentId, 'order-1');
    expect(captured.intentId).toBe(authorized.intentId);
  });

  it('voids and refunds through the API', async () => {
    const stripe = provider();
    await expect(stripe.void('pi_123', 'order-2')).resolves.toBeUndefined();
    await expect(stripe.refund('pi_123', 'order-2')).resolves.toBeUndefined();
  });

  it('reports an unreachable provider as unavailable, never as a decline', async () => {
    const stripe = createStripePaymentProvider({
      apiKey: 'sk_test_123',
      apiBase: 'http://127.0.0.1:1',
      timeoutMs: 1_000,
    });
    await expect(
      stripe.authorize({
        orderId: 'order-3',
        customerId: 'alice',
        amount: { amount: 100, currency: 'EUR' },
        paymentMethodToken: 'pm_card_visa',
      }),
    ).rejects.toBeInstanceOf(PaymentUnavailableError);
  });
});
