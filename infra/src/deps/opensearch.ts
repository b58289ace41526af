import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { urlVar } from '../env';
import { findJdk } from '../java';
import { runStep, spawnDetached } from '../process';
import { hashFiles, hasStamp, writeStamp } from '../stamp';
import type { Dependency, InfraContext } from '../types';

const HTTP_PORT = 9200;
const TRANSPORT_PORT = 9300;
const URL = `http://127.0.0.1:${HTTP_PORT}`;

function dirs(ctx: InfraContext): { home: string; lib: string } {
  const home = path.join(ctx.cacheDir, 'opensearch');
  return { home, lib: path.join(home, 'lib') };
}

const committed = (ctx: InfraContext, file: string): string =>
  path.join(ctx.infraDir, 'opensearch', file);
const stamp = (ctx: InfraContext): string => `opensearch ${hashFiles(committed(ctx, 'pom.xml'))}`;

async function install(ctx: InfraContext): Promise<void> {
  const { lib } = dirs(ctx);
  await rm(lib, { recursive: true, force: true });
  await runStep(ctx, 'opensearch', {
    cmd: 'mvn',
    args: [
      '-q',
      '-B',
      '-f',
      committed(ctx, 'pom.xml'),
      'dependency:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${lib}`,
    ],
  });
  writeStamp(ctx, 'opensearch', stamp(ctx));
}

async function start(ctx: InfraContext): Promise<number> {
  const { home, lib } = dirs(ctx);
  await mkdir(home, { recursive: true });
  // OpenSearch 2.19 is the newest line built for Java 17 (3.x needs 21).
  const java = path.join(findJdk(ctx.env, 17, 'oldest').home, 'bin', 'java');
  return spawnDetached(ctx, 'opensearch', {
    cmd: java,
    args: [
      '-Xms256m',
      '-Xmx512m',
      '-XX:+UseG1GC',
      // C1 only: the store is idle most of the time locally and starts faster this way.
      '-XX:TieredStopAtLevel=1',
      '-Djava.awt.headless=true',
      `-Dlog4j.configurationFile=${committed(ctx, 'log4j2.properties')}`,
      '-cp',
      `${lib}/*`,
      // Java 11+ runs a single source file directly: no build step to cache.
      committed(ctx, 'ShopLogStore.java'),
      home,
      String(HTTP_PORT),
      String(TRANSPORT_PORT),
    ],
    cwd: home,
  });
}

// Yellow is the normal state of a one-node cluster; red means a log index cannot take writes.
async function health(): Promise<boolean> {
  try {
    const response = await fetch(`${URL}/_cluster/health`, { signal: AbortSignal.timeout(2000) });
    if (!response.ok) return false;
    const body = (await response.json()) as { status?: string };
    return body.status === 'green' || body.status === 'yellow';
  } catch {
    return false;
  }
}

/**
 * The log store: one OpenSearch 2.19.6 node (Elasticsearch-compatible `_bulk`/`_search`) on
 * 127.0.0.1:9200, run from Maven Central jars by `infra/opensearch/ShopLogStore.java`.
 */
export const opensearch: Dependency = {
  name: 'opensearch',
  endpoint: URL,
  ports: [HTTP_PORT, TRANSPORT_PORT],
  healthTimeoutMs: 90_000,
  external: (env) => {
    const logStoreUrl = urlVar(env, 'LOG_STORE_URL');
    return logStoreUrl === undefined ? undefined : { logStoreUrl };
  },
  endpoints: () => ({ logStoreUrl: URL }),
  isInstalled: (ctx) =>
    Promise.resolve(hasStamp(ctx, 'opensearch', stamp(ctx)) && existsSync(dirs(ctx).lib)),
  install,
  start,
  health: () => health(),
};
