import { existsSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { urlVar } from '../env';
import { httpOk } from '../health';
import { runStep, spawnDetached } from '../process';
import type { Dependency, InfraContext, InfraEndpoints } from '../types';

const PORT = 9090;
const URL = `http://127.0.0.1:${PORT}`;
const CONFIG_FILES = ['prometheus.yml', 'alerts.yml'];

/** `<cache>/prometheus`: config copied from infra/prometheus, `targets/` for file_sd, `data/` for the TSDB. */
export function prometheusDir(ctx: Pick<InfraContext, 'cacheDir'>): string {
  return path.join(ctx.cacheDir, 'prometheus');
}

function onPath(env: NodeJS.ProcessEnv, program: string): string | undefined {
  return (env.PATH ?? '')
    .split(path.delimiter)
    .map((dir) => path.join(dir, program))
    .find((candidate) => existsSync(candidate));
}

async function aptInstall(ctx: InfraContext): Promise<void> {
  const env = { ...ctx.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Recommends would add node-exporter, a second daemon listening on all interfaces.
  const install = {
    cmd: 'apt-get',
    args: ['install', '-y', '--no-install-recommends', 'prometheus'],
    env,
  };
  try {
    await runStep(ctx, 'prometheus', install);
  } catch {
    ctx.log('prometheus: apt-get install failed; running apt-get update and retrying');
    await runStep(ctx, 'prometheus', { cmd: 'apt-get', args: ['update'], env });
    await runStep(ctx, 'prometheus', install);
  }
}

// The package enables its own service on :9090 (all interfaces) where systemd runs; ours replaces it.
async function disablePackagedService(ctx: InfraContext): Promise<void> {
  if (!existsSync('/run/systemd/system')) return;
  ctx.log(
    'prometheus: disabling the Debian prometheus.service (the launcher runs its own on 127.0.0.1)',
  );
  await runStep(ctx, 'prometheus', { cmd: 'systemctl', args: ['disable', '--now', 'prometheus'] });
}

async function install(ctx: InfraContext): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new Error(
      'prometheus is not installed and installing it needs root: run `sudo apt-get install -y --no-install-recommends prometheus`, or set PROMETHEUS_URL',
    );
  }
  await aptInstall(ctx);
  await disablePackagedService(ctx);
}

async function start(ctx: InfraContext): Promise<number> {
  const dir = prometheusDir(ctx);
  await mkdir(path.join(dir, 'targets'), { recursive: true });
  for (const file of CONFIG_FILES)
    await copyFile(path.join(ctx.infraDir, 'prometheus', file), path.join(dir, file));
  return spawnDetached(ctx, 'prometheus', {
    cmd: onPath(ctx.env, 'prometheus') ?? 'prometheus',
    args: [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      '--storage.tsdb.retention.time=2d',
      `--web.listen-address=127.0.0.1:${PORT}`,
      '--web.enable-lifecycle',
    ],
    cwd: dir,
    // Go runtime soft limit: keeps Prometheus's heap bounded like the JVMs' -Xmx.
    env: { ...ctx.env, GOMEMLIMIT: '256MiB' },
  });
}

function external(env: NodeJS.ProcessEnv): Partial<InfraEndpoints> | undefined {
  const prometheusUrl = urlVar(env, 'PROMETHEUS_URL');
  if (prometheusUrl === undefined) return undefined;
  const prometheusTargetsDir = env.PROMETHEUS_TARGETS_DIR?.trim();
  return prometheusTargetsDir ? { prometheusUrl, prometheusTargetsDir } : { prometheusUrl };
}

/** Prometheus from Debian on 9090, scraping every 2 s the targets services write into its file_sd folder. */
export const prometheus: Dependency = {
  name: 'prometheus',
  endpoint: URL,
  ports: [PORT],
  healthTimeoutMs: 30_000,
  external,
  endpoints: (ctx) => ({
    prometheusUrl: URL,
    prometheusTargetsDir: path.join(prometheusDir(ctx), 'targets'),
  }),
  isInstalled: (ctx) =>
    Promise.resolve(
      onPath(ctx.env, 'prometheus') !== undefined && onPath(ctx.env, 'promtool') !== undefined,
    ),
  install,
  start,
  health: () => httpOk(`${URL}/-/ready`),
};
