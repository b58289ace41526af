import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { MyOrders } from './my-orders';

export const metadata: Metadata = { title: 'My orders' };

export default function MyOrdersPage(): ReactNode {
  return <MyOrders />;
}
