import {
  batchLoader,
  codedError,
  present,
  rpc,
  type SubgraphContext,
  type SubgraphResolvers,
  subgraphResolvers,
} from '@shop/graphql';
import type { PromiseClient } from '@shop/platform/grpc';
import type { Logger } from '@shop/platform/logging';
import type { inventory } from '@shop/proto';
import type { Resolvers } from '../generated/graphql';
import type DataLoader from 'dataloader';

/** The inventory service client this subgraph calls. */
export type InventoryClient = PromiseClient<typeof inventory.InventoryServiceService>;

/** Per-request context of the inventory subgraph. */
export interface InventoryContext extends SubgraphContext {
  /** Stock by product id through BatchGetStock (one call per request tick). */
  readonly stockByProductId: DataLoader<string, inventory.Stock | null>;
}

/** Builds the per-request context: the base context plus fresh loaders. */
export function inventoryContext(client: InventoryClient, logger: Logger) {
  return (base: SubgraphContext): InventoryContext => ({
    ...base,
    stockByProductId: batchLoader(
      async (ids) =>
        (
          await rpc(
            client.batchGetStock({ productIds: [...ids] }, { metadata: base.metadata() }),
            logger,
          )
        ).stocks,
      (s) => s.productId,
    ),
  });
}

/** Resolvers of the inventory subgraph: thin translations to InventoryService calls. */
export function inventoryResolvers(
  client: InventoryClient,
  logger: Logger,
): SubgraphResolvers<InventoryContext> {
  // Field names, arguments and the context are checked against the generated resolver types.
  const resolvers: Resolvers<InventoryContext> = {
    Query: {
      stock: (_: unknown, args: { productId: string }, ctx: InventoryContext) => {
        if (args.productId.trim() === '') {
          throw codedError('BAD_USER_INPUT', 'productId is required', {
            fieldViolations: [{ field: 'productId', description: 'is required' }],
          });
        }
        return ctx.stockByProductId.load(args.productId);
      },
    },
    Mutation: {
      adjustStock: async (
        _: unknown,
        args: {
          productId: string;
          delta: number;
          reason: string;
          idempotencyKey?: string | null;
          expectedVersion?: number | null;
        },
        ctx: InventoryContext,
      ) =>
        present(
          (
            await rpc(
              client.adjustStock(
                {
                  productId: args.productId,
                  delta: args.delta,
                  reason: args.reason,
                  idempotencyKey: args.idempotencyKey ?? '',
                  expectedVersion: args.expectedVersion ?? undefined,
                },
                { metadata: ctx.metadata() },
              ),
              logger,
            )
          ).stock,
          'stock',
          logger,
        ),
      setInitialStock: async (
        _: unknown,
        args: { productId: string; onHand: number },
        ctx: InventoryContext,
      ) =>
        present(
          (
            await rpc(
              client.setInitialStock(
                { productId: args.productId, onHand: args.onHand },
                { metadata: ctx.metadata() },
              ),
              logger,
            )
          ).stock,
          'stock',
          logger,
        ),
    },
    Stock: {
      __resolveReference: (ref: { productId: string }, ctx: InventoryContext) =>
        ctx.stockByProductId.load(ref.productId),
      product: (s: inventory.Stock) => ({ __typename: 'Product', id: s.productId }),
    },
    Product: {
      __resolveReference: (ref: { id: string }) => ref,
      inventory: (p: { id: string }, _args: unknown, ctx: InventoryContext) =>
        ctx.stockByProductId.load(p.id),
    },
  };
  return subgraphResolvers(resolvers);
}
