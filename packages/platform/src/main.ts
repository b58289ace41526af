/**
 * The one way a process starts (`@shop/platform/main`): tracing first, because it must patch
 * @grpc/grpc-js, http, undici, kafkajs and mongodb before anything loads them; then the logger;
 * then the app, which `loadStart` requires only now; stopped gracefully on SIGTERM or SIGINT
 * (then the tracer flushes). A failed start is logged as fatal and the process exits with 1.
 *
 * This module loads nothing else of the platform before tracing has started.
 */
import type * as Logging from './logger';
import type { LoggerOptions } from './logger';
import type * as Startup from './startup';
import { startTracing } from './tracing';

/** What every process's config carries (one typed config per process). */
export interface ProcessConfig {
  readonly serviceName: string;
  readonly logLevel?: LoggerOptions['level'];
  readonly otlpTracesUrl?: string | undefined;
}

/** A started process: the app, the service or the gateway. */
export interface StartedProcess {
  stop(): Promise<void>;
}

/** The app's start function, e.g. `startProductService`. */
export type StartProcess<C> = (
  config: C,
  deps: { logger: Logging.Logger },
) => Promise<StartedProcess>;

/**
 * Starts a process: `what` names it in logs ("product service"); `loadStart` requires the app
 * module and returns its start function (called after tracing has started).
 */
export function runProcess<C extends ProcessConfig>(
  what: string,
  config: C,
  loadStart: () => StartProcess<C>,
): void {
  const tracing = startTracing({
    serviceName: config.serviceName,
    otlpTracesUrl: config.otlpTracesUrl,
  });
  // Required only now, after tracing has patched what they load.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createLogger } = require('./logger') as typeof Logging;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { stopOnSignals } = require('./startup') as typeof Startup;
  const logger = createLogger({ service: config.serviceName, level: config.logLevel });
  const failed = (err: unknown): void => {
    logger.fatal({ err }, `${what} failed to start`);
    process.exitCode = 1;
    void tracing.shutdown();
  };
  let start: StartProcess<C>;
  try {
    start = loadStart();
  } catch (err) {
    failed(err);
    return;
  }
  start(config, { logger }).then(
    (started) =>
      stopOnSignals({ stop: () => started.stop().then(() => tracing.shutdown()) }, logger),
    failed,
  );
}
