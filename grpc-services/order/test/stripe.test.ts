import { testEnv } from '@shop/testing';
import { createStripePaymentProvider, PaymentUnavailableError } from '../src';

describe('Stripe payment provider against stripe-mock', () => {
  const provider = () =>
    createStripePaymentProvider({
      apiKey: 'sk_test_123',
      apiBase: testEnv().stripeApiBase,
      timeoutMs: 5_000,
    });

  it('sends a confirmed, manually captured PaymentIntent and reads an unauthorized intent as a decline', async () => {
    const stripe = provider();
    const authorized = await stripe.authorize({
      orderId: 'order-1',
      customerId: 'alice',
      amount: { amount: 4_297, currency: 'EUR' },
      paymentMethodToken: 'pm_card_visa',
    });
    // stripe-mock validates the request against Stripe's OpenAPI spec and answers with a canned
    // intent whose status is always `requires_payment_method`: an intent that is not authorized
    // must read as a decline, never as an approval.
    expect(authorized).toEqual({
      outcome: 'declined',
      intentId: authorized.intentId,
      code: 'requires_payment_method',
      message: 'payment intent is requires_payment_method',
    });
    expect(authorized.intentId).toMatch(/^pi_/);
    const captured = await stripe.capture(authorized.intentId, 'order-1');
    expect(captured.intentId).toBe(authorized.intentId);
    expect(captured.outcome).toBe('declined');
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
