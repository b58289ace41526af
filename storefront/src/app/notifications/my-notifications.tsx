'use client';

import Link from 'next/link';
import { useEffect, useState, type ReactNode } from 'react';
import { clientQuery } from '../../components/client-query';
import { useSession, useSettings } from '../../components/shop-provider';
import { MyNotificationsDocument, type MyNotificationsQuery } from '../../generated/graphql';
import { beginSignIn } from '../../lib/auth';
import { plainError } from '../../lib/format';
import { GraphQLRequestError } from '../../lib/graphql';

type Edge = MyNotificationsQuery['myNotifications']['edges'][number];

/** The emails (and SMS) the shop sent the signed-in shopper, newest first. */
export function MyNotifications(): ReactNode {
  const settings = useSettings();
  const session = useSession();
  const [edges, setEdges] = useState<Edge[] | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    if (!session) return;
    clientQuery(
      settings.gatewayUrl,
      MyNotificationsDocument,
      { first: 30 },
      session.accessToken,
    ).then(
      (data) => setEdges(data.myNotifications.edges),
      (err: unknown) =>
        setError(plainError(err instanceof GraphQLRequestError ? err.code : 'INTERNAL')),
    );
  }, [session, settings.gatewayUrl]);
  if (session === null) {
    return (
      <div className="message-page">
        <h1>My notifications</h1>
        <p>Please sign in to see your notifications.</p>
        <button
          type="button"
          className="button primary"
          onClick={() => void beginSignIn(settings.oidc, '/notifications')}
        >
          Sign in
        </button>
      </div>
    );
  }
  return (
    <div>
      <h1>My notifications</h1>
      {error ? <p role="alert">{error}</p> : null}
      {edges && edges.length === 0 ? <p>Nothing yet.</p> : null}
      <ul className="notification-list">
        {(edges ?? []).map(({ node }) => (
          <li key={node.id}>
            <span>
              {node.orderId ? (
                <Link href={`/orders/${node.orderId}`}>{node.subject}</Link>
              ) : (
                node.subject
              )}
            </span>
            <span>
              {node.channel === 'SMS' ? 'SMS' : 'Email'} ·{' '}
              {node.createdAt ? new Date(node.createdAt).toLocaleString('en-GB') : ''}
            </span>
          </li>
        ))}
      </ul>
    </div>
  );
}
