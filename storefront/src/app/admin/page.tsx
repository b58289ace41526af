import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { AdminConsole } from './admin-console';

export const metadata: Metadata = { title: 'Shop admin' };

export default function AdminPage(): ReactNode {
  return <AdminConsole />;
}
