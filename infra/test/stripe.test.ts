import Stripe from 'stripe';
import { ensureInfra } from '../src';

let stripe: Stripe;

beforeAll(async () => {
  const { stripeApiBase } = await ensureInfra({ only: ['stripe'] });
  const base = new URL(stripeApiBase);
  stripe = new Stripe('sk_test_123', {
    host: base.hostname,
    port: Number(base.port),
    protocol: base.protocol === 'https:' ? 'https' : 'http',
    maxNetworkRetries: 0,
  });
}, 600_000);

describe('stripe-mock', () => {
  it('creates and confirms a PaymentIntent through the official SDK', async () => {
    const intent = await stripe.paymentIntents.create({
      amount: 2599,
      currency: 'eur',
      automatic_payment_methods: { enabled: true },
      metadata: { orderId: 'order-1' },
    });
    expect(intent.object).toBe('payment_intent');
    expect(intent.id).toMatch(/^pi_/);
    expect(intent.amount).toBe(2599);

    const confirmed = await stripe.paymentIntents.confirm(intent.id, {
      payment_method: 'pm_card_visa',
    });
    expect(confirmed.object).toBe('payment_intent');
  });

  it('rejects a request that breaks the API schema', async () => {
    await expect(
      stripe.paymentIntents.create({ amount: -1 } as unknown as Stripe.PaymentIntentCreateParams),
    ).rejects.toThrow();
  });
});
