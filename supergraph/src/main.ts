// Process entry: tracing first (the gateway's fetch spans need the provider registered before
// @apollo/gateway loads), then config, then the app. Wiring only.
import type * as Platform from '@shop/platform';
import { startTracing } from '@shop/platform/tracing';
import type * as GatewayModule from './gateway';
import { loadGatewayConfig } from './config';

const config = loadGatewayConfig(process.env);
const tracing = startTracing({
  serviceName: config.serviceName,
  otlpTracesUrl: config.otlpTracesUrl,
});

// eslint-disable-next-line @typescript-eslint/no-require-imports
const app = require('./gateway') as typeof GatewayModule;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const platform = require('@shop/platform') as typeof Platform;

const logger = platform.createLogger({ service: config.serviceName, level: config.logLevel });
app.startGateway(config, { logger }).then(
  (gateway) =>
    platform.stopOnSignals({ stop: () => gateway.stop().then(() => tracing.shutdown()) }, logger),
  (err: unknown) => {
    logger.fatal({ err }, 'gateway failed to start');
    process.exitCode = 1;
    void tracing.shutdown();
  },
);
