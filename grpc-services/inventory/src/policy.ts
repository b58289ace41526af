import {
  commonErrors,
  hasRole,
  type AsyncServiceImplementation,
  type Caller,
} from '@shop/platform';
import type { inventory } from '@shop/proto';

/**
 * Who may call an RPC: anyone (stock levels are public on the storefront), operators (the
 * `admin` role), or operators and our own services (product creation sets initial stock).
 */
export type Access = 'public' | 'admin' | 'admin-or-service';

/** The one place that says who may call each InventoryService RPC. */
export const inventoryPolicy: Readonly<Record<keyof inventory.InventoryServiceService, Access>> = {
  getStock: 'public',
  batchGetStock: 'public',
  adjustStock: 'admin',
  setInitialStock: 'admin-or-service',
  listMovements: 'admin',
};

/** True when the caller may make a call with this access rule. */
export function isAllowed(access: Access, caller: Caller): boolean {
  switch (access) {
    case 'public':
      return true;
    case 'admin':
      return hasRole(caller, 'admin');
    case 'admin-or-service':
      return hasRole(caller, 'admin') || caller.kind === 'service';
  }
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
      if (!isAllowed(policy[key], ctx.caller)) {
        throw ctx.caller.kind === 'anonymous'
          ? commonErrors.UNAUTHENTICATED()
          : commonErrors.PERMISSION_DENIED();
      }
      return await handler(request, ctx);
    };
  }
  return guarded;
}
