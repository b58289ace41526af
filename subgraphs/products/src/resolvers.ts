import {
  fromGraphQLInput,
  batchLoader,
  paginate,
  present,
  rpc,
  type Page,
  type SubgraphContext,
  type SubgraphResolvers,
  subgraphResolvers,
} from '@shop/graphql';
import type { PromiseClient } from '@shop/platform/grpc';
import type { Logger } from '@shop/platform/logging';
import { product } from '@shop/proto';
import type DataLoader from 'dataloader';
import type { Resolvers } from '../generated/graphql';
import { inputShapes, protoResolvers } from '../generated/proto-resolvers';

type UpdateField = keyof typeof inputShapes.UpdateProductInput;

/** The product service client this subgraph calls. */
export type ProductClient = PromiseClient<typeof product.ProductServiceService>;

/** Per-request context of the products subgraph. */
export interface ProductsContext extends SubgraphContext {
  /** Products by id through BatchGetProducts (one call per request tick). */
  readonly productById: DataLoader<string, product.Product | null>;
}

/** Builds the per-request context: the base context plus fresh loaders. */
export function productsContext(client: ProductClient, logger: Logger) {
  return (base: SubgraphContext): ProductsContext => ({
    ...base,
    productById: batchLoader(
      async (ids) =>
        (
          await rpc(
            client.batchGetProducts({ ids: [...ids] }, { metadata: base.metadata() }),
            logger,
          )
        ).products,
      (p) => p.id,
    ),
  });
}

interface ConnectionArgs {
  first?: number | null;
  after?: string | null;
  orderBy?: product.ProductOrderBy | null;
}

/** Resolvers of the products subgraph: thin translations to ProductService calls. */
export function productsResolvers(
  client: ProductClient,
  logger: Logger,
): SubgraphResolvers<ProductsContext> {
  const list = (
    ctx: ProductsContext,
    filter: Partial<product.ProductFilter>,
    args: ConnectionArgs,
  ) =>
    paginate(args, async (pageSize, pageToken): Promise<Page<product.Product>> => {
      const res = await rpc(
        client.listProducts(
          product.ListProductsRequest.fromPartial({
            filter,
            page: { pageSize, pageToken },
            orderBy: args.orderBy ?? product.ProductOrderBy.PRODUCT_ORDER_BY_UNSPECIFIED,
          }),
          { metadata: ctx.metadata() },
        ),
        logger,
      );
      // Later reference lookups of these products in the same request need no call.
      for (const p of res.products) ctx.productById.prime(p.id, p);
      return {
        items: res.products,
        nextPageToken: res.page?.nextPageToken ?? '',
        totalSize: res.page?.totalSize,
      };
    });

  // Field names, arguments and the context are checked against the generated resolver types.
  const resolvers: Resolvers<ProductsContext> = {
    Query: {
      products: (_, args, ctx) =>
        list(
          ctx,
          fromGraphQLInput<product.ProductFilter>(inputShapes, 'ProductFilter', args.filter ?? {}),
          args,
        ),
      product: (_, args, ctx) => ctx.productById.load(args.id),
    },
    Mutation: {
      createProduct: async (_, args, ctx) =>
        present(
          (
            await rpc(
              client.createProduct(
                product.CreateProductRequest.fromPartial(
                  fromGraphQLInput<product.CreateProductRequest>(
                    inputShapes,
                    'CreateProductInput',
                    args.input,
                  ),
                ),
                { metadata: ctx.metadata() },
              ),
              logger,
            )
          ).product,
          'product',
          logger,
        ),
      updateProduct: async (_, args, ctx) =>
        present(
          (
            await rpc(
              client.updateProduct(
                product.UpdateProductRequest.fromPartial({
                  id: args.id,
                  expectedVersion: args.expectedVersion ?? undefined,
                  product: product.Product.fromPartial(
                    fromGraphQLInput<product.Product>(
                      inputShapes,
                      'UpdateProductInput',
                      args.input,
                    ),
                  ),
                  // Every field given, null included (null clears it), by its proto name.
                  updateMask: Object.keys(args.input).map(
                    (name) => inputShapes.UpdateProductInput[name as UpdateField].proto,
                  ),
                }),
                { metadata: ctx.metadata() },
              ),
              logger,
            )
          ).product,
          'product',
          logger,
        ),
      deleteProduct: async (_, args, ctx) =>
        present(
          (
            await rpc(
              client.deleteProduct(
                { id: args.id, expectedVersion: args.expectedVersion ?? undefined },
                { metadata: ctx.metadata() },
              ),
              logger,
            )
          ).product,
          'product',
          logger,
        ),
    },
    Product: {
      __resolveReference: (ref: { id: string }, ctx) => ctx.productById.load(ref.id),
      category: (p: product.Product) =>
        p.categoryId ? { __typename: 'Category', id: p.categoryId } : null,
    },
    Category: {
      __resolveReference: (ref: { id: string }) => ref,
      products: (category: { id: string }, args, ctx) =>
        list(
          ctx,
          { categoryId: category.id, includeSubcategories: args.includeSubcategories ?? true },
          args,
        ),
    },
  };
  return subgraphResolvers(protoResolvers, resolvers);
}
