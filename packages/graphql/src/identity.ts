import { Metadata } from '@grpc/grpc-js';
import {
  IDENTITY_METADATA,
  identityMetadata,
  metadataAuthenticator,
  type Authenticator,
  type Caller,
  type SignedInCaller,
} from '@shop/platform/grpc';
import { codedError } from './errors';

/** Request headers as Node gives them, or anything with a `get`. */
export type HeaderSource =
  | Readonly<Record<string, string | string[] | undefined>>
  | { get(name: string): string | null | undefined };

const headerValue = (headers: HeaderSource, name: string): string | undefined => {
  const raw =
    typeof (headers as { get?: unknown }).get === 'function'
      ? (headers as { get(name: string): string | null | undefined }).get(name)
      : (headers as Readonly<Record<string, string | string[] | undefined>>)[name];
  const value = Array.isArray(raw) ? raw[0] : raw;
  return value === null || value === undefined || value === '' ? undefined : value;
};

/** The identity headers, as gRPC metadata, so one {@link Authenticator} serves both edges. */
export function identityFromHeaders(headers: HeaderSource): Metadata {
  const metadata = new Metadata();
  for (const key of Object.values(IDENTITY_METADATA)) {
    const value = headerValue(headers, key);
    if (value !== undefined) metadata.set(key, value);
  }
  return metadata;
}

/**
 * Resolves the caller of a subgraph request from the headers the gateway forwards. Subgraphs pass
 * the token-verifying authenticator (`createAuthenticator`); the default, trusting the identity
 * headers, is for tests.
 */
export function callerFromHeaders(
  headers: HeaderSource,
  authenticate: Authenticator = metadataAuthenticator,
): Promise<Caller> {
  return authenticate(identityFromHeaders(headers));
}

/** The headers that carry a caller from the gateway to a subgraph. */
export function identityHeaders(caller: Caller): Record<string, string> {
  const metadata = identityMetadata(caller, new Metadata());
  const headers: Record<string, string> = {};
  for (const [key, values] of Object.entries(metadata.getMap())) {
    if (typeof values === 'string') headers[key] = values;
  }
  return headers;
}

/** Fresh outgoing gRPC metadata acting on the caller's behalf. */
export function grpcMetadata(caller: Caller): Metadata {
  return identityMetadata(caller, new Metadata());
}

/**
 * The caller of a field only signed-in callers may read; UNAUTHENTICATED with `message`
 * (what signing in would show) for an anonymous one.
 */
export function signedInCaller(caller: Caller, message = 'Sign in to see this'): SignedInCaller {
  if (caller.kind === 'anonymous') throw codedError('UNAUTHENTICATED', message);
  return caller;
}
