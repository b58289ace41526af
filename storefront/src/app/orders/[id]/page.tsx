import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { OrderView } from './order-view';

export const metadata: Metadata = { title: 'Your order' };

export default async function OrderPage({
  params,
}: {
  params: Promise<{ id: string }>;
}): Promise<ReactNode> {
  const { id } = await params;
  return <OrderView orderId={id} />;
}
