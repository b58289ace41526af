import type { Logger } from './logger';

/**
 * What a start-up has opened so far (database, producers, consumers, clients), to release in
 * reverse order: on stop, or at once when a later step of the start-up fails, so a half-started
 * process leaves no connection behind.
 */
export interface Opened {
  /** Files `release` for `value` (released newest first) and returns `value`. */
  add<T>(value: T, release: (value: T) => unknown): T;
  /** Releases everything opened so far, newest first; a failing step is logged and skipped. */
  releaseAll(): Promise<void>;
}

/**
 * Runs a start-up with a rollback stack: `start` opens resources through `opened.add` and returns
 * the started process (which should call `opened.releaseAll` after draining, e.g. as its
 * `onStop`). If `start` fails, what it opened is released before the error is rethrown.
 */
export async function startWithRollback<T>(
  logger: Logger,
  start: (opened: Opened) => Promise<T>,
): Promise<T> {
  const releases: Array<() => unknown> = [];
  const opened: Opened = {
    add(value, release) {
      releases.push(() => release(value));
      return value;
    },
    async releaseAll() {
      for (const release of releases.splice(0).reverse()) {
        try {
          await release();
        } catch (err) {
          logger.error({ err }, 'cleanup step failed');
        }
      }
    },
  };
  try {
    return await start(opened);
  } catch (err) {
    await opened.releaseAll();
    throw err;
  }
}

/** Stops the service on SIGTERM/SIGINT, then exits; a second signal exits at once. */
export function stopOnSignals(service: { stop(): Promise<void> }, logger: Logger): void {
  let received = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (received) process.exit(1);
    received = true;
    logger.info({ signal }, 'shutting down');
    service.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
