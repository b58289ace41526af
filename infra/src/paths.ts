import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { InfraContext, InfraOptions } from './types';

/** Finds the monorepo root: the nearest ancestor whose package.json declares workspaces. */
export function findRepoRoot(from: string = __dirname): string {
  let dir = path.resolve(from);
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && hasWorkspaces(manifest)) return dir;
    const parent = path.dirname(dir);
    if (parent === dir)
      throw new Error(`infra: no package.json with "workspaces" above ${from}; pass rootDir`);
    dir = parent;
  }
}

function hasWorkspaces(manifest: string): boolean {
  const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { workspaces?: unknown };
  return parsed.workspaces !== undefined;
}

/** Builds the context every dependency works with and creates the cache folders. */
export function createContext(opts: InfraOptions = {}): InfraContext {
  const rootDir = opts.rootDir ?? findRepoRoot();
  const cacheDir = path.join(rootDir, '.infra');
  const ctx: InfraContext = {
    rootDir,
    infraDir: path.join(rootDir, 'infra'),
    cacheDir,
    logsDir: path.join(cacheDir, 'logs'),
    runDir: path.join(cacheDir, 'run'),
    env: opts.env ?? process.env,
    log: opts.log ?? ((line) => process.stderr.write(`[infra] ${line}\n`)),
  };
  for (const dir of [ctx.cacheDir, ctx.logsDir, ctx.runDir]) mkdirSync(dir, { recursive: true });
  return ctx;
}

/** `.infra/logs/<name>.log`: install output and the server's stdout/stderr. */
export function logFile(ctx: InfraContext, name: string): string {
  return path.join(ctx.logsDir, `${name}.log`);
}

/** `.infra/run/<name>.pid`. */
export function pidFile(ctx: InfraContext, name: string): string {
  return path.join(ctx.runDir, `${name}.pid`);
}
