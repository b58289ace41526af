import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { hostListVar } from '../env';
import { tcpOpen } from '../health';
import { findJdk } from '../java';
import { capture, runStep, spawnDetached } from '../process';
import { hashFiles, hasStamp, writeStamp } from '../stamp';
import type { Dependency, InfraContext } from '../types';

const PORT = 9092;
const CONTROLLER_PORT = 9093;
const BROKER = `127.0.0.1:${PORT}`;
const MAIN_CLASS = 'kafka.Kafka';

function dirs(ctx: InfraContext): { home: string; lib: string; data: string; config: string } {
  const home = path.join(ctx.cacheDir, 'kafka');
  return {
    home,
    lib: path.join(home, 'lib'),
    data: path.join(home, 'data'),
    config: path.join(home, 'server.properties'),
  };
}

function pom(ctx: InfraContext): string {
  return path.join(ctx.infraDir, 'kafka', 'pom.xml');
}

function stamp(ctx: InfraContext): string {
  return `kafka ${hashFiles(pom(ctx))}`;
}

// Kafka 3.9 is built and tested on Java 17; newer JDKs are not needed and less proven with it.
function java(ctx: InfraContext): string {
  return path.join(findJdk(ctx.env, 17, 'oldest').home, 'bin', 'java');
}

async function install(ctx: InfraContext): Promise<void> {
  const { lib } = dirs(ctx);
  await rm(lib, { recursive: true, force: true });
  await runStep(ctx, 'kafka', {
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
  writeStamp(ctx, 'kafka', stamp(ctx));
}

async function writeConfig(ctx: InfraContext): Promise<void> {
  const { data, config } = dirs(ctx);
  const committed = readFileSync(path.join(ctx.infraDir, 'kafka', 'server.properties'), 'utf8');
  await writeFile(config, `${committed}\n# Added by the launcher\nlog.dirs=${data}\n`);
}

// KRaft storage must be formatted once with a cluster id before the first start.
async function formatStorage(ctx: InfraContext): Promise<void> {
  const { lib, data, config } = dirs(ctx);
  if (existsSync(path.join(data, 'meta.properties'))) return;
  await mkdir(data, { recursive: true });
  const classpath = `${lib}/*`;
  const clusterId = await capture({
    cmd: java(ctx),
    args: ['-cp', classpath, 'kafka.tools.StorageTool', 'random-uuid'],
  });
  await runStep(ctx, 'kafka', {
    cmd: java(ctx),
    args: [
      '-cp',
      classpath,
      'kafka.tools.StorageTool',
      'format',
      '-t',
      clusterId,
      '-c',
      config,
      '--ignore-formatted',
    ],
  });
}

async function start(ctx: InfraContext): Promise<number> {
  const { home, lib, config } = dirs(ctx);
  await writeConfig(ctx);
  await formatStorage(ctx);
  return spawnDetached(ctx, 'kafka', {
    cmd: java(ctx),
    args: [
      '-Xms256m',
      '-Xmx512m',
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      // Full tiered compilation: the broker sits on the path of every event (the order pipeline,
      // the gateway's cache invalidation and subscriptions), and once warm C2 code answers a
      // produce or a fetch with less CPU than the C1-only JIT, which only starts faster.
      '-Djava.awt.headless=true',
      `-Dlog4j.configuration=file:${path.join(ctx.infraDir, 'kafka', 'log4j.properties')}`,
      `-Dkafka.logs.dir=${ctx.logsDir}`,
      '-cp',
      `${lib}/*`,
      MAIN_CLASS,
      config,
    ],
    cwd: home,
  });
}

async function health(): Promise<boolean> {
  if (!(await tcpOpen(PORT))) return false;
  const kafka = new Kafka({
    brokers: [BROKER],
    clientId: 'infra-health',
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return true;
  } finally {
    await admin.disconnect();
  }
}

/** Apache Kafka 3.9.1, single KRaft node on 9092 (controller on 9093), from Maven Central jars. */
export const kafka: Dependency = {
  name: 'kafka',
  endpoint: BROKER,
  ports: [PORT, CONTROLLER_PORT],
  healthTimeoutMs: 60_000,
  external: (env) => {
    const kafkaBrokers = hostListVar(env, 'KAFKA_BROKERS');
    return kafkaBrokers === undefined ? undefined : { kafkaBrokers };
  },
  endpoints: () => ({ kafkaBrokers: [BROKER] }),
  isInstalled: (ctx) => Promise.resolve(hasStamp(ctx, 'kafka', stamp(ctx))),
  install,
  start,
  health: () => health(),
};
