'use client';

import Link from 'next/link';
import { useState } from 'react';
import { addToCart } from '../lib/cart';
import type { MoneyValue } from '../lib/format';

/** Quantity picker and button on the product page. */
export function AddToCart({
  productId,
  name,
  price,
  disabled,
}: {
  productId: string;
  name: string;
  price: MoneyValue;
  disabled: boolean;
}): React.ReactNode {
  const [quantity, setQuantity] = useState(1);
  const [added, setAdded] = useState(false);
  return (
    <form
      className="add-to-cart"
      onSubmit={(e) => {
        e.preventDefault();
        addToCart({ productId, name, price, quantity });
        setAdded(true);
      }}
    >
      <label htmlFor="quantity">Quantity</label>
      <input
        id="quantity"
        type="number"
        min={1}
        max={99}
        value={quantity}
        onChange={(e) => setQuantity(Math.max(1, Number(e.target.value) || 1))}
      />
      <button type="submit" className="button primary" disabled={disabled}>
        Add to cart
      </button>
      <p role="status" className="added">
        {added ? (
          <>
            Added to your cart. <Link href="/cart">View cart</Link>
          </>
        ) : null}
      </p>
    </form>
  );
}
