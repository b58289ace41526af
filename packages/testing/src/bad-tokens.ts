import { SignJWT, UnsecuredJWT, generateKeyPair } from 'jose';
import { createHmac } from 'node:crypto';

/** A password-grant token from a realm, for a client that allows direct access grants. */
export async function passwordGrantToken(
  issuer: string,
  username: string,
  password: string,
  clientId = 'storefront',
): Promise<string> {
  const res = await fetch(`${issuer}/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', client_id: clientId, username, password }),
  });
  if (!res.ok) throw new Error(`token request failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

const b64url = (v: string | Buffer): string => Buffer.from(v).toString('base64url');

/**
 * Credentials every one of our processes must refuse, each as the value of an `authorization`
 * header (`undefined`: none at all). Built against the real realm at `issuer` (audience
 * `shop-api`): tokens Keycloak signed but for the wrong issuer URL or audience, from another
 * realm, or tampered with; tokens signed by a key outside the realm's JWKS; `alg: none`; HS256
 * keyed with the realm's own public key. Expiry and not-before need a movable clock and are
 * covered where the verifier is tested.
 */
export async function badCredentials(
  issuer: string,
): Promise<Array<[name: string, authorization: string | undefined]>> {
  const audience = 'shop-api';
  const alice = await passwordGrantToken(issuer, 'alice@shop.local', 'alice-password');
  const realmKeys = (await (await fetch(`${issuer}/protocol/openid-connect/certs`)).json()) as {
    keys: Array<Record<string, unknown>>;
  };
  const realmKey = realmKeys.keys.find((k) => k['use'] === 'sig' && k['alg'] === 'RS256');
  const { privateKey } = await generateKeyPair('RS256');
  const claims = { sub: 'intruder', realm_access: { roles: ['admin'] }, azp: 'storefront' };

  const [h, p, sig] = alice.split('.');
  const tampered = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  tampered['realm_access'] = { roles: ['admin', 'customer'] };

  const hsHeader = b64url(JSON.stringify({ alg: 'HS256', kid: realmKey?.['kid'], typ: 'JWT' }));
  const hsBody = b64url(
    JSON.stringify({
      ...claims,
      iss: issuer,
      aud: audience,
      exp: Math.floor(Date.now() / 1000) + 300,
    }),
  );
  const hsMac = createHmac('sha256', JSON.stringify(realmKey))
    .update(`${hsHeader}.${hsBody}`)
    .digest();

  const bearer = (token: string) => `Bearer ${token}`;
  const otherIssuer = issuer.includes('127.0.0.1')
    ? issuer.replace('127.0.0.1', 'localhost')
    : issuer.replace('localhost', '127.0.0.1');
  return [
    ['no token at all', undefined],
    ['garbage', bearer('not-a-jwt')],
    ['not a bearer token', 'Basic YWxpY2U6YWxpY2UtcGFzc3dvcmQ='],
    [
      'alg none',
      bearer(
        new UnsecuredJWT({ ...claims, iss: issuer, aud: audience })
          .setExpirationTime('5m')
          .encode(),
      ),
    ],
    ['HS256 keyed with the realm public key', bearer(`${hsHeader}.${hsBody}.${b64url(hsMac)}`)],
    [
      'signed by a key not in the JWKS',
      bearer(
        await new SignJWT(claims)
          .setProtectedHeader({ alg: 'RS256', kid: 'foreign' })
          .setIssuer(issuer)
          .setAudience(audience)
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(privateKey),
      ),
    ],
    ['tampered payload', bearer(`${h}.${b64url(JSON.stringify(tampered))}.${sig}`)],
    // Keycloak names itself after the URL it was asked on: the same realm, another `iss`.
    ...(otherIssuer === issuer
      ? []
      : ([
          [
            'signed by the realm for another issuer URL',
            bearer(await passwordGrantToken(otherIssuer, 'alice@shop.local', 'alice-password')),
          ],
        ] as Array<[string, string]>)),
    [
      'signed by the realm for another audience',
      bearer(await passwordGrantToken(issuer, 'alice@shop.local', 'alice-password', 'admin-cli')),
    ],
    [
      'valid, from another realm',
      bearer(
        await passwordGrantToken(
          issuer.replace(/\/realms\/[^/]+$/, '/realms/master'),
          'admin',
          'admin',
          'admin-cli',
        ),
      ),
    ],
  ];
}
