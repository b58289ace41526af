// Process entry. Tracing must be installed before anything loads @grpc/grpc-js, so only tracing
// and config (both free of gRPC) are imported statically; the app is required afterwards.
import { startTracing } from '@shop/platform/tracing';
import { loadNotificationConfig } from './config';

async function main(): Promise<void> {
  const config = loadNotificationConfig(process.env);
  const tracing = startTracing({
    serviceName: config.serviceName,
    otlpTracesUrl: config.otlpTracesUrl,
  });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const platform = require('@shop/platform') as typeof import('@shop/platform');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startNotificationService } = require('./app') as typeof import('./app');
  const logger = platform.createLogger({ service: config.serviceName, level: config.logLevel });
  const service = await startNotificationService(config, { logger });
  platform.stopOnSignals({ stop: () => service.stop().then(() => tracing.shutdown()) }, logger);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `notification-service failed to start: ${(err as Error).stack ?? String(err)}\n`,
  );
  process.exit(1);
});
