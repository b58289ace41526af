import { createJwtVerifier } from '@shop/platform';
import { testEnv, uniqueId } from '@shop/testing';
import { decodeProtectedHeader } from 'jose';

// Rotates the realm's signing key through Keycloak's Admin REST API (a new RSA key provider of
// higher priority) and checks that a verifier built before the rotation accepts tokens signed
// with the new key, with nothing restarted: jose refetches the JWKS for an unknown key id.
const { oidcIssuerUrl: issuer } = testEnv();
const base = issuer.replace(/\/realms\/[^/]+$/, '');
const realm = issuer.slice(issuer.lastIndexOf('/') + 1);
// The launcher's local Keycloak admin; override for a Keycloak of your own.
const ADMIN_USER = process.env['KEYCLOAK_ADMIN_USER'] ?? 'admin';
const ADMIN_PASSWORD = process.env['KEYCLOAK_ADMIN_PASSWORD'] ?? 'admin';

async function form(url: string, body: Record<string, string>): Promise<string> {
  const res = await fetch(url, { method: 'POST', body: new URLSearchParams(body) });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

const aliceToken = () =>
  form(`${issuer}/protocol/openid-connect/token`, {
    grant_type: 'password',
    client_id: 'storefront',
    username: 'alice@shop.local',
    password: 'alice-password',
  });

describe('signing key rotation', () => {
  let admin: string;
  let componentUrl: string | undefined;

  beforeAll(async () => {
    admin = await form(`${base}/realms/master/protocol/openid-connect/token`, {
      grant_type: 'password',
      client_id: 'admin-cli',
      username: ADMIN_USER,
      password: ADMIN_PASSWORD,
    });
  });

  afterAll(async () => {
    if (componentUrl) {
      await fetch(componentUrl, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${admin}` },
      });
    }
  });

  it('accepts tokens signed by a newly rotated key without a restart', async () => {
    const verifier = createJwtVerifier({ issuer, audience: 'shop-api' });
    const before = await aliceToken();
    await expect(verifier.verify(before)).resolves.toMatchObject({ kind: 'user' });
    const oldKid = decodeProtectedHeader(before).kid;

    const realmInfo = await fetch(`${base}/admin/realms/${realm}`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    const { id: realmId } = (await realmInfo.json()) as { id: string };
    const created = await fetch(`${base}/admin/realms/${realm}/components`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: uniqueId('rotated-rsa'),
        providerId: 'rsa-generated',
        providerType: 'org.keycloak.keys.KeyProvider',
        parentId: realmId,
        config: {
          priority: ['1000'],
          enabled: ['true'],
          active: ['true'],
          algorithm: ['RS256'],
          keySize: ['2048'],
        },
      }),
    });
    expect(created.status).toBe(201);
    componentUrl = created.headers.get('location') ?? undefined;

    // The verifier refetches the JWKS for an unknown key id at most once per cooldown (5 s), so
    // a flood of tokens with made-up key ids cannot hammer Keycloak; let that window pass.
    await new Promise((resolve) => setTimeout(resolve, 5_500));
    const after = await aliceToken();
    const newKid = decodeProtectedHeader(after).kid;
    expect(newKid).toBeDefined();
    expect(newKid).not.toBe(oldKid);
    await expect(verifier.verify(after)).resolves.toMatchObject({ kind: 'user' });
    // Tokens signed by the previous key stay valid while that key is still published.
    await expect(verifier.verify(before)).resolves.toMatchObject({ kind: 'user' });
  });
});
