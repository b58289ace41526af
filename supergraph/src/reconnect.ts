import type { Logger } from '@shop/platform/logging';
import { setTimeout as sleep } from 'node:timers/promises';

/** How long {@link BackgroundStart.stop} waits for an attempt in progress. */
const STOP_GRACE_MS = 2_000;

/** Something started once its dependency answers, and stopped with the process. */
export interface Stoppable {
  stop(): Promise<void>;
}

/** A start that is retried in the background until it succeeds or the owner stops. */
export interface BackgroundStart<T extends Stoppable> {
  /** The started thing, once a start succeeded. */
  current(): T | undefined;
  /** Settles when a start succeeded or the owner stopped. */
  readonly settled: Promise<void>;
  /** Stops retrying, and stops what was started. */
  stop(): Promise<void>;
}

/**
 * Starts `start` now and, while it fails (the broker is down when the gateway starts), again
 * after a growing pause (`initialDelayMs` doubling up to `maxDelayMs`), so the gateway serves
 * without what it started, and in its safe mode, meanwhile, instead of failing to start.
 */
export function startInBackground<T extends Stoppable>(
  what: string,
  start: () => Promise<T>,
  deps: { logger: Logger; initialDelayMs?: number; maxDelayMs?: number },
): BackgroundStart<T> {
  const stopping = new AbortController();
  let started: T | undefined;
  const settled = (async () => {
    let delay = deps.initialDelayMs ?? 250;
    for (let attempt = 1; !stopping.signal.aborted; attempt++) {
      try {
        const value = await start();
        if (stopping.signal.aborted) {
          await value.stop();
          return;
        }
        started = value;
        if (attempt > 1) deps.logger.info({ attempt }, `${what} started`);
        return;
      } catch (err) {
        if (stopping.signal.aborted) return;
        deps.logger.warn({ err, attempt, retryInMs: delay }, `${what} could not start; retrying`);
        await sleep(delay, undefined, { signal: stopping.signal }).catch(() => undefined);
        delay = Math.min(delay * 2, deps.maxDelayMs ?? 10_000);
      }
    }
  })();
  return {
    current: () => started,
    settled,
    async stop() {
      stopping.abort();
      // An attempt still waiting on the broker (its client retries for a while) is not waited
      // for long: when it ends it stops what it started by itself.
      await Promise.race([settled, sleep(STOP_GRACE_MS, undefined, { ref: false })]);
      await started?.stop();
    },
  };
}
