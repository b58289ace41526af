// Browser-side sign-in with Keycloak: authorization code + PKCE through the public client. The
// tokens stay in this tab's sessionStorage (never a cookie the server could be tricked into
// using) and are dropped when they expire, after which the shopper is asked to sign in again.

/** What the browser needs to talk to the identity provider. */
export interface OidcSettings {
  issuerUrl: string;
  clientId: string;
}

/** The signed-in shopper as this tab knows them. */
export interface Session {
  accessToken: string;
  idToken: string | undefined;
  expiresAt: number;
  email: string;
  name: string;
  roles: string[];
}

const SESSION_KEY = 'shop.session';
const PENDING_KEY = 'shop.signin';

function base64Url(bytes: Uint8Array): string {
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomString(bytes = 32): string {
  return base64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}

function decodeClaims(jwt: string): Record<string, unknown> {
  const payload = jwt.split('.')[1] ?? '';
  const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
  return JSON.parse(decodeURIComponent(escape(json))) as Record<string, unknown>;
}

function redirectUri(): string {
  return `${window.location.origin}/auth/callback`;
}

/** Sends the browser to Keycloak's login page; `returnTo` is where the shopper lands afterwards. */
export async function beginSignIn(oidc: OidcSettings, returnTo: string): Promise<void> {
  const verifier = randomString(48);
  const state = randomString(16);
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ verifier, state, returnTo }));
  const params = new URLSearchParams({
    client_id: oidc.clientId,
    response_type: 'code',
    redirect_uri: redirectUri(),
    scope: 'openid profile email',
    state,
    code_challenge: base64Url(new Uint8Array(digest)),
    code_challenge_method: 'S256',
  });
  window.location.assign(`${oidc.issuerUrl}/protocol/openid-connect/auth?${params.toString()}`);
}

/** Finishes sign-in on the callback page: checks state, swaps the code for tokens. */
export async function completeSignIn(oidc: OidcSettings, search: URLSearchParams): Promise<string> {
  const pending = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  if (!pending) throw new Error('This sign-in link has already been used. Please sign in again.');
  const { verifier, state, returnTo } = JSON.parse(pending) as {
    verifier: string;
    state: string;
    returnTo: string;
  };
  if (search.get('error')) throw new Error('Sign-in was cancelled. Please try again.');
  const code = search.get('code');
  if (!code || search.get('state') !== state) {
    throw new Error('This sign-in link is not valid. Please sign in again.');
  }
  // Same-origin relay to the token endpoint (src/app/auth/token/route.ts).
  const res = await fetch('/auth/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: oidc.clientId,
      code,
      redirect_uri: redirectUri(),
      code_verifier: verifier,
    }),
  });
  if (!res.ok) throw new Error('Sign-in did not complete. Please try again.');
  const tokens = (await res.json()) as {
    access_token: string;
    id_token?: string;
    expires_in: number;
  };
  const claims = decodeClaims(tokens.access_token);
  const realmAccess = claims.realm_access as { roles?: string[] } | undefined;
  const session: Session = {
    accessToken: tokens.access_token,
    idToken: tokens.id_token,
    expiresAt: Date.now() + tokens.expires_in * 1000,
    email: typeof claims.email === 'string' ? claims.email : '',
    name: typeof claims.name === 'string' ? claims.name : '',
    roles: realmAccess?.roles ?? [],
  };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  window.dispatchEvent(new Event('shop:session'));
  return returnTo.startsWith('/') ? returnTo : '/';
}

/** The current session, or null when signed out or expired. */
export function readSession(): Session | null {
  const raw = sessionStorage.getItem(SESSION_KEY);
  if (!raw) return null;
  const session = JSON.parse(raw) as Session;
  if (session.expiresAt <= Date.now() + 5_000) {
    sessionStorage.removeItem(SESSION_KEY);
    return null;
  }
  return session;
}

/** Ends the session here and at Keycloak. */
export function signOut(oidc: OidcSettings): void {
  const session = readSession();
  sessionStorage.removeItem(SESSION_KEY);
  window.dispatchEvent(new Event('shop:session'));
  const params = new URLSearchParams({
    client_id: oidc.clientId,
    post_logout_redirect_uri: `${window.location.origin}/`,
  });
  if (session?.idToken) params.set('id_token_hint', session.idToken);
  window.location.assign(`${oidc.issuerUrl}/protocol/openid-connect/logout?${params.toString()}`);
}
