import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ensureInfra } from './launcher';
import { createContext } from './paths';
import { ensureStorefrontBuilt } from './storefront';
import {
  DOMAIN_SERVICES,
  GATEWAY,
  STOREFRONT,
  SUBGRAPHS,
  availableProcesses,
  registerScrapeTargets,
  sharedEnv,
  startProcess,
  stopProcesses,
  type RunningProcess,
} from './services';
import type { DependencyName, InfraContext, InfraEndpoints, InfraOptions } from './types';

/** What `npm start` brought up; `stop` ends the platform processes (dependencies keep running). */
export interface RunningPlatform {
  endpoints: InfraEndpoints;
  /** Dependencies this call started (empty when all were already running). */
  started: DependencyName[];
  processes: readonly RunningProcess[];
  stop(): Promise<void>;
}

const SEED_CLI = 'packages/seed/dist/src/cli.js';

/** Runs the idempotent demo-catalog seed as a child process; its output goes to the log. */
function seed(ctx: InfraContext, env: Record<string, string>): Promise<void> {
  const cli = path.join(ctx.rootDir, SEED_CLI);
  if (!existsSync(cli)) return Promise.resolve();
  ctx.log('seeding the demo catalog');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli], {
      cwd: ctx.rootDir,
      env: { ...ctx.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`demo-catalog seed failed with exit code ${code}`)),
    );
  });
}

/** Options of {@link startPlatform}. */
export interface PlatformOptions extends InfraOptions {
  /**
   * Variables set on every platform process over the shared ones (an empty value unsets one;
   * the benchmarks turn trace export and log shipping off this way).
   */
  processEnv?: Record<string, string>;
}

/**
 * Brings up the local platform: the dependencies, then every domain service that is built (in
 * dependency order, each waited for), the demo-catalog seed, the subgraphs and the gateway,
 * registers them with Prometheus, then the web storefront (built first when its sources changed).
 */
export async function startPlatform(opts: PlatformOptions = {}): Promise<RunningPlatform> {
  const ctx = createContext(opts);
  const { started, ...endpoints } = await ensureInfra(opts);
  const env = { ...sharedEnv(endpoints), ...opts.processEnv };
  const running: RunningProcess[] = [];
  try {
    for (const spec of availableProcesses(ctx, DOMAIN_SERVICES)) {
      ctx.log(`${spec.name}: starting`);
      running.push(await startProcess(ctx, spec, env));
      ctx.log(`${spec.name}: healthy on ${spec.endpoint} (metrics :${spec.healthPort})`);
    }
    await seed(ctx, env);
    // Subgraphs are independent of one another: start them together, then the gateway.
    const subgraphs = await Promise.allSettled(
      availableProcesses(ctx, SUBGRAPHS).map((spec) => startProcess(ctx, spec, env)),
    );
    for (const result of subgraphs) if (result.status === 'fulfilled') running.push(result.value);
    const failed = subgraphs.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    for (const spec of availableProcesses(ctx, [GATEWAY])) {
      running.push(await startProcess(ctx, spec, env));
      ctx.log(`${spec.name}: serving ${spec.endpoint}`);
    }
    // The storefront serves pages, not /metrics: Prometheus scrapes the platform processes only.
    await registerScrapeTargets(endpoints, running);
    await ensureStorefrontBuilt(opts);
    for (const spec of availableProcesses(ctx, [STOREFRONT])) {
      running.push(await startProcess(ctx, spec, env));
      ctx.log(`${spec.name}: serving ${spec.endpoint}`);
    }
  } catch (err) {
    await stopProcesses(running);
    throw err;
  }
  return { endpoints, started, processes: running, stop: () => stopProcesses(running) };
}
