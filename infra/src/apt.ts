import { existsSync } from 'node:fs';
import path from 'node:path';
import { runStep } from './process';
import type { DependencyName, InfraContext } from './types';

/** The first `program` on the PATH of `env`, or undefined. */
export function onPath(env: NodeJS.ProcessEnv, program: string): string | undefined {
  return (env.PATH ?? '')
    .split(path.delimiter)
    .map((dir) => path.join(dir, program))
    .find((candidate) => existsSync(candidate));
}

/**
 * Installs Debian packages for a dependency (as root: the launcher is not a sudo wrapper), with
 * `apt-get update` once when the first attempt fails on a stale or missing package list.
 */
export async function aptInstall(
  ctx: InfraContext,
  name: DependencyName,
  packages: readonly string[],
): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new Error(
      `${name} is not installed and installing it needs root: run \`sudo apt-get install -y --no-install-recommends ${packages.join(' ')}\`, or set its URL variable`,
    );
  }
  const env = { ...ctx.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Recommends would add node-exporter, a second daemon listening on all interfaces.
  const install = {
    cmd: 'apt-get',
    args: ['install', '-y', '--no-install-recommends', ...packages],
    env,
  };
  try {
    await runStep(ctx, name, install);
  } catch {
    ctx.log(`${name}: apt-get install failed; running apt-get update and retrying`);
    await runStep(ctx, name, { cmd: 'apt-get', args: ['update'], env });
    await runStep(ctx, name, install);
  }
}

/** Packaged daemons enable their own systemd service (all interfaces); the launcher runs its own. */
export async function disablePackagedService(
  ctx: InfraContext,
  name: DependencyName,
  unit: string,
): Promise<void> {
  if (!existsSync('/run/systemd/system')) return;
  ctx.log(`${name}: disabling the Debian ${unit} (the launcher runs its own on 127.0.0.1)`);
  await runStep(ctx, name, { cmd: 'systemctl', args: ['disable', '--now', unit] });
}
