import { commonErrors, hasRole, type AsyncServiceImplementation } from '@shop/platform';
import type { product } from '@shop/proto';

/** Who may call an RPC: anyone, or operators (the `admin` role) and our own services. */
export type Access = 'public' | 'admin';

/** The one place that says which product RPCs are admin-only. */
export const productPolicy: Readonly<Record<keyof product.ProductServiceService, Access>> = {
  createProduct: 'admin',
  getProduct: 'public',
  batchGetProducts: 'public',
  listProducts: 'public',
  updateProduct: 'admin',
  deleteProduct: 'admin',
};

/**
 * Wraps the handlers with the policy. Until the auth issue lands this is switched off by config
 * (`ENFORCE_POLICY`), so every caller may write; turning it on changes nothing else.
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
      if (policy[key] === 'admin') {
        if (ctx.caller.kind === 'anonymous') throw commonErrors.UNAUTHENTICATED();
        if (ctx.caller.kind !== 'service' && !hasRole(ctx.caller, 'admin')) {
          throw commonErrors.PERMISSION_DENIED();
        }
      }
      return await handler(request, ctx);
    };
  }
  return guarded;
}
