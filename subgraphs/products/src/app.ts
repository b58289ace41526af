import { startServiceSubgraph, type RunningSubgraph, type SubgraphOverrides } from '@shop/graphql';
import { product } from '@shop/proto';
import type { ProductsSubgraphConfig } from './config';
import { productsContext, productsResolvers } from './resolvers';

/** Replaceable dependencies, for tests. */
export type ProductsSubgraphOverrides = SubgraphOverrides;

/** Connects to the product service and serves the products subgraph. */
export function startProductsSubgraph(
  config: ProductsSubgraphConfig,
  overrides: ProductsSubgraphOverrides = {},
): Promise<RunningSubgraph> {
  const subgraph = {
    serviceName: 'shop.product.v1.ProductService',
    definition: product.ProductServiceService,
    resolvers: productsResolvers,
    context: productsContext,
  };
  const where = { config, serviceUrl: config.productServiceUrl, dir: __dirname };
  return startServiceSubgraph(subgraph, where, overrides);
}
