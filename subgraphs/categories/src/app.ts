import { startServiceSubgraph, type RunningSubgraph, type SubgraphOverrides } from '@shop/graphql';
import { category } from '@shop/proto';
import type { CategoriesSubgraphConfig } from './config';
import { categoriesContext, categoriesResolvers } from './resolvers';

/** Replaceable dependencies, for tests. */
export type CategoriesSubgraphOverrides = SubgraphOverrides;

/** Connects to the category service and serves the categories subgraph. */
export function startCategoriesSubgraph(
  config: CategoriesSubgraphConfig,
  overrides: CategoriesSubgraphOverrides = {},
): Promise<RunningSubgraph> {
  const subgraph = {
    serviceName: 'shop.category.v1.CategoryService',
    definition: category.CategoryServiceService,
    resolvers: categoriesResolvers,
    context: categoriesContext,
  };
  const where = { config, serviceUrl: config.categoryServiceUrl, dir: __dirname };
  return startServiceSubgraph(subgraph, where, overrides);
}
