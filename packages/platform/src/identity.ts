import type { Metadata } from '@grpc/grpc-js';

/** Who is making a call. Services decide what each kind may do. */
export type Caller =
  | { readonly kind: 'anonymous' }
  | {
      readonly kind: 'user' | 'service';
      /** Identity provider subject (user id) or service account name. */
      readonly subject: string;
      readonly roles: readonly string[];
      readonly email?: string;
      /** The bearer token the caller presented, forwarded on onward calls. */
      readonly token?: string;
      /** When the presented token expires (epoch seconds), for long-lived connections. */
      readonly expiresAt?: number;
    };

/** A caller that presented an identity: a user or one of our services. */
export type SignedInCaller = Exclude<Caller, { kind: 'anonymous' }>;

/** The role of operators, who may see and change every customer's data. */
export const ADMIN_ROLE = 'admin';

/** Resolves the caller of an RPC from its metadata; throws UNAUTHENTICATED on a bad credential. */
export type Authenticator = (metadata: Metadata) => Promise<Caller>;

/** Metadata keys that carry identity between our processes. */
export const IDENTITY_METADATA = {
  authorization: 'authorization',
  subject: 'x-shop-subject',
  roles: 'x-shop-roles',
  kind: 'x-shop-caller-kind',
  email: 'x-shop-email',
} as const;

const first = (md: Metadata, key: string): string | undefined => {
  const [value] = md.get(key);
  return typeof value === 'string' && value.length > 0 ? value : undefined;
};

/**
 * Reads the identity headers our own callers set. It trusts them as given, so it only fits a
 * network where nothing but our processes can reach the services; a token-verifying
 * authenticator replaces it where that does not hold.
 */
export const metadataAuthenticator: Authenticator = (metadata) => {
  const subject = first(metadata, IDENTITY_METADATA.subject);
  if (subject === undefined) return Promise.resolve({ kind: 'anonymous' });
  const kind = first(metadata, IDENTITY_METADATA.kind) === 'service' ? 'service' : 'user';
  const roles = (first(metadata, IDENTITY_METADATA.roles) ?? '')
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r.length > 0);
  const bearer = first(metadata, IDENTITY_METADATA.authorization);
  const email = first(metadata, IDENTITY_METADATA.email);
  return Promise.resolve({
    kind,
    subject,
    roles,
    ...(email === undefined ? {} : { email }),
    ...(bearer?.startsWith('Bearer ') ? { token: bearer.slice(7) } : {}),
  });
};

/** Writes a caller's identity into outgoing metadata, so onward calls act on its behalf. */
export function identityMetadata(caller: Caller, metadata: Metadata): Metadata {
  if (caller.kind === 'anonymous') return metadata;
  metadata.set(IDENTITY_METADATA.subject, caller.subject);
  metadata.set(IDENTITY_METADATA.kind, caller.kind);
  metadata.set(IDENTITY_METADATA.roles, caller.roles.join(','));
  if (caller.email !== undefined) metadata.set(IDENTITY_METADATA.email, caller.email);
  if (caller.token !== undefined)
    metadata.set(IDENTITY_METADATA.authorization, `Bearer ${caller.token}`);
  return metadata;
}

/** True when the caller holds the role. */
export function hasRole(caller: Caller, role: string): boolean {
  return caller.kind !== 'anonymous' && caller.roles.includes(role);
}

/** True when the caller is an operator (role {@link ADMIN_ROLE}). */
export const isAdmin = (caller: Caller): boolean => hasRole(caller, ADMIN_ROLE);
