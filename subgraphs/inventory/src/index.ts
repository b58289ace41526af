/** The inventory subgraph: Product.inventory and stock adjustments. */
export { startInventorySubgraph } from './app';
export type { InventorySubgraphOverrides } from './app';
export { loadInventorySubgraphConfig } from './config';
export type { InventorySubgraphConfig } from './config';
