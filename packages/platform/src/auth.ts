import type { Metadata } from '@grpc/grpc-js';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { Issuer, type Client } from 'openid-client';
import { commonErrors } from './errors';
import type { AuthConfig, ServiceAccountConfig } from './config';
import { metadataAuthenticator, type Authenticator, type Caller } from './identity';
import type { Logger } from './logger';

/** Options for {@link createJwtVerifier}. */
export interface JwtVerifierOptions {
  /** Expected `iss`, e.g. http://127.0.0.1:8180/realms/shop. */
  issuer: string;
  /** Expected `aud` (one of). */
  audience: string;
  /** Defaults to the issuer's Keycloak certs endpoint. */
  jwksUrl?: string;
  /** Seconds of clock skew tolerated for exp/nbf/iat (default 30). */
  clockToleranceSec?: number;
  /** Accepted signature algorithms; never 'none' or HMAC (default RS256, PS256, ES256). */
  algorithms?: string[];
  /** Client ids whose tokens act for a service account rather than a person. */
  serviceClientIds?: readonly string[];
  /** The clock (tests move it to check expiry). */
  now?: () => Date;
}

/** Why a token was refused; for the operator's log, never sent to the caller. */
export type TokenRejection =
  | 'missing'
  | 'malformed'
  | 'expired'
  | 'not-yet-valid'
  | 'bad-signature'
  | 'unknown-key'
  | 'bad-claims'
  | 'bad-algorithm'
  | 'jwks-unavailable';

/** A token that failed verification. */
export class TokenRejectedError extends Error {
  constructor(
    readonly rejection: TokenRejection,
    detail: string,
  ) {
    super(`token rejected (${rejection}): ${detail}`);
    this.name = 'TokenRejectedError';
  }
}

/** A caller whose bearer token was verified. */
type VerifiedCaller = Caller & { kind: 'user' | 'service' };

/** Verifies bearer tokens and turns them into a {@link Caller}. */
export interface JwtVerifier {
  verify(token: string): Promise<VerifiedCaller>;
}

/** Most verified tokens a verifier remembers (the oldest entry goes first). */
const MAX_CACHED_TOKENS = 5_000;

const DEFAULT_ALGORITHMS = ['RS256', 'PS256', 'ES256'];

function classify(err: unknown): TokenRejection {
  if (err instanceof joseErrors.JWTExpired) return 'expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    return err.claim === 'nbf' ? 'not-yet-valid' : 'bad-claims';
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'bad-algorithm';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad-signature';
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'unknown-key';
  if (err instanceof joseErrors.JWKSTimeout) return 'jwks-unavailable';
  if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid) {
    return 'malformed';
  }
  if (err instanceof joseErrors.JOSENotSupported) return 'bad-algorithm';
  return 'jwks-unavailable';
}

function rolesOf(payload: JWTPayload): string[] {
  const realm = payload['realm_access'] as { roles?: unknown } | undefined;
  return Array.isArray(realm?.roles) ? realm.roles.filter((r) => typeof r === 'string') : [];
}

/**
 * Creates a verifier over the realm's JWKS (fetched once, cached, refetched when a token names
 * an unknown key id, so signing-key rotation needs no restart). Checks signature with an
 * algorithm allowlist, issuer, audience, expiry and not-before with a small clock tolerance.
 */
export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  const jwks = createRemoteJWKSet(
    new URL(options.jwksUrl ?? `${options.issuer}/protocol/openid-connect/certs`),
    { cooldownDuration: 5_000, cacheMaxAge: 10 * 60_000, timeoutDuration: 3_000 },
  );
  const serviceClients = new Set(options.serviceClientIds ?? ['shop-services']);
  // Verified tokens by their text, until they expire: a signed-in page reaches the gateway,
  // three subgraphs and four services with the same token, and a signature check costs more
  // than the rest of a call. Only successes are kept; the clock is the verifier's own.
  const verified = new Map<string, { caller: VerifiedCaller; expiresAtMs: number }>();
  const nowMs = (): number => (options.now ? options.now().getTime() : Date.now());
  return {
    async verify(token) {
      const hit = verified.get(token);
      if (hit !== undefined) {
        if (nowMs() < hit.expiresAtMs) return hit.caller;
        verified.delete(token);
      }
      const caller = await check(token);
      if (caller.expiresAt !== undefined) {
        if (verified.size >= MAX_CACHED_TOKENS) verified.delete(verified.keys().next().value!);
        verified.set(token, { caller, expiresAtMs: caller.expiresAt * 1000 });
      }
      return caller;
    },
  };

  async function check(token: string): Promise<VerifiedCaller> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: options.algorithms ?? DEFAULT_ALGORITHMS,
        clockTolerance: options.clockToleranceSec ?? 30,
        requiredClaims: ['exp', 'sub'],
        ...(options.now ? { currentDate: options.now() } : {}),
      }));
    } catch (err) {
      throw new TokenRejectedError(classify(err), (err as Error).message);
    }
    const azp = typeof payload['azp'] === 'string' ? payload['azp'] : undefined;
    const email = typeof payload['email'] === 'string' ? payload['email'] : undefined;
    return {
      kind: azp !== undefined && serviceClients.has(azp) ? 'service' : 'user',
      subject: payload.sub!,
      roles: rolesOf(payload),
      ...(email === undefined ? {} : { email }),
      ...(typeof payload.exp === 'number' ? { expiresAt: payload.exp } : {}),
      token,
    };
  }
}

/** Extracts a bearer token from an Authorization value; undefined when there is none. */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined || authorization.trim() === '') return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  if (!match) throw new TokenRejectedError('malformed', 'Authorization is not a bearer token');
  return match[1];
}

/**
 * A gRPC {@link Authenticator} that verifies the bearer token itself (never trusting identity
 * headers). No token means anonymous; whether anonymous may call an RPC is the service's policy.
 * A bad token is UNAUTHENTICATED with no detail for the caller and a log line for the operator.
 */
export function jwtAuthenticator(verifier: JwtVerifier, logger: Logger): Authenticator {
  return async (metadata: Metadata) => {
    const [raw] = metadata.get('authorization');
    try {
      const token = bearerToken(typeof raw === 'string' ? raw : undefined);
      if (token === undefined) return { kind: 'anonymous' };
      return await verifier.verify(token);
    } catch (err) {
      const rejection = err instanceof TokenRejectedError ? err.rejection : 'malformed';
      logger.warn({ rejection, reason: (err as Error).message }, 'rejected a bearer token');
      throw commonErrors.UNAUTHENTICATED({ message: 'Invalid or expired credentials' });
    }
  };
}

/** Options for {@link createServiceTokenProvider}. */
export interface ServiceTokenOptions {
  issuer: string;
  /**
   * The token endpoint to post the grant to; without it the issuer's discovery document names it.
   * In a cluster it is Keycloak's Service, so no discovery or grant goes out through the public
   * host.
   */
  tokenUrl?: string;
  clientId: string;
  clientSecret: string;
  /** Refresh this many seconds before expiry (default 30). */
  refreshBeforeSec?: number;
}

/** A cached client-credentials token for service-to-service calls. */
export interface ServiceTokenProvider {
  /** A valid access token, fetched only when none is cached or it is about to expire. */
  token(): Promise<string>;
  /** How many times a token was requested from the issuer (for tests and metrics). */
  readonly fetches: number;
}

/**
 * Obtains the service account's token with openid-client's client-credentials grant, caches it
 * and refreshes it shortly before expiry; concurrent callers share one in-flight request.
 */
export function createServiceTokenProvider(options: ServiceTokenOptions): ServiceTokenProvider {
  let client: Client | undefined;
  let cached: { token: string; expiresAt: number } | undefined;
  let inflight: Promise<string> | undefined;
  let fetches = 0;
  const margin = (options.refreshBeforeSec ?? 30) * 1000;

  const fetchToken = async (): Promise<string> => {
    if (!client) {
      const issuer =
        options.tokenUrl === undefined
          ? await Issuer.discover(options.issuer)
          : new Issuer({ issuer: options.issuer, token_endpoint: options.tokenUrl });
      client = new issuer.Client({
        client_id: options.clientId,
        client_secret: options.clientSecret,
        token_endpoint_auth_method: 'client_secret_basic',
      });
    }
    fetches += 1;
    const set = await client.grant({ grant_type: 'client_credentials' });
    if (!set.access_token) throw new Error('token endpoint returned no access_token');
    cached = { token: set.access_token, expiresAt: (set.expires_at ?? 0) * 1000 };
    return set.access_token;
  };

  return {
    get fetches() {
      return fetches;
    },
    token() {
      if (cached && cached.expiresAt - margin > Date.now()) return Promise.resolve(cached.token);
      inflight ??= fetchToken().finally(() => {
        inflight = undefined;
      });
      return inflight;
    },
  };
}

/**
 * The authenticator a process uses for its callers: token verification against the realm's
 * JWKS (`jwt`), or, for tests only, the identity headers as given (`trusted-metadata`).
 */
export function createAuthenticator(auth: AuthConfig, logger: Logger): Authenticator {
  if (auth.mode === 'trusted-metadata') {
    logger.warn(
      'trusting x-shop-* identity metadata without a token (AUTH_TRUST_IDENTITY_METADATA)',
    );
    return metadataAuthenticator;
  }
  return jwtAuthenticator(
    createJwtVerifier({
      issuer: auth.issuer,
      jwksUrl: auth.jwksUrl,
      audience: auth.audience,
      serviceClientIds: auth.serviceClientIds,
    }),
    logger,
  );
}

/** Who a process is when it calls another service on its own account (not a user's). */
export type ServiceCaller = () => Promise<Caller>;

/**
 * The process's own identity for onward calls: with `jwt`, the service account's token
 * (client credentials, cached until near expiry) so the callee verifies it like any other;
 * with `trusted-metadata`, a service identity in the headers.
 */
export function createServiceCaller(
  auth: AuthConfig,
  account: ServiceAccountConfig,
  serviceName: string,
): ServiceCaller {
  if (auth.mode === 'trusted-metadata') {
    const self: Caller = { kind: 'service', subject: serviceName, roles: ['service'] };
    return () => Promise.resolve(self);
  }
  const provider = createServiceTokenProvider(account);
  return async () => ({
    kind: 'service',
    subject: serviceName,
    roles: ['service'],
    token: await provider.token(),
  });
}
