import { Metadata } from '@grpc/grpc-js';
import {
  createAuthenticator,
  createLogger,
  createServiceTokenProvider,
  readAuthConfig,
  readConfig,
  readServiceAccountConfig,
} from '@shop/platform';
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';

/** The issuer clients see; nothing listens there, so any request to it would fail the test. */
const PUBLIC_ISSUER = 'https://auth.shop.invalid/realms/shop';

const logger = createLogger({
  service: 'oidc-urls-test',
  stream: new Writable({ write: (_c, _e, done) => done() }),
});

/** A stand-in for Keycloak's in-cluster Service: certs and token endpoints, counting requests. */
async function internalRealm() {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    paths.push(`${req.method} ${req.url}`);
    if (req.url === '/realms/shop/protocol/openid-connect/certs') {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ keys: [jwk] }));
    } else if (req.url === '/realms/shop/protocol/openid-connect/token' && req.method === 'POST') {
      const body = { access_token: 'service-token', token_type: 'Bearer', expires_in: 300 };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    paths,
    privateKey,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('OIDC URLs', () => {
  it('derives the JWKS, token and Admin API URLs from the issuer when none is given', () => {
    const env = { OIDC_ISSUER_URL: 'http://127.0.0.1:8180/realms/shop/' };
    expect(readConfig(env, readAuthConfig)).toMatchObject({
      mode: 'jwt',
      issuer: 'http://127.0.0.1:8180/realms/shop',
      jwksUrl: 'http://127.0.0.1:8180/realms/shop/protocol/openid-connect/certs',
    });
    expect(readConfig(env, readServiceAccountConfig)).toMatchObject({
      issuer: 'http://127.0.0.1:8180/realms/shop',
      tokenUrl: 'http://127.0.0.1:8180/realms/shop/protocol/openid-connect/token',
      adminUrl: 'http://127.0.0.1:8180/admin/realms/shop',
    });
  });

  it('keeps the public issuer as iss while keys, tokens and the Admin API are reached inside', () => {
    const internal = 'http://keycloak.shop.svc.cluster.local:8080';
    const env = {
      OIDC_ISSUER_URL: PUBLIC_ISSUER,
      OIDC_JWKS_URL: `${internal}/realms/shop/protocol/openid-connect/certs`,
      OIDC_TOKEN_URL: `${internal}/realms/shop/protocol/openid-connect/token`,
      OIDC_ADMIN_URL: `${internal}/admin/realms/shop`,
    };
    expect(readConfig(env, readAuthConfig)).toMatchObject({
      issuer: PUBLIC_ISSUER,
      jwksUrl: env.OIDC_JWKS_URL,
    });
    expect(readConfig(env, readServiceAccountConfig)).toEqual({
      issuer: PUBLIC_ISSUER,
      tokenUrl: env.OIDC_TOKEN_URL,
      adminUrl: env.OIDC_ADMIN_URL,
      clientId: 'shop-services',
      clientSecret: 'shop-services-local-secret',
    });
  });

  it('names a malformed internal URL', () => {
    expect(() => readConfig({ OIDC_JWKS_URL: 'not a url' }, readAuthConfig)).toThrow(
      'OIDC_JWKS_URL is malformed',
    );
  });

  describe('against an in-cluster realm while the public issuer is unreachable', () => {
    let realm: Awaited<ReturnType<typeof internalRealm>>;
    beforeAll(async () => {
      realm = await internalRealm();
    });
    afterAll(() => realm.close());

    it('verifies a token issued as the public issuer with keys from OIDC_JWKS_URL', async () => {
      const auth = readConfig(
        {
          OIDC_ISSUER_URL: PUBLIC_ISSUER,
          OIDC_JWKS_URL: `${realm.base}/realms/shop/protocol/openid-connect/certs`,
        },
        readAuthConfig,
      );
      const token = await new SignJWT({ realm_access: { roles: ['customer'] } })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setIssuer(PUBLIC_ISSUER)
        .setAudience('shop-api')
        .setSubject('alice')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(realm.privateKey);
      const metadata = new Metadata();
      metadata.set('authorization', `Bearer ${token}`);
      await expect(createAuthenticator(auth, logger)(metadata)).resolves.toMatchObject({
        kind: 'user',
        subject: 'alice',
        roles: ['customer'],
      });
      expect(realm.paths).toContain('GET /realms/shop/protocol/openid-connect/certs');
    });

    it('takes the service-account token from OIDC_TOKEN_URL without discovery', async () => {
      const account = readConfig(
        {
          OIDC_ISSUER_URL: PUBLIC_ISSUER,
          OIDC_TOKEN_URL: `${realm.base}/realms/shop/protocol/openid-connect/token`,
        },
        readServiceAccountConfig,
      );
      realm.paths.length = 0;
      await expect(createServiceTokenProvider(account).token()).resolves.toBe('service-token');
      expect(realm.paths).toEqual(['POST /realms/shop/protocol/openid-connect/token']);
    });
  });
});
