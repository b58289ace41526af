'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { useSession, useSettings } from '../../components/shop-provider';
import { clientQuery } from '../../components/client-query';
import { PlaceOrderDocument } from '../../generated/graphql';
import { beginSignIn } from '../../lib/auth';
import { clearCart, readCart, type CartLine } from '../../lib/cart';
import { formatMoney, plainError } from '../../lib/format';
import { GraphQLRequestError } from '../../lib/graphql';

const PAYMENT_METHODS = [
  { value: 'pm_card_visa', label: 'Test card — Visa ending 4242 (approved)' },
  { value: 'tok_decline', label: 'Test card — declined' },
];

const FIELDS = [
  { name: 'recipientName', label: 'Full name', autoComplete: 'name' },
  { name: 'line1', label: 'Street and number', autoComplete: 'address-line1' },
  { name: 'postalCode', label: 'Postal code', autoComplete: 'postal-code' },
  { name: 'city', label: 'City', autoComplete: 'address-level2' },
  { name: 'countryCode', label: 'Country code (e.g. DE)', autoComplete: 'country' },
] as const;

/** A text field's trimmed value ('' when absent). */
function formText(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === 'string' ? value.trim() : '';
}

/**
 * Shipping address, payment method and "Place order". The idempotency key is made once per
 * visit of this page, so a double click or a retry after a network error places one order.
 */
export function CheckoutForm(): ReactNode {
  const settings = useSettings();
  const session = useSession();
  const router = useRouter();
  const [lines, setLines] = useState<CartLine[]>([]);
  const [error, setError] = useState<string | undefined>(undefined);
  const [placing, setPlacing] = useState(false);
  const idempotencyKey = useRef<string>('');
  const inFlight = useRef<Promise<void> | null>(null);
  useEffect(() => {
    setLines(readCart());
    idempotencyKey.current = crypto.randomUUID();
  }, []);

  if (session === undefined) return <h1>Checkout</h1>;
  if (!session) {
    return (
      <div className="message-page">
        <h1>Checkout</h1>
        <p>Please sign in to place your order. Your cart is kept.</p>
        <button
          type="button"
          className="button primary"
          onClick={() => void beginSignIn(settings.oidc, '/checkout')}
        >
          Sign in to check out
        </button>
      </div>
    );
  }
  if (lines.length === 0) {
    return (
      <div className="message-page">
        <h1>Checkout</h1>
        <p>Your cart is empty.</p>
        <Link href="/" className="button primary">
          Start shopping
        </Link>
      </div>
    );
  }

  const currency = lines[0]?.price.currency ?? 'EUR';
  const total = lines.reduce((sum, l) => sum + l.price.amount * l.quantity, 0);

  const place = async (form: FormData): Promise<void> => {
    setPlacing(true);
    setError(undefined);
    try {
      const address = Object.fromEntries(FIELDS.map((f) => [f.name, formText(form, f.name)]));
      const { placeOrder } = await clientQuery(
        settings.gatewayUrl,
        PlaceOrderDocument,
        {
          input: {
            idempotencyKey: idempotencyKey.current,
            items: lines.map((l) => ({ productId: l.productId, quantity: l.quantity })),
            paymentMethod: formText(form, 'paymentMethod') || 'pm_card_visa',
            shippingAddress: { ...address, countryCode: address.countryCode?.toUpperCase() },
          },
        },
        session.accessToken,
      );
      clearCart();
      router.push(`/orders/${placeOrder.id}`);
    } catch (err) {
      setError(plainError(err instanceof GraphQLRequestError ? err.code : 'INTERNAL'));
      setPlacing(false);
    }
  };

  const onSubmit = (e: FormEvent<HTMLFormElement>): void => {
    e.preventDefault();
    // A second submit while the first is in flight joins it instead of sending again.
    inFlight.current ??= place(new FormData(e.currentTarget)).finally(() => {
      inFlight.current = null;
    });
  };

  return (
    <div className="checkout">
      <h1>Checkout</h1>
      <form onSubmit={onSubmit} className="checkout-form" aria-describedby="checkout-error">
        <fieldset>
          <legend>Shipping address</legend>
          {FIELDS.map((f) => (
            <div className="field" key={f.name}>
              <label htmlFor={f.name}>{f.label}</label>
              <input
                id={f.name}
                name={f.name}
                required
                autoComplete={f.autoComplete}
                defaultValue={
                  f.name === 'recipientName' ? session.name : f.name === 'countryCode' ? 'DE' : ''
                }
              />
            </div>
          ))}
        </fieldset>
        <fieldset>
          <legend>Payment</legend>
          {PAYMENT_METHODS.map((m, i) => (
            <div className="radio" key={m.value}>
              <input
                type="radio"
                id={`pay-${m.value}`}
                name="paymentMethod"
                value={m.value}
                defaultChecked={i === 0}
              />
              <label htmlFor={`pay-${m.value}`}>{m.label}</label>
            </div>
          ))}
        </fieldset>
        <aside className="order-summary" aria-label="Order summary">
          <h2>Your order</h2>
          <ul>
            {lines.map((l) => (
              <li key={l.productId}>
                <span>
                  {l.quantity} × {l.name}
                </span>
                <span>{formatMoney({ amount: l.price.amount * l.quantity, currency })}</span>
              </li>
            ))}
          </ul>
          <p className="total">
            Total <strong>{formatMoney({ amount: total, currency })}</strong>
          </p>
          <p id="checkout-error" role="alert" className="error">
            {error}
          </p>
          <button type="submit" className="button primary wide" aria-disabled={placing}>
            {placing ? 'Placing your order…' : 'Place order'}
          </button>
        </aside>
      </form>
    </div>
  );
}
