/** The products subgraph: Product entity, listings and admin mutations. */
export { startProductsSubgraph } from './app';
export type { ProductsSubgraphOverrides } from './app';
export { loadProductsSubgraphConfig } from './config';
export type { ProductsSubgraphConfig } from './config';
