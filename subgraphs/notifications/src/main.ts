// Process entry: tracing first (it must patch @grpc/grpc-js before anything loads it), then
// config, then the app. Wiring only.
import type * as Platform from '@shop/platform';
import { startTracing } from '@shop/platform/tracing';
import type * as AppModule from './app';
import { loadNotificationsSubgraphConfig } from './config';

const config = loadNotificationsSubgraphConfig(process.env);
const tracing = startTracing({
  serviceName: config.serviceName,
  otlpTracesUrl: config.otlpTracesUrl,
});

// eslint-disable-next-line @typescript-eslint/no-require-imports
const app = require('./app') as typeof AppModule;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const platform = require('@shop/platform') as typeof Platform;

const logger = platform.createLogger({ service: config.serviceName, level: config.logLevel });
app.startNotificationsSubgraph(config, { logger }).then(
  (subgraph) =>
    platform.stopOnSignals({ stop: () => subgraph.stop().then(() => tracing.shutdown()) }, logger),
  (err: unknown) => {
    logger.fatal({ err }, 'notifications subgraph failed to start');
    process.exitCode = 1;
    void tracing.shutdown();
  },
);
