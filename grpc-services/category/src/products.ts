import { Metadata } from '@grpc/grpc-js';
import { callDownstream, identityMetadata, type Caller, type PromiseClient } from '@shop/platform';
import { product } from '@shop/proto';

/**
 * What the category service needs to know about products. Answered by the product service over
 * gRPC at run time (no package dependency), which keeps ownership clean: only the product
 * service writes products.
 */
export interface ProductDirectory {
  /** True when at least one live product is filed under the category. */
  hasProducts(categoryId: string, caller: Caller): Promise<boolean>;
  /** Refiles every live product of `fromId` under `toId`; returns how many moved. */
  moveProducts(fromId: string, toId: string, caller: Caller): Promise<number>;
}

/** A {@link ProductDirectory} over a product service client. */
export function grpcProductDirectory(
  client: PromiseClient<product.ProductServiceService>,
): ProductDirectory {
  const call = <T>(fn: () => Promise<T>): Promise<T> => callDownstream('product', fn);
  return {
    async hasProducts(categoryId, caller) {
      const res = await call(() =>
        client.listProducts(
          product.ListProductsRequest.fromPartial({
            filter: { categoryId },
            page: { pageSize: 1 },
          }),
          { metadata: identityMetadata(caller, new Metadata()) },
        ),
      );
      return res.products.length > 0;
    },
    async moveProducts(fromId, toId, caller) {
      let moved = 0;
      // Each pass re-reads the first page: refiled products leave the filter, so this
      // terminates and is safe to re-run after a crash.
      for (;;) {
        const page = await call(() =>
          client.listProducts(
            product.ListProductsRequest.fromPartial({
              filter: { categoryId: fromId },
              page: { pageSize: 100 },
            }),
            { metadata: identityMetadata(caller, new Metadata()) },
          ),
        );
        if (page.products.length === 0) return moved;
        for (const p of page.products) {
          await call(() =>
            client.updateProduct(
              { id: p.id, product: { ...p, categoryId: toId }, updateMask: ['category_id'] },
              { metadata: identityMetadata(caller, new Metadata()) },
            ),
          );
          moved += 1;
        }
      }
    },
  };
}
