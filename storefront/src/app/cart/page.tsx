import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { CartView } from './cart-view';

export const metadata: Metadata = { title: 'Your cart' };

export default function CartPage(): ReactNode {
  return <CartView />;
}
