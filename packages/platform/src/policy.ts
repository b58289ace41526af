import { commonErrors } from './errors';
import type { AsyncServiceImplementation } from './grpc-server';
import { hasRole, type Caller } from './identity';

/** Decides whether a caller may make a request. */
export type AccessRule = (caller: Caller, request: unknown) => boolean;

/** Anyone, signed in or not (catalog reads). */
export const anyone: AccessRule = () => true;

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
