import {
  commonErrors,
  hasRole,
  type AsyncServiceImplementation,
  type Caller,
} from '@shop/platform';
import type { user } from '@shop/proto';

/**
 * Who may call an RPC:
 * - `self`: the user the request names (its `id`/`user_id`/`subject`), an operator, or a service;
 * - `self-batch`: like `self` for every id of a batch;
 * - `admin`: operators (role `admin`) and our own services.
 */
export type Access = 'self' | 'self-batch' | 'admin';

/** The one place that says who may call each UserService RPC: users see and edit only themselves. */
export const userPolicy: Readonly<Record<keyof user.UserServiceService, Access>> = {
  getUser: 'self',
  batchGetUsers: 'self-batch',
  listUsers: 'admin',
  upsertUserFromClaims: 'self',
  updateProfile: 'self',
  addAddress: 'self',
  updateAddress: 'self',
  removeAddress: 'self',
  setDefaultAddress: 'self',
  updateNotificationPreferences: 'self',
};

/** The user ids a request is about, whichever field names them. */
export function subjectsOf(request: unknown): string[] {
  const r = request as { id?: unknown; userId?: unknown; subject?: unknown; ids?: unknown };
  if (Array.isArray(r.ids)) return r.ids.filter((v): v is string => typeof v === 'string');
  for (const v of [r.userId, r.id, r.subject]) if (typeof v === 'string') return [v];
  return [];
}

/** True when the caller may make this request under this rule. */
export function isAllowed(access: Access, caller: Caller, request: unknown): boolean {
  if (caller.kind === 'anonymous') return false;
  if (caller.kind === 'service' || hasRole(caller, 'admin')) return true;
  if (access === 'admin') return false;
  const subjects = subjectsOf(request);
  return subjects.length > 0 && subjects.every((s) => s === caller.subject);
}

/**
 * Wraps the handlers with the policy. Until the auth issue lands this is switched off by config
 * (`ENFORCE_POLICY`); turning it on changes nothing else.
 */
export function withPolicy<D>(
  impl: AsyncServiceImplementation<D>,
  policy: Readonly<Record<keyof D, Access>>,
  enforce: boolean,
): AsyncServiceImplementation<D> {
  if (!enforce) return impl;
  const guarded = {} as AsyncServiceImplementation<D>;
  for (const key of Object.keys(impl) as Array<keyof D>) {
    const handler = impl[key];
    guarded[key] = async (request, ctx) => {
      if (!isAllowed(policy[key], ctx.caller, request)) {
        throw ctx.caller.kind === 'anonymous'
          ? commonErrors.UNAUTHENTICATED()
          : commonErrors.PERMISSION_DENIED();
      }
      return await handler(request, ctx);
    };
  }
  return guarded;
}
