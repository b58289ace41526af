'use client';

import Link from 'next/link';
import { useEffect, useState, type ReactNode } from 'react';
import {
  NotificationReceivedDocument,
  type NotificationReceivedSubscription,
} from '../generated/graphql';
import { useSession, useSubscription } from './shop-provider';

type Received = NotificationReceivedSubscription['notificationReceived'];

/** The signed-in shopper's new notifications (`notificationReceived`), the latest three at a time. */
export function NotificationToasts(): ReactNode {
  const session = useSession();
  const { data } = useSubscription(
    NotificationReceivedDocument,
    {},
    { token: session?.accessToken, skip: !session },
  );
  const [shown, setShown] = useState<Received[]>([]);
  useEffect(() => {
    const received = data?.notificationReceived;
    if (!received) return;
    setShown((list) =>
      list.some((n) => n.id === received.id) ? list : [received, ...list].slice(0, 3),
    );
  }, [data]);
  return (
    <div className="toasts" role="status" aria-live="polite" data-testid="toasts">
      {shown.map((n) => (
        <div className="toast" key={n.id}>
          {n.orderId ? <Link href={`/orders/${n.orderId}`}>{n.subject}</Link> : n.subject}
          <button
            type="button"
            className="link-button"
            onClick={() => setShown((list) => list.filter((m) => m.id !== n.id))}
          >
            Dismiss<span className="visually-hidden"> {n.subject}</span>
          </button>
        </div>
      ))}
    </div>
  );
}
