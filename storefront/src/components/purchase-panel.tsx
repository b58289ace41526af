'use client';

import type { ReactNode } from 'react';
import { StockChangedDocument } from '../generated/graphql';
import type { MoneyValue } from '../lib/format';
import { AddToCart } from './add-to-cart';
import { useSubscription } from './shop-provider';
import { StockBadge } from './stock-badge';

/** Live stock (through `stockChanged`) and the add-to-cart form, disabled while out of stock. */
export function PurchasePanel({
  productId,
  name,
  price,
  initialAvailable,
}: {
  productId: string;
  name: string;
  price: MoneyValue | null | undefined;
  initialAvailable: number | null;
}): ReactNode {
  const { data } = useSubscription(StockChangedDocument, { productId });
  const available = data ? data.stockChanged.available : initialAvailable;
  return (
    <div className="purchase">
      <StockBadge available={available} live />
      {price ? (
        <AddToCart
          productId={productId}
          name={name}
          price={price}
          disabled={available !== null && available <= 0}
        />
      ) : null}
    </div>
  );
}
