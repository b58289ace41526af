import path from 'node:path';
import { runStep } from './process';
import type { InfraContext } from './types';

/** `<cache>/bin`: where Go-built servers are installed. */
export function binDir(ctx: InfraContext): string {
  return path.join(ctx.cacheDir, 'bin');
}

/** `go install module@version` with GOBIN in the cache; output goes to the dependency's log. */
export async function goInstall(
  ctx: InfraContext,
  name: string,
  moduleAtVersion: string,
): Promise<void> {
  await runStep(ctx, name, {
    cmd: 'go',
    args: ['install', moduleAtVersion],
    env: { ...ctx.env, GOBIN: binDir(ctx) },
  });
}
