import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { withLock } from './lock';
import { createContext } from './paths';
import { runStep } from './process';
import type { InfraContext, InfraOptions } from './types';

/** What a storefront build depends on, relative to `storefront/`. */
const INPUTS = ['src', 'package.json', 'next.config.mjs', 'tsconfig.json'];

function newestMtime(file: string): number {
  const stat = statSync(file);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(file).reduce(
    (newest, entry) => Math.max(newest, newestMtime(path.join(file, entry))),
    stat.mtimeMs,
  );
}

/** True when `storefront/.next` was built after every source file last changed. */
export function storefrontBuildIsFresh(ctx: Pick<InfraContext, 'rootDir'>): boolean {
  const dir = path.join(ctx.rootDir, 'storefront');
  const marker = path.join(dir, '.next', 'BUILD_ID');
  if (!existsSync(marker)) return false;
  const built = statSync(marker).mtimeMs;
  return INPUTS.every((input) => {
    const file = path.join(dir, input);
    return !existsSync(file) || newestMtime(file) <= built;
  });
}

/**
 * Runs `next build` for the storefront unless its output is fresh; concurrent callers (`npm
 * start` and a test run) wait for one build instead of writing `.next/` together.
 */
export async function ensureStorefrontBuilt(opts: InfraOptions = {}): Promise<void> {
  const ctx = createContext(opts);
  if (!existsSync(path.join(ctx.rootDir, 'storefront', 'package.json'))) return;
  await withLock(ctx, 'storefront-build', async () => {
    if (storefrontBuildIsFresh(ctx)) return;
    ctx.log('storefront: next build');
    await runStep(ctx, 'storefront-build', {
      cmd: process.execPath,
      args: [path.join(ctx.rootDir, 'node_modules', 'next', 'dist', 'bin', 'next'), 'build'],
      cwd: path.join(ctx.rootDir, 'storefront'),
      env: { ...ctx.env, NEXT_TELEMETRY_DISABLED: '1' },
    });
  });
}
