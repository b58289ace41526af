// Process entry: runProcess starts tracing before the app module loads (see
// @shop/platform/main). Wiring only.
import { runProcess } from '@shop/platform/main';
import type * as GatewayModule from './gateway';
import { loadGatewayConfig } from './config';

runProcess(
  'gateway',
  loadGatewayConfig(process.env),
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  () => (require('./gateway') as typeof GatewayModule).startGateway,
);
