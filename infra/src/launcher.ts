import { mkdirSync } from 'node:fs';
import { DEPENDENCIES } from './deps';
import { safeHealth, tcpOpen, waitHealthy } from './health';
import { withLock } from './lock';
import { createContext, logFile } from './paths';
import { groupRssMiB, runningPid, stopProcess } from './process';
import {
  ALL_DEPENDENCIES,
  type Dependency,
  type DependencyName,
  type InfraContext,
  type InfraEndpoints,
  type InfraOptions,
} from './types';

/** One row of {@link infraStatus}. */
export interface DependencyStatus {
  name: DependencyName;
  state: 'external' | 'running' | 'stopped';
  endpoint: string;
  pid?: number;
  rssMiB?: number;
}

function selected(opts: InfraOptions): Dependency[] {
  return (opts.only ?? ALL_DEPENDENCIES).map((name) => DEPENDENCIES[name]);
}

/** Local endpoints overlaid with whatever the connection variables name. */
function resolveEndpoints(ctx: InfraContext): InfraEndpoints {
  const merged: Partial<InfraEndpoints> = {};
  for (const name of ALL_DEPENDENCIES) {
    const dep = DEPENDENCIES[name];
    Object.assign(merged, dep.endpoints(ctx), dep.external(ctx.env) ?? {});
  }
  const endpoints = merged as InfraEndpoints;
  mkdirSync(endpoints.prometheusTargetsDir, { recursive: true });
  return endpoints;
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

async function assertPortsFree(dep: Dependency): Promise<void> {
  for (const port of dep.ports) {
    if (await tcpOpen(port)) {
      throw new Error(
        `${dep.name}: port ${port} on 127.0.0.1 is taken by a process this launcher did not start; stop it, or point the services at it with the connection variable`,
      );
    }
  }
}

async function installIfNeeded(ctx: InfraContext, dep: Dependency): Promise<void> {
  if (await dep.isInstalled(ctx)) return;
  const since = Date.now();
  ctx.log(`${dep.name}: installing (output in ${logFile(ctx, dep.name)})`);
  await dep.install(ctx);
  ctx.log(`${dep.name}: installed in ${seconds(since)}`);
}

/** Reuses a running instance or installs and starts one; true when this call started it. */
async function ensureOne(ctx: InfraContext, dep: Dependency): Promise<boolean> {
  return withLock(ctx, dep.name, async () => {
    const running = runningPid(ctx, dep.name);
    if (running !== undefined) {
      if (!(await safeHealth(ctx, dep))) await waitHealthy(ctx, dep, running);
      return false;
    }
    await assertPortsFree(dep);
    await installIfNeeded(ctx, dep);
    const since = Date.now();
    const pid = await dep.start(ctx);
    ctx.log(`${dep.name}: started (pid ${pid}), waiting for ${dep.endpoint}`);
    await waitHealthy(ctx, dep, pid);
    ctx.log(`${dep.name}: healthy in ${seconds(since)}`);
    return true;
  });
}

/** Installs on first use, starts what is not running, waits until healthy; idempotent. */
export async function ensureInfra(
  opts: InfraOptions = {},
): Promise<InfraEndpoints & { started: DependencyName[] }> {
  const ctx = createContext(opts);
  const endpoints = resolveEndpoints(ctx);
  const local = selected(opts).filter((dep) => dep.external(ctx.env) === undefined);
  // Independent pipelines: the slow Go builds and Maven downloads overlap with the JVM start-ups.
  const results = await Promise.allSettled(local.map((dep) => ensureOne(ctx, dep)));
  const failures = results.flatMap((result) =>
    result.status === 'rejected' ? [result.reason as unknown] : [],
  );
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) {
    throw new AggregateError(
      failures,
      `infra: ${failures.length} dependencies failed:\n${failures.map((error) => String(error)).join('\n')}`,
    );
  }
  const started = local.filter((_, index) => {
    const result = results[index];
    return result?.status === 'fulfilled' && result.value;
  });
  return { ...endpoints, started: started.map((dep) => dep.name) };
}

/** Stops the locally launched dependencies (all selected, or `names`); external ones are left alone. */
export async function stopInfra(
  opts: InfraOptions & { names?: DependencyName[] } = {},
): Promise<void> {
  const ctx = createContext(opts);
  const names = opts.names ?? opts.only ?? ALL_DEPENDENCIES;
  await Promise.all(
    names.map(async (name) => {
      if (await stopProcess(ctx, name)) ctx.log(`${name}: stopped`);
    }),
  );
}

function statusOf(ctx: InfraContext, dep: Dependency): DependencyStatus {
  const external = dep.external(ctx.env);
  if (external !== undefined)
    return {
      name: dep.name,
      state: 'external',
      endpoint: Object.values(external).flat().join(' '),
    };
  const pid = runningPid(ctx, dep.name);
  if (pid === undefined) return { name: dep.name, state: 'stopped', endpoint: dep.endpoint };
  return {
    name: dep.name,
    state: 'running',
    endpoint: dep.endpoint,
    pid,
    rssMiB: groupRssMiB(pid),
  };
}

/** Where each dependency stands: given by a connection variable, running locally, or stopped. */
export function infraStatus(opts: InfraOptions = {}): Promise<DependencyStatus[]> {
  const ctx = createContext(opts);
  return Promise.resolve(selected(opts).map((dep) => statusOf(ctx, dep)));
}
