'use client';

import Link from 'next/link';
import { useEffect, useState, type ReactNode } from 'react';
import { clientQuery } from '../../components/client-query';
import { useSession, useSettings } from '../../components/shop-provider';
import { MyOrdersDocument, type MyOrdersQuery } from '../../generated/graphql';
import { beginSignIn } from '../../lib/auth';
import { formatMoney, plainError } from '../../lib/format';
import { GraphQLRequestError } from '../../lib/graphql';

/** The signed-in shopper's orders, newest first. */
export function MyOrders(): ReactNode {
  const settings = useSettings();
  const session = useSession();
  const [orders, setOrders] = useState<MyOrdersQuery['myOrders'] | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    if (!session) return;
    clientQuery(settings.gatewayUrl, MyOrdersDocument, { first: 20 }, session.accessToken).then(
      (data) => setOrders(data.myOrders),
      (err: unknown) =>
        setError(plainError(err instanceof GraphQLRequestError ? err.code : 'INTERNAL')),
    );
  }, [session, settings.gatewayUrl]);
  if (session === null) {
    return (
      <div className="message-page">
        <h1>My orders</h1>
        <p>Please sign in to see your orders.</p>
        <button
          type="button"
          className="button primary"
          onClick={() => void beginSignIn(settings.oidc, '/orders')}
        >
          Sign in
        </button>
      </div>
    );
  }
  return (
    <div>
      <h1>My orders</h1>
      {error ? <p role="alert">{error}</p> : null}
      {orders && orders.edges.length === 0 ? <p>You have not placed an order yet.</p> : null}
      {orders && orders.edges.length > 0 ? (
        <ul className="order-list">
          {orders.edges.map(({ node }) => (
            <li key={node.id}>
              <Link href={`/orders/${node.id}`}>Order {node.id.slice(0, 8).toUpperCase()}</Link>
              <span>
                {node.createdAt ? new Date(node.createdAt).toLocaleDateString('en-GB') : ''}
              </span>
              <span className={`status status-${(node.status ?? 'PENDING').toLowerCase()}`}>
                {node.status}
              </span>
              <span>{formatMoney(node.total)}</span>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
