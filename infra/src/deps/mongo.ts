import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { urlVar } from '../env';
import { binDir } from '../go';
import { capture, runStep, spawnDetached } from '../process';
import { hasStamp, writeStamp } from '../stamp';
import type { Dependency, InfraContext } from '../types';

const VERSION = 'v1.24.2';
const MODULE = 'github.com/FerretDB/FerretDB';
const PORT = 27017;
const URL = `mongodb://127.0.0.1:${PORT}`;
const STAMP = `ferretdb ${VERSION}`;

function binary(ctx: InfraContext): string {
  return path.join(binDir(ctx), 'ferretdb');
}

async function moduleDir(ctx: InfraContext): Promise<string> {
  const json = await capture({
    cmd: 'go',
    args: ['mod', 'download', '-json', `${MODULE}@${VERSION}`],
    env: ctx.env,
  });
  return (JSON.parse(json) as { Dir: string }).Dir;
}

/**
 * `go install …/cmd/ferretdb@v1.24.2` builds a binary that panics at start (version.txt is generated
 * in FerretDB's release process and absent from the module), and building it as a tool of a throwaway
 * module panics the same way with Go >= 1.24 (build info names FerretDB's module as the main one).
 * So we build FerretDB's own module from a writable copy with version.txt written in.
 */
async function install(ctx: InfraContext): Promise<void> {
  const src = path.join(ctx.cacheDir, 'ferretdb', 'src');
  await rm(src, { recursive: true, force: true });
  await mkdir(path.dirname(src), { recursive: true });
  await cp(await moduleDir(ctx), src, { recursive: true });
  await runStep(ctx, 'mongo', { cmd: 'chmod', args: ['-R', 'u+w', src] });
  await writeFile(path.join(src, 'build', 'version', 'version.txt'), `${VERSION}\n`);
  await runStep(ctx, 'mongo', {
    cmd: 'go',
    args: ['build', '-o', binary(ctx), './cmd/ferretdb'],
    cwd: src,
    env: { ...ctx.env, GOFLAGS: '-buildvcs=false' },
  });
  await rm(src, { recursive: true, force: true });
  writeStamp(ctx, 'mongo', STAMP);
}

async function start(ctx: InfraContext): Promise<number> {
  const data = path.join(ctx.cacheDir, 'ferretdb', 'data');
  await mkdir(data, { recursive: true });
  return spawnDetached(ctx, 'mongo', {
    cmd: binary(ctx),
    args: [
      '--handler=sqlite',
      // FerretDB requires the SQLite URL to name an existing directory and end with a slash.
      `--sqlite-url=file:${data}/`,
      `--listen-addr=127.0.0.1:${PORT}`,
      `--state-dir=${path.join(ctx.cacheDir, 'ferretdb')}`,
      '--telemetry=disable',
      '--debug-addr=-',
      '--log-level=warn',
    ],
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

/** MongoDB wire protocol on 27017, served by FerretDB with its embedded SQLite backend. */
export const mongo: Dependency = {
  name: 'mongo',
  endpoint: URL,
  ports: [PORT],
  healthTimeoutMs: 30_000,
  external: (env) => {
    const mongoUrl = urlVar(env, 'MONGO_URL');
    return mongoUrl === undefined ? undefined : { mongoUrl };
  },
  endpoints: () => ({ mongoUrl: URL }),
  isInstalled: (ctx) => Promise.resolve(hasStamp(ctx, 'mongo', STAMP) && existsSync(binary(ctx))),
  install,
  start,
  health: () => health(),
};
