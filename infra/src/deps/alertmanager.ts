import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { aptInstall, disablePackagedService, onPath } from '../apt';
import { urlVar } from '../env';
import { httpOk } from '../health';
import { spawnDetached } from '../process';
import type { Dependency, InfraContext, InfraEndpoints } from '../types';

// 9093, Alertmanager's usual port, is the local Kafka controller's.
const PORT = 9095;
/** The launcher's Alertmanager, where the launcher's Prometheus sends alerts. */
export const ALERTMANAGER_URL = `http://127.0.0.1:${PORT}`;
const PROGRAM = 'prometheus-alertmanager';

async function install(ctx: InfraContext): Promise<void> {
  await aptInstall(ctx, 'alertmanager', [PROGRAM]);
  await disablePackagedService(ctx, 'alertmanager', PROGRAM);
}

async function start(ctx: InfraContext): Promise<number> {
  const dir = path.join(ctx.cacheDir, 'alertmanager');
  await mkdir(path.join(dir, 'data'), { recursive: true });
  await copyFile(
    path.join(ctx.infraDir, 'alertmanager', 'alertmanager.yml'),
    path.join(dir, 'alertmanager.yml'),
  );
  return spawnDetached(ctx, 'alertmanager', {
    cmd: onPath(ctx.env, PROGRAM) ?? PROGRAM,
    args: [
      `--config.file=${path.join(dir, 'alertmanager.yml')}`,
      `--storage.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${PORT}`,
      // One instance: no gossip port (it would listen on all interfaces).
      '--cluster.listen-address=',
    ],
    cwd: dir,
    env: { ...ctx.env, GOMEMLIMIT: '64MiB' },
  });
}

function external(env: NodeJS.ProcessEnv): Partial<InfraEndpoints> | undefined {
  const alertmanagerUrl = urlVar(env, 'ALERTMANAGER_URL');
  return alertmanagerUrl === undefined ? undefined : { alertmanagerUrl };
}

/** Alertmanager from Debian on 9095, routing every alert to a local webhook (infra/alertmanager). */
export const alertmanager: Dependency = {
  name: 'alertmanager',
  endpoint: ALERTMANAGER_URL,
  ports: [PORT],
  healthTimeoutMs: 30_000,
  external,
  endpoints: () => ({ alertmanagerUrl: ALERTMANAGER_URL }),
  isInstalled: (ctx) => Promise.resolve(onPath(ctx.env, PROGRAM) !== undefined),
  install,
  start,
  health: () => httpOk(`${ALERTMANAGER_URL}/-/ready`),
};
