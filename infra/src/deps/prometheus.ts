import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { aptInstall, disablePackagedService, onPath } from '../apt';
import { urlVar } from '../env';
import { httpOk } from '../health';
import { spawnDetached } from '../process';
import { ALERTMANAGER_URL } from './alertmanager';
import type { Dependency, InfraContext, InfraEndpoints } from '../types';

const PORT = 9090;
const ENDPOINT = `http://127.0.0.1:${PORT}`;
const CONFIG_FILES = ['prometheus.yml', 'alerts.yml'];

/** `<cache>/prometheus`: config copied from infra/prometheus, `targets/` for file_sd, `data/` for the TSDB. */
export function prometheusDir(ctx: Pick<InfraContext, 'cacheDir'>): string {
  return path.join(ctx.cacheDir, 'prometheus');
}

async function install(ctx: InfraContext): Promise<void> {
  await aptInstall(ctx, 'prometheus', ['prometheus']);
  await disablePackagedService(ctx, 'prometheus', 'prometheus');
}

/**
 * Where Prometheus sends alerts: `alertmanagers/local.json` (file_sd, beside `targets/`) names
 * ALERTMANAGER_URL when set, the launcher's Alertmanager otherwise. Compose mounts its own.
 */
async function writeAlertmanagerTarget(ctx: InfraContext, dir: string): Promise<void> {
  const url = new URL(urlVar(ctx.env, 'ALERTMANAGER_URL') ?? ALERTMANAGER_URL);
  await mkdir(path.join(dir, 'alertmanagers'), { recursive: true });
  const group = {
    targets: [url.host],
    labels: { __scheme__: url.protocol.replace(':', '') },
  };
  await writeFile(path.join(dir, 'alertmanagers', 'local.json'), JSON.stringify([group], null, 2));
}

async function start(ctx: InfraContext): Promise<number> {
  const dir = prometheusDir(ctx);
  await mkdir(path.join(dir, 'targets'), { recursive: true });
  for (const file of CONFIG_FILES)
    await copyFile(path.join(ctx.infraDir, 'prometheus', file), path.join(dir, file));
  await writeAlertmanagerTarget(ctx, dir);
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
  endpoint: ENDPOINT,
  ports: [PORT],
  healthTimeoutMs: 30_000,
  external,
  endpoints: (ctx) => ({
    prometheusUrl: ENDPOINT,
    prometheusTargetsDir: path.join(prometheusDir(ctx), 'targets'),
  }),
  isInstalled: (ctx) =>
    Promise.resolve(
      onPath(ctx.env, 'prometheus') !== undefined && onPath(ctx.env, 'promtool') !== undefined,
    ),
  install,
  start,
  health: () => httpOk(`${ENDPOINT}/-/ready`),
};
