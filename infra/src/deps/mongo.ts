import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { urlVar } from '../env';
import { findJdk } from '../java';
import { runStep, spawnDetached } from '../process';
import { hashFiles, hasStamp, writeStamp } from '../stamp';
import type { Dependency, InfraContext } from '../types';

const PORT = 27017;
const URL = `mongodb://127.0.0.1:${PORT}`;

function dirs(ctx: InfraContext): { home: string; lib: string; data: string } {
  const home = path.join(ctx.cacheDir, 'mongo');
  return { home, lib: path.join(home, 'lib'), data: path.join(home, 'data') };
}

const pom = (ctx: InfraContext): string => path.join(ctx.infraDir, 'mongo', 'pom.xml');
const launcher = (ctx: InfraContext): string =>
  path.join(ctx.infraDir, 'mongo', 'ShopMongoServer.java');
const stamp = (ctx: InfraContext): string => `mongo-java-server ${hashFiles(pom(ctx))}`;

async function install(ctx: InfraContext): Promise<void> {
  const { lib } = dirs(ctx);
  await rm(lib, { recursive: true, force: true });
  await runStep(ctx, 'mongo', {
    cmd: 'mvn',
    args: [
      '-q',
      '-B',
      '-f',
      pom(ctx),
      'dependency:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${lib}`,
    ],
  });
  writeStamp(ctx, 'mongo', stamp(ctx));
}

async function start(ctx: InfraContext): Promise<number> {
  const { home, lib, data } = dirs(ctx);
  await mkdir(data, { recursive: true });
  const java = path.join(findJdk(ctx.env, 17, 'oldest').home, 'bin', 'java');
  return spawnDetached(ctx, 'mongo', {
    cmd: java,
    args: [
      '-Xms128m',
      '-Xmx1g',
      '-XX:+UseG1GC',
      // G1 sizes the young generation to its pause goal; at the default goal (200 ms) the store
      // paused about 85 ms per young collection under the read benchmark's load, and every read,
      // write and event publish waiting on it waited that long (20 ms measured 20 ms per pause).
      '-XX:MaxGCPauseMillis=20',
      // Full tiered compilation (no TieredStopAtLevel=1, which Keycloak keeps for a faster start): the store runs for hours and every read is CPU-bound Java (sorting a
      // listing, BSON encoding, index key comparisons); with C2 a storefront page costs it about
      // 2.8 ms of CPU instead of 6.5 ms once warm.
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
      '-cp',
      `${lib}/*`,
      // Java 11+ runs a single source file directly: no build step to cache.
      launcher(ctx),
      '127.0.0.1',
      String(PORT),
      path.join(data, 'shop.mv'),
    ],
    cwd: home,
  });
}

async function health(): Promise<boolean> {
  const client = new MongoClient(URL, { serverSelectionTimeoutMS: 1000, connectTimeoutMS: 1000 });
  try {
    const reply = await client.db('admin').command({ ping: 1 });
    return reply.ok === 1;
  } finally {
    await client.close();
  }
}

/**
 * MongoDB wire protocol on 27017, served by mongo-java-server (H2 MVStore file backend).
 *
 * Why not FerretDB (INFRA.md's first suggestion): FerretDB 1.24's SQLite backend loses
 * concurrent single-document updates — 200 concurrent conditional `$inc` reservations of 50
 * units all "succeeded" (about 190 oversold) and 500 concurrent `$inc: 1` ended at 1–27.
 * mongo-java-server serialises writes per collection, so conditional and versioned updates
 * are atomic as on MongoDB (see infra/test/mongo-concurrency.test.ts).
 */
export const mongo: Dependency = {
  name: 'mongo',
  endpoint: URL,
  ports: [PORT],
  healthTimeoutMs: 60_000,
  external: (env) => {
    const mongoUrl = urlVar(env, 'MONGO_URL');
    return mongoUrl === undefined ? undefined : { mongoUrl };
  },
  endpoints: () => ({ mongoUrl: URL }),
  isInstalled: (ctx) =>
    Promise.resolve(hasStamp(ctx, 'mongo', stamp(ctx)) && existsSync(dirs(ctx).lib)),
  install,
  start,
  health: () => health(),
};
