/** The categories subgraph: Category entity and the category tree. */
export { startCategoriesSubgraph } from './app';
export type { CategoriesSubgraphOverrides } from './app';
export { loadCategoriesSubgraphConfig } from './config';
export type { CategoriesSubgraphConfig } from './config';
