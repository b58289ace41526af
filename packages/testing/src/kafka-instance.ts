import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, closeSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { waitFor } from './wait';

/** A throwaway single-node Kafka broker, separate from the shared one on 9092. */
export interface KafkaInstance {
  /** `127.0.0.1:<port>`; stable across stop/start. */
  readonly broker: string;
  readonly dataDir: string;
  /** Whether the broker process is running. */
  readonly running: boolean;
  /** Starts the broker (again) and waits until an admin client can list topics. */
  start(): Promise<void>;
  /** Stops the broker: SIGKILL when `abrupt`, else SIGTERM (clean shutdown). */
  stop(options?: { abrupt?: boolean }): Promise<void>;
  /** Stops the broker and deletes its data. */
  destroy(): Promise<void>;
}

/** Options of {@link startKafkaInstance}. */
export interface KafkaInstanceOptions {
  /** Directory holding `.infra/kafka/lib` (default: found upwards from this file). */
  repoRoot?: string;
  /** Longest wait for the broker to answer (default 60 s). */
  startTimeoutMs?: number;
}

function findRepoRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, '.infra', 'kafka', 'lib'))) return dir;
    if (path.dirname(dir) === dir) {
      throw new Error('no .infra/kafka/lib found: run the infra launcher once (npm test does)');
    }
  }
}

/** Java 17 (what the shared broker runs on), else the oldest JDK >= 17. */
function findJava17(): string {
  const homes = [
    ...(existsSync('/usr/lib/jvm')
      ? readdirSync('/usr/lib/jvm').map((e) => path.join('/usr/lib/jvm', e))
      : []),
    ...(process.env['JAVA_HOME'] ? [process.env['JAVA_HOME']] : []),
  ];
  const found = homes.flatMap((home) => {
    const release = path.join(home, 'release');
    const java = path.join(home, 'bin', 'java');
    if (!existsSync(release) || !existsSync(java)) return [];
    const m = /^JAVA_VERSION="(\d+)/m.exec(readFileSync(release, 'utf8'));
    const major = m ? Number(m[1]) : 0;
    return major >= 17 ? [{ java, major }] : [];
  });
  found.sort((a, b) => a.major - b.major);
  if (!found[0]) throw new Error('no JDK >= 17 under /usr/lib/jvm or JAVA_HOME');
  return found[0].java;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

function run(java: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(java, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve(out.trim())
        : reject(new Error(`${args.join(' ')} exited ${code}: ${out}`)),
    );
  });
}

async function answers(broker: string): Promise<boolean> {
  const admin = new Kafka({
    brokers: [broker],
    clientId: 'kafka-instance-probe',
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Starts a separate single-node KRaft broker on free ports with its own temporary data dir, from
 * the jars the infra launcher installed in `<repo>/.infra/kafka/lib`. For fault tests that stop
 * and restart Kafka without disturbing the shared broker. Its log goes to `<dataDir>/kafka.log`.
 */
export async function startKafkaInstance(
  options: KafkaInstanceOptions = {},
): Promise<KafkaInstance> {
  const root = options.repoRoot ?? findRepoRoot(__dirname);
  const lib = path.join(root, '.infra', 'kafka', 'lib');
  const java = findJava17();
  const [port, controllerPort] = [await freePort(), await freePort()];
  const dataDir = mkdtempSync(path.join(tmpdir(), 'kafka-instance-'));
  const logs = path.join(dataDir, 'logs');
  const config = path.join(dataDir, 'server.properties');
  const broker = `127.0.0.1:${port}`;
  await writeFile(
    config,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://${broker},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://${broker}`,
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'num.partitions=1',
      'default.replication.factor=1',
      'min.insync.replicas=1',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=4',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'num.network.threads=2',
      'num.io.threads=2',
      `log.dirs=${logs}`,
      '',
    ].join('\n'),
  );
  const classpath = `${lib}/*`;
  const clusterId = (await run(java, ['-cp', classpath, 'kafka.tools.StorageTool', 'random-uuid']))
    .split('\n')
    .pop()!
    .trim();
  await run(java, [
    '-cp',
    classpath,
    'kafka.tools.StorageTool',
    'format',
    '-t',
    clusterId,
    '-c',
    config,
    '--ignore-formatted',
  ]);
  const log4j = path.join(root, 'infra', 'kafka', 'log4j.properties');
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async (): Promise<void> => {
    if (child) return;
    const out = openSync(path.join(dataDir, 'kafka.log'), 'a');
    const proc = spawn(
      java,
      [
        '-Xms128m',
        '-Xmx384m',
        '-XX:+UseG1GC',
        '-XX:TieredStopAtLevel=1',
        '-Djava.awt.headless=true',
        ...(existsSync(log4j) ? [`-Dlog4j.configuration=file:${log4j}`] : []),
        `-Dkafka.logs.dir=${dataDir}`,
        '-cp',
        classpath,
        'kafka.Kafka',
        config,
      ],
      { stdio: ['ignore', out, out], cwd: dataDir },
    );
    closeSync(out);
    child = proc;
    exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    void exited.then(() => {
      if (child === proc) child = undefined;
    });
    await waitFor(
      `kafka instance on ${broker}`,
      async () => {
        if (child !== proc) throw new Error(`broker exited; see ${dataDir}/kafka.log`);
        return (await answers(broker)) ? true : undefined;
      },
      { timeoutMs: options.startTimeoutMs ?? 60_000, intervalMs: 250 },
    );
  };

  const stop = async ({ abrupt = false } = {}): Promise<void> => {
    const proc = child;
    if (!proc) return;
    proc.kill(abrupt ? 'SIGKILL' : 'SIGTERM');
    const killer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(killer);
    child = undefined;
  };

  await start();
  return {
    broker,
    dataDir,
    get running() {
      return child !== undefined;
    },
    start,
    stop,
    async destroy() {
      await stop({ abrupt: true });
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
