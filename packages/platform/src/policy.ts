import { commonErrors } from './errors';
import type { AsyncServiceImplementation } from './grpc-server';
import { hasRole, type Caller, type SignedInCaller } from './identity';

/** Decides whether a caller may make a request. */
export type AccessRule = (caller: Caller, request: unknown) => boolean;

/** Anyone, signed in or not (catalog reads). */
export const anyone: AccessRule = () => true;

/** Any signed-in caller: a user or one of our services. */
export const signedIn: AccessRule = (caller) => caller.kind !== 'anonymous';

/** Callers holding the role. */
export const role =
  (name: string): AccessRule =>
  (caller) =>
    hasRole(caller, name);

/** Callers holding the role, or any of our own services (service-account tokens). */
export const roleOrService =
  (name: string): AccessRule =>
  (caller) =>
    caller.kind === 'service' || hasRole(caller, name);

/**
 * The caller of a handler that needs one (its rule is {@link signedIn} or stricter), narrowed to
 * a signed-in caller; UNAUTHENTICATED for an anonymous one.
 */
export function signedInCaller(caller: Caller): SignedInCaller {
  if (caller.kind === 'anonymous') throw commonErrors.UNAUTHENTICATED();
  return caller;
}

/** A service's rule for every RPC: the one place that says who may call what. */
export type Policy<D> = Readonly<Record<keyof D, AccessRule>>;

/**
 * Wraps every handler with its rule. A refused anonymous caller gets UNAUTHENTICATED, a refused
 * signed-in caller PERMISSION_DENIED. With `enforce` off the handlers are returned unchanged
 * (until every caller presents verified tokens, see the auth issue).
 */
export function withPolicy<D>(
  impl: AsyncServiceImplementation<D>,
  policy: Policy<D>,
  enforce: boolean,
): AsyncServiceImplementation<D> {
  if (!enforce) return impl;
  const guarded = {} as AsyncServiceImplementation<D>;
  for (const key of Object.keys(impl) as Array<keyof D>) {
    const handler = impl[key];
    const rule = policy[key];
    guarded[key] = async (request, ctx) => {
      if (!rule(ctx.caller, request)) {
        throw ctx.caller.kind === 'anonymous'
          ? commonErrors.UNAUTHENTICATED()
          : commonErrors.PERMISSION_DENIED();
      }
      return await handler(request, ctx);
    };
  }
  return guarded;
}
