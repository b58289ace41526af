import { existsSync } from 'node:fs';
import { withLock } from './lock';
import { createContext } from './paths';
import { runStep } from './process';
import type { InfraContext, InfraOptions } from './types';

/** Where Debian's chromium package puts the browser. */
const DEBIAN_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** The Chromium the browser tests drive: `CHROMIUM_PATH`, else Debian's, else undefined. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const configured = env.CHROMIUM_PATH?.trim();
  if (configured) {
    if (!existsSync(configured)) throw new Error(`CHROMIUM_PATH names no file: ${configured}`);
    return configured;
  }
  return DEBIAN_PATHS.find((candidate) => existsSync(candidate));
}

async function aptInstall(ctx: InfraContext): Promise<void> {
  const env = { ...ctx.env, DEBIAN_FRONTEND: 'noninteractive' };
  // fonts-liberation gives pages real metrics-compatible fonts in screenshots.
  const install = {
    cmd: 'apt-get',
    args: ['install', '-y', '--no-install-recommends', 'chromium', 'fonts-liberation'],
    env,
  };
  try {
    await runStep(ctx, 'chromium', install);
  } catch {
    ctx.log('chromium: apt-get install failed; running apt-get update and retrying');
    await runStep(ctx, 'chromium', { cmd: 'apt-get', args: ['update'], env });
    await runStep(ctx, 'chromium', install);
  }
}

/**
 * Debian's Chromium for the storefront's browser tests, installed with apt-get when missing (as
 * the launcher installs Prometheus); Playwright's own browser download is never used.
 * Returns the executable's path.
 */
export async function ensureChromium(opts: InfraOptions = {}): Promise<string> {
  const ctx = createContext(opts);
  const found = findChromium(ctx.env);
  if (found) return found;
  if (process.getuid?.() !== 0) {
    throw new Error(
      'chromium is not installed and installing it needs root: run `sudo apt-get install -y --no-install-recommends chromium`, or set CHROMIUM_PATH',
    );
  }
  await withLock(ctx, 'chromium', async () => {
    if (findChromium(ctx.env)) return;
    ctx.log('chromium: installing the Debian package (first run)');
    await aptInstall(ctx);
  });
  const installed = findChromium(ctx.env);
  if (!installed)
    throw new Error('chromium: apt-get install finished but /usr/bin/chromium is missing');
  return installed;
}
