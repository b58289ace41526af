import { Metadata, status } from '@grpc/grpc-js';
import {
  TokenRejectedError,
  createJwtVerifier,
  createLogger,
  createServiceTokenProvider,
  jwtAuthenticator,
  type JwtVerifier,
  type TokenRejection,
} from '@shop/platform';
import { testEnv } from '@shop/testing';
import { SignJWT, UnsecuredJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';

const AUDIENCE = 'shop-api';
const logLines: string[] = [];
const logger = createLogger({
  service: 'auth-test',
  stream: new Writable({
    write(chunk: Buffer, _e, done) {
      logLines.push(chunk.toString());
      done();
    },
  }),
});

async function passwordToken(
  issuer: string,
  username: string,
  password: string,
  clientId = 'storefront',
) {
  const res = await fetch(`${issuer}/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', client_id: clientId, username, password }),
  });
  if (!res.ok) throw new Error(`token request failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** A JWKS of our own on loopback, to sign tokens Keycloak never would. */
async function foreignKeyServer() {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'foreign', alg: 'RS256', use: 'sig' };
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    privateKey,
    jwk,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/certs`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const b64url = (v: string | Buffer) => Buffer.from(v).toString('base64url');

describe('JWT verification against the real Keycloak realm', () => {
  const { oidcIssuerUrl: issuer } = testEnv();
  let keycloak: JwtVerifier;
  let aliceToken: string;
  let foreign: Awaited<ReturnType<typeof foreignKeyServer>>;
  let foreignVerifier: JwtVerifier;

  const sign = (claims: Record<string, unknown>, setup?: (jwt: SignJWT) => SignJWT) => {
    let jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'foreign' })
      .setIssuer(issuer)
      .setAudience(AUDIENCE)
      .setSubject('someone')
      .setIssuedAt()
      .setExpirationTime('5m');
    if (setup) jwt = setup(jwt);
    return jwt.sign(foreign.privateKey);
  };

  beforeAll(async () => {
    keycloak = createJwtVerifier({ issuer, audience: AUDIENCE });
    foreign = await foreignKeyServer();
    foreignVerifier = createJwtVerifier({ issuer, audience: AUDIENCE, jwksUrl: foreign.url });
    aliceToken = await passwordToken(issuer, 'alice@shop.local', 'alice-password');
  });

  afterAll(() => foreign.close());

  it('accepts a demo user token and reads subject, roles and email from it', async () => {
    const caller = await keycloak.verify(aliceToken);
    expect(caller).toMatchObject({ kind: 'user', email: 'alice@shop.local', token: aliceToken });
    expect(caller.roles).toContain('customer');
    expect(caller.roles).not.toContain('admin');
    expect(caller.subject).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('marks a client-credentials token of the service account as a service caller', async () => {
    const provider = createServiceTokenProvider({
      issuer,
      clientId: 'shop-services',
      clientSecret: 'shop-services-local-secret',
    });
    const caller = await keycloak.verify(await provider.token());
    expect(caller.kind).toBe('service');
    expect(caller.roles).toContain('service');
  });

  const cases: Array<[string, () => Promise<[JwtVerifier, string]>, TokenRejection]> = [
    ['garbage', async () => [keycloak, 'not-a-jwt'], 'malformed'],
    [
      'expired',
      async () => [
        createJwtVerifier({
          issuer,
          audience: AUDIENCE,
          now: () => new Date(Date.now() + 3_600_000),
        }),
        aliceToken,
      ],
      'expired',
    ],
    [
      'not yet valid',
      async () => [foreignVerifier, await sign({}, (j) => j.setNotBefore('10m'))],
      'not-yet-valid',
    ],
    [
      'wrong issuer',
      async () => [
        foreignVerifier,
        await sign({}, (j) => j.setIssuer('http://evil.example/realms/shop')),
      ],
      'bad-claims',
    ],
    [
      'wrong audience',
      async () => [foreignVerifier, await sign({}, (j) => j.setAudience('account'))],
      'bad-claims',
    ],
    [
      'alg none',
      async () => [
        foreignVerifier,
        new UnsecuredJWT({ sub: 'x', aud: AUDIENCE, iss: issuer }).setExpirationTime('5m').encode(),
      ],
      'bad-algorithm',
    ],
    [
      'HS256 signed with the public key',
      async () => {
        const header = b64url(JSON.stringify({ alg: 'HS256', kid: 'foreign', typ: 'JWT' }));
        const body = b64url(
          JSON.stringify({
            sub: 'x',
            iss: issuer,
            aud: AUDIENCE,
            exp: Math.floor(Date.now() / 1000) + 300,
          }),
        );
        const mac = createHmac('sha256', JSON.stringify(foreign.jwk))
          .update(`${header}.${body}`)
          .digest();
        return [foreignVerifier, `${header}.${body}.${b64url(mac)}`];
      },
      'bad-algorithm',
    ],
    ['signed by a key not in the JWKS', async () => [keycloak, await sign({})], 'unknown-key'],
    [
      'tampered payload',
      async () => {
        const [h, p, sig] = aliceToken.split('.');
        const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<
          string,
          unknown
        >;
        claims['realm_access'] = { roles: ['admin'] };
        return [keycloak, `${h}.${b64url(JSON.stringify(claims))}.${sig}`];
      },
      'bad-signature',
    ],
    [
      'a valid token from another realm',
      async () => [
        keycloak,
        await passwordToken(
          issuer.replace(/\/realms\/shop$/, '/realms/master'),
          'admin',
          'admin',
          'admin-cli',
        ),
      ],
      // Another realm signs with its own keys, so the signature check refuses it first.
      'unknown-key',
    ],
  ];

  it.each(cases)('rejects a token that is %s', async (_name, make, rejection) => {
    const [verifier, token] = await make();
    const error = await verifier.verify(token).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TokenRejectedError);
    expect((error as TokenRejectedError).rejection).toBe(rejection);
  });

  it('remembers a verified token until it expires, then refuses it again', async () => {
    let now = Date.now();
    const verifier = createJwtVerifier({
      issuer,
      audience: AUDIENCE,
      jwksUrl: foreign.url,
      now: () => new Date(now),
    });
    const token = await sign({}, (j) => j.setExpirationTime(Math.floor(now / 1000) + 60));
    const first = await verifier.verify(token);
    await expect(verifier.verify(token)).resolves.toBe(first);
    // Past the expiry (and the clock tolerance) the token is verified again, and refused.
    now += 120_000;
    await expect(verifier.verify(token)).rejects.toMatchObject({ rejection: 'expired' });
    // A tampered copy is never served from what the genuine token left behind.
    await expect(verifier.verify(`${token.slice(0, -4)}AAAA`)).rejects.toBeInstanceOf(
      TokenRejectedError,
    );
  });

  it('authenticates gRPC metadata: no token is anonymous, a bad one UNAUTHENTICATED without detail', async () => {
    const authenticate = jwtAuthenticator(keycloak, logger);
    await expect(authenticate(new Metadata())).resolves.toEqual({ kind: 'anonymous' });

    const good = new Metadata();
    good.set('authorization', `Bearer ${aliceToken}`);
    await expect(authenticate(good)).resolves.toMatchObject({
      kind: 'user',
      email: 'alice@shop.local',
    });

    const bad = new Metadata();
    bad.set('authorization', `Bearer ${aliceToken.slice(0, -4)}AAAA`);
    await expect(authenticate(bad)).rejects.toMatchObject({
      grpcStatus: status.UNAUTHENTICATED,
      graphqlCode: 'UNAUTHENTICATED',
      message: 'Invalid or expired credentials',
    });
    expect(logLines.some((l) => l.includes('"rejection":"bad-signature"'))).toBe(true);
    expect(logLines.join('')).not.toContain(aliceToken);
  });
});

describe('service-account tokens', () => {
  const { oidcIssuerUrl: issuer } = testEnv();
  const options = { issuer, clientId: 'shop-services', clientSecret: 'shop-services-local-secret' };

  it('reuses one token until near expiry, sharing one request among concurrent callers', async () => {
    const provider = createServiceTokenProvider(options);
    const tokens = await Promise.all(Array.from({ length: 10 }, () => provider.token()));
    expect(new Set(tokens).size).toBe(1);
    for (let i = 0; i < 5; i += 1) expect(await provider.token()).toBe(tokens[0]);
    expect(provider.fetches).toBe(1);
  });

  it('fetches a new token once the cached one is inside the refresh margin', async () => {
    // The realm's tokens live 300 s; a 300 s margin means every cached token is due.
    const provider = createServiceTokenProvider({ ...options, refreshBeforeSec: 300 });
    await provider.token();
    await provider.token();
    expect(provider.fetches).toBe(2);
  });
});
