import { Metadata, type Interceptor } from '@grpc/grpc-js';
import { callDownstream, createGrpcClient, identityMetadata, type Caller } from '@shop/platform';
import { product, type common } from '@shop/proto';

/** What an order needs to know about a product: its identity and current price. */
export interface PricedProduct {
  id: string;
  sku: string;
  name: string;
  price: common.Money;
  deleted: boolean;
}

/** The source of prices. Prices never come from the caller of PlaceOrder. */
export interface ProductCatalog {
  /** Products by id; ids that do not exist are absent from the map. */
  lookup(ids: readonly string[], caller: Caller): Promise<Map<string, PricedProduct>>;
  close(): void;
}

/** A {@link ProductCatalog} over the product service's BatchGetProducts RPC. */
export function createGrpcProductCatalog(
  address: string,
  options: { interceptors?: Interceptor[]; deadlineMs?: number } = {},
): ProductCatalog {
  const client = createGrpcClient(
    'shop.product.v1.ProductService',
    product.ProductServiceService,
    address,
    { interceptors: options.interceptors ?? [], deadlineMs: options.deadlineMs ?? 3_000 },
  );
  return {
    async lookup(ids, caller) {
      const response = await callDownstream('product', () =>
        client.batchGetProducts(
          { ids: [...ids] },
          { metadata: identityMetadata(caller, new Metadata()) },
        ),
      );
      return new Map(
        response.products.map((p) => [
          p.id,
          {
            id: p.id,
            sku: p.sku,
            name: p.name,
            price: p.price ?? { amount: 0, currency: '' },
            deleted: p.deleted,
          },
        ]),
      );
    },
    close: () => client.close(),
  };
}
