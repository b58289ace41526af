import { createRemoteJWKSet, jwtVerify } from 'jose';
import { ensureInfra } from '../src';

interface TokenResponse {
  access_token: string;
  expires_in: number;
}

let issuer = '';

beforeAll(async () => {
  ({ oidcIssuerUrl: issuer } = await ensureInfra({ only: ['keycloak'] }));
}, 600_000);

async function token(form: Record<string, string>): Promise<TokenResponse> {
  const response = await fetch(`${issuer}/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams(form),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as TokenResponse;
}

async function verify(accessToken: string) {
  const jwks = createRemoteJWKSet(new URL(`${issuer}/protocol/openid-connect/certs`));
  const { payload } = await jwtVerify(accessToken, jwks, { issuer, audience: 'shop-api' });
  return payload as typeof payload & {
    realm_access?: { roles: string[] };
    email?: string;
    preferred_username?: string;
  };
}

describe('Keycloak shop realm', () => {
  it('issues alice a storefront token for shop-api carrying her customer role and email', async () => {
    const { access_token, expires_in } = await token({
      grant_type: 'password',
      client_id: 'storefront',
      username: 'alice@shop.local',
      password: 'alice-password',
      scope: 'openid',
    });
    const claims = await verify(access_token);
    expect(claims.realm_access?.roles).toContain('customer');
    expect(claims.realm_access?.roles).not.toContain('admin');
    expect(claims.email).toBe('alice@shop.local');
    expect(claims.preferred_username).toBe('alice@shop.local');
    expect(expires_in).toBe(300);
  });

  it('gives the admin user both admin and customer roles', async () => {
    const { access_token } = await token({
      grant_type: 'password',
      client_id: 'storefront',
      username: 'admin@shop.local',
      password: 'admin-password',
    });
    const claims = await verify(access_token);
    expect(claims.realm_access?.roles).toEqual(expect.arrayContaining(['admin', 'customer']));
  });

  it('rejects a wrong password', async () => {
    const response = await fetch(`${issuer}/protocol/openid-connect/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'password',
        client_id: 'storefront',
        username: 'bob@shop.local',
        password: 'wrong',
      }),
    });
    expect(response.status).toBe(401);
  });

  it('issues shop-services a client-credentials token with the service role that can manage users', async () => {
    const { access_token } = await token({
      grant_type: 'client_credentials',
      client_id: 'shop-services',
      client_secret: 'shop-services-local-secret',
    });
    const claims = await verify(access_token);
    expect(claims.realm_access?.roles).toContain('service');

    const admin = new URL(issuer.replace('/realms/', '/admin/realms/'));
    const users = await fetch(`${admin.href}/users?email=bob@shop.local&exact=true`, {
      headers: { Authorization: `Bearer ${access_token}` },
    });
    expect(users.status).toBe(200);
    expect(
      ((await users.json()) as Array<{ username: string }>).map((user) => user.username),
    ).toEqual(['bob@shop.local']);
  });

  it.each([
    ['http://127.0.0.1:4000/callback', 200],
    ['http://localhost:5173/auth/callback', 200],
    ['http://localhost.evil.example/callback', 400],
    ['https://evil.example/callback', 400],
  ])(
    'accepts only loopback redirect URIs for the storefront: %s -> %i',
    async (redirectUri, status) => {
      const url = new URL(`${issuer}/protocol/openid-connect/auth`);
      const params = {
        client_id: 'storefront',
        response_type: 'code',
        scope: 'openid',
        redirect_uri: redirectUri,
      };
      url.search = new URLSearchParams({
        ...params,
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
      }).toString();
      const response = await fetch(url, { redirect: 'manual' });
      expect(response.status).toBe(status);
    },
  );

  it('requires PKCE on the storefront authorization code flow', async () => {
    const url = new URL(`${issuer}/protocol/openid-connect/auth`);
    url.search = new URLSearchParams({
      client_id: 'storefront',
      response_type: 'code',
      scope: 'openid',
      redirect_uri: 'http://127.0.0.1:4000/cb',
    }).toString();
    const response = await fetch(url, { redirect: 'manual' });
    expect(response.headers.get('location')).toContain('error=invalid_request');
  });
});
