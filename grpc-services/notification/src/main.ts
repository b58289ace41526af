// Process entry: runProcess starts tracing before the app module loads (see
// @shop/platform/main). Wiring only.
import { runProcess } from '@shop/platform/main';
import type * as AppModule from './app';
import { loadNotificationConfig } from './config';

runProcess(
  'notification service',
  loadNotificationConfig(process.env),
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  () => (require('./app') as typeof AppModule).startNotificationService,
);
