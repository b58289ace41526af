import { startServiceSubgraph, type RunningSubgraph, type SubgraphOverrides } from '@shop/graphql';
import { inventory } from '@shop/proto';
import type { InventorySubgraphConfig } from './config';
import { inventoryContext, inventoryResolvers } from './resolvers';

/** Replaceable dependencies, for tests. */
export type InventorySubgraphOverrides = SubgraphOverrides;

/** Connects to the inventory service and serves the inventory subgraph. */
export function startInventorySubgraph(
  config: InventorySubgraphConfig,
  overrides: InventorySubgraphOverrides = {},
): Promise<RunningSubgraph> {
  const subgraph = {
    serviceName: 'shop.inventory.v1.InventoryService',
    definition: inventory.InventoryServiceService,
    resolvers: inventoryResolvers,
    context: inventoryContext,
  };
  const where = { config, serviceUrl: config.inventoryServiceUrl, dir: __dirname };
  return startServiceSubgraph(subgraph, where, overrides);
}
