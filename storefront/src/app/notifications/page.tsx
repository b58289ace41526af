import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { MyNotifications } from './my-notifications';

export const metadata: Metadata = { title: 'My notifications' };

export default function NotificationsPage(): ReactNode {
  return <MyNotifications />;
}
