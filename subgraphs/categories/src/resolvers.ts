import {
  fromGraphQLInput,
  batchLoader,
  present,
  rpc,
  type SubgraphContext,
  type SubgraphResolvers,
  subgraphResolvers,
} from '@shop/graphql';
import type { PromiseClient } from '@shop/platform/grpc';
import type { Logger } from '@shop/platform/logging';
import { category } from '@shop/proto';
import type { Resolvers } from '../generated/graphql';
import { inputShapes } from '../generated/proto-resolvers';
import DataLoader from 'dataloader';

/** The category service client this subgraph calls. */
export type CategoryClient = PromiseClient<typeof category.CategoryServiceService>;

/** Per-request context of the categories subgraph. */
export interface CategoriesContext extends SubgraphContext {
  /** Categories by id through BatchGetCategories (one call per request tick). */
  readonly categoryById: DataLoader<string, category.Category | null>;
  /** Direct children by parent id (ListChildren; calls of one tick run in parallel). */
  readonly childrenOf: DataLoader<string, category.Category[]>;
}

/** Builds the per-request context: the base context plus fresh loaders. */
export function categoriesContext(client: CategoryClient, logger: Logger) {
  return (base: SubgraphContext): CategoriesContext => {
    const categoryById = batchLoader(
      async (ids) =>
        (
          await rpc(
            client.batchGetCategories({ ids: [...ids] }, { metadata: base.metadata() }),
            logger,
          )
        ).categories,
      (c) => c.id,
    );
    const childrenOf = new DataLoader<string, category.Category[]>((parentIds) =>
      Promise.all(
        parentIds.map(async (parentId) => {
          const { categories } = await rpc(
            client.listChildren({ parentId }, { metadata: base.metadata() }),
            logger,
          );
          for (const c of categories) categoryById.prime(c.id, c);
          return categories;
        }),
      ),
    );
    return { ...base, categoryById, childrenOf };
  };
}

const presentItems = <T>(items: ReadonlyArray<T | null>): T[] =>
  items.filter((i): i is T => i !== null);

/** Resolvers of the categories subgraph: thin translations to CategoryService calls. */
export function categoriesResolvers(
  client: CategoryClient,
  logger: Logger,
): SubgraphResolvers<CategoriesContext> {
  // Field names, arguments and the context are checked against the generated resolver types.
  const resolvers: Resolvers<CategoriesContext> = {
    Query: {
      categories: async (_: unknown, _args: unknown, ctx: CategoriesContext) => {
        const { categories } = await rpc(
          client.listRootCategories({}, { metadata: ctx.metadata() }),
          logger,
        );
        for (const c of categories) ctx.categoryById.prime(c.id, c);
        return categories;
      },
      category: (_: unknown, args: { id: string }, ctx: CategoriesContext) =>
        ctx.categoryById.load(args.id),
    },
    Mutation: {
      createCategory: async (_, args, ctx) =>
        present(
          (
            await rpc(
              client.createCategory(
                category.CreateCategoryRequest.fromPartial(
                  fromGraphQLInput<category.CreateCategoryRequest>(
                    inputShapes,
                    'CreateCategoryInput',
                    args.input,
                  ),
                ),
                {
                  metadata: ctx.metadata(),
                },
              ),
              logger,
            )
          ).category,
          'category',
          logger,
        ),
    },
    Category: {
      __resolveReference: (ref: { id: string }, ctx: CategoriesContext) =>
        ctx.categoryById.load(ref.id),
      parent: (c: category.Category, _args: unknown, ctx: CategoriesContext) =>
        c.parentId ? ctx.categoryById.load(c.parentId) : null,
      children: (c: category.Category, _args: unknown, ctx: CategoriesContext) =>
        c.childCount === 0 ? [] : ctx.childrenOf.load(c.id),
      // The materialized path already names the ancestors: one batch for all of them.
      ancestors: async (c: category.Category, _args: unknown, ctx: CategoriesContext) =>
        presentItems(rethrow(await ctx.categoryById.loadMany(c.ancestorIds))),
    },
  };
  return subgraphResolvers(resolvers);
}

/** DataLoader.loadMany returns errors in place; surface the first as the field's error. */
function rethrow<T>(results: Array<T | Error>): T[] {
  const failure = results.find((r): r is Error => r instanceof Error);
  if (failure !== undefined) throw failure;
  return results as T[];
}
