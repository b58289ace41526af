import { anyone, isAdmin, type AccessRule, type Caller, type Policy } from '@shop/platform';
import type { user } from '@shop/proto';

/**
 * Who may call an RPC:
 * - `self`: the user the request names (its `id`/`user_id`/`subject`), an operator, or a service;
 * - `self-batch`: like `self` for every id of a batch;
 * - `admin`: operators (role `admin`) and our own services.
 */
export type Access = 'self' | 'self-batch' | 'admin';

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
  if (caller.kind === 'service' || isAdmin(caller)) return true;
  if (access === 'admin') return false;
  const subjects = subjectsOf(request);
  return subjects.length > 0 && subjects.every((s) => s === caller.subject);
}

const rule =
  (access: Access): AccessRule =>
  (caller, request) =>
    isAllowed(access, caller, request);

/** The one place that says who may call each UserService RPC: users see and edit only themselves. */
export const userPolicy: Policy<user.UserServiceService> = {
  getUser: rule('self'),
  batchGetUsers: rule('self-batch'),
  listUsers: rule('admin'),
  upsertUserFromClaims: rule('self'),
  updateProfile: rule('self'),
  addAddress: rule('self'),
  updateAddress: rule('self'),
  removeAddress: rule('self'),
  setDefaultAddress: rule('self'),
  updateNotificationPreferences: rule('self'),
  // Sign-up is for people without an account yet.
  register: anyone,
};
