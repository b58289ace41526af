'use client';

import type { TypedDocumentString } from '../generated/graphql';
import { createClient, type Client } from 'graphql-ws';
import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import { readSession, type OidcSettings, type Session } from '../lib/auth';

/** What the server tells the browser about where the platform is. */
export interface PublicSettings {
  gatewayUrl: string;
  wsUrl: string;
  oidc: OidcSettings;
}

const SettingsContext = createContext<PublicSettings | null>(null);

/** Hands the request-time settings to every client component below. */
export function ShopProvider({
  settings,
  children,
}: {
  settings: PublicSettings;
  children: ReactNode;
}): ReactNode {
  return <SettingsContext.Provider value={settings}>{children}</SettingsContext.Provider>;
}

/** The platform's public endpoints. */
export function useSettings(): PublicSettings {
  const settings = useContext(SettingsContext);
  if (!settings) throw new Error('useSettings outside ShopProvider');
  return settings;
}

/**
 * The signed-in shopper: `undefined` until the browser has looked (so server HTML and the first
 * client render agree), then the session or null.
 */
export function useSession(): Session | null | undefined {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  useEffect(() => {
    const update = (): void => setSession(readSession());
    update();
    window.addEventListener('shop:session', update);
    return () => window.removeEventListener('shop:session', update);
  }, []);
  return session;
}

const clients = new Map<string, Client>();

const isAuthClose = (event: unknown): boolean => {
  const code = (event as { code?: unknown } | null)?.code;
  return code === 4401 || code === 4403;
};

/** One graphql-ws connection per endpoint and identity, opened on first use. */
function wsClient(url: string, token: string | undefined): Client {
  const key = `${url} ${token ?? ''}`;
  let client = clients.get(key);
  if (!client) {
    client = createClient({
      url,
      lazy: true,
      retryAttempts: 5,
      // 4401: the token expired; 4403: it was refused. Reconnecting with it cannot help.
      shouldRetry: (event) => !isAuthClose(event),
      connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    });
    clients.set(key, client);
  }
  return client;
}

/** Live state of a subscription: its latest data, or the error code that ended it. */
export interface SubscriptionState<T> {
  data: T | undefined;
  error: string | undefined;
}

/** Subscribes while mounted; re-subscribes when the variables or the token change. */
export function useSubscription<TResult, TVariables extends Record<string, unknown>>(
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
  options: { token?: string | undefined; skip?: boolean } = {},
): SubscriptionState<TResult> {
  const { wsUrl } = useSettings();
  const [state, setState] = useState<SubscriptionState<TResult>>({
    data: undefined,
    error: undefined,
  });
  const key = JSON.stringify(variables);
  const query = document.toString();
  useEffect(() => {
    if (options.skip) return undefined;
    const client = wsClient(wsUrl, options.token);
    return client.subscribe<TResult>(
      { query, variables: JSON.parse(key) as Record<string, unknown> },
      {
        next: (result) => {
          const code = result.errors?.[0]?.extensions?.code;
          if (result.errors?.length) {
            setState((s) => ({ ...s, error: typeof code === 'string' ? code : 'INTERNAL' }));
          } else if (result.data) {
            setState({ data: result.data, error: undefined });
          }
        },
        error: (event) =>
          setState((s) => ({
            ...s,
            error: isAuthClose(event) ? 'UNAUTHENTICATED' : 'UNAVAILABLE',
          })),
        complete: () => undefined,
      },
    );
  }, [wsUrl, options.token, options.skip, query, key]);
  return state;
}
