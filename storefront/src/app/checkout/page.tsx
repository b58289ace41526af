import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { CheckoutForm } from './checkout-form';

export const metadata: Metadata = { title: 'Checkout' };

export default function CheckoutPage(): ReactNode {
  return <CheckoutForm />;
}
