// Process entry: runProcess starts tracing before the app module loads (see
// @shop/platform/main). Wiring only.
import { runProcess } from '@shop/platform/main';
import type * as AppModule from './app';
import { loadProductsSubgraphConfig } from './config';

runProcess(
  'products subgraph',
  loadProductsSubgraphConfig(process.env),
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  () => (require('./app') as typeof AppModule).startProductsSubgraph,
);
