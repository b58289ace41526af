'use client';

import Link from 'next/link';
import { useEffect, useState, type ReactNode } from 'react';
import { onCartChange, readCart, setQuantity, type CartLine } from '../../lib/cart';
import { formatMoney } from '../../lib/format';

/** The cart's lines with quantities that can be changed, and the way to checkout. */
export function CartView(): ReactNode {
  const [lines, setLines] = useState<CartLine[] | undefined>(undefined);
  useEffect(() => {
    const update = (): void => setLines(readCart());
    update();
    return onCartChange(update);
  }, []);
  if (lines === undefined) return <h1>Your cart</h1>;
  if (lines.length === 0) {
    return (
      <div className="message-page">
        <h1>Your cart</h1>
        <p>Your cart is empty.</p>
        <Link href="/" className="button primary">
          Start shopping
        </Link>
      </div>
    );
  }
  const currency = lines[0]?.price.currency ?? 'EUR';
  const total = lines.reduce((sum, l) => sum + l.price.amount * l.quantity, 0);
  return (
    <div className="cart">
      <h1>Your cart</h1>
      <table className="cart-table">
        <thead>
          <tr>
            <th scope="col">Product</th>
            <th scope="col">Price</th>
            <th scope="col">Quantity</th>
            <th scope="col">Total</th>
          </tr>
        </thead>
        <tbody>
          {lines.map((l) => (
            <tr key={l.productId}>
              <td>
                <Link href={`/product/${l.productId}`}>{l.name}</Link>
              </td>
              <td>{formatMoney(l.price)}</td>
              <td>
                <label className="visually-hidden" htmlFor={`qty-${l.productId}`}>
                  Quantity of {l.name}
                </label>
                <input
                  id={`qty-${l.productId}`}
                  type="number"
                  min={0}
                  max={99}
                  value={l.quantity}
                  onChange={(e) =>
                    setQuantity(l.productId, Math.max(0, Number(e.target.value) || 0))
                  }
                />
                <button
                  type="button"
                  className="link-button"
                  onClick={() => setQuantity(l.productId, 0)}
                >
                  Remove<span className="visually-hidden"> {l.name}</span>
                </button>
              </td>
              <td>
                {formatMoney({ amount: l.price.amount * l.quantity, currency: l.price.currency })}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="cart-summary">
        <p>
          Subtotal{' '}
          <strong data-testid="cart-total">{formatMoney({ amount: total, currency })}</strong>
        </p>
        <Link href="/checkout" className="button primary">
          Go to checkout
        </Link>
      </div>
    </div>
  );
}
