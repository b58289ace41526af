import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { ensureInfra, infraStatus, type InfraEndpoints } from '../src';

const run = promisify(execFile);

const EXTERNAL_ENV = {
  MONGO_URL: 'mongodb://db.example:27017',
  KAFKA_BROKERS: 'k1.example:9092, k2.example:9092',
  OIDC_ISSUER_URL: 'https://id.example/realms/shop',
  SMTP_URL: 'smtp://mail.example:25',
  STRIPE_API_BASE: 'https://api.stripe.com',
  PROMETHEUS_URL: 'http://prom.example:9090',
  ALERTMANAGER_URL: 'http://alerts.example:9093',
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces.example:4318/v1/traces',
  LOG_STORE_URL: 'http://logs.example:9200',
};

describe('connection variables', () => {
  it('start nothing and hand back what the user gave', async () => {
    const result = await ensureInfra({ env: EXTERNAL_ENV, log: () => undefined });
    expect(result).toMatchObject({
      started: [],
      mongoUrl: 'mongodb://db.example:27017',
      kafkaBrokers: ['k1.example:9092', 'k2.example:9092'],
      oidcIssuerUrl: 'https://id.example/realms/shop',
      smtpUrl: 'smtp://mail.example:25',
      mailpitApiUrl: 'http://mail.example:8025',
      stripeApiBase: 'https://api.stripe.com',
      prometheusUrl: 'http://prom.example:9090',
      alertmanagerUrl: 'http://alerts.example:9093',
      otlpTracesUrl: 'http://traces.example:4318/v1/traces',
      jaegerUrl: 'http://traces.example:16686',
      logStoreUrl: 'http://logs.example:9200',
    });
    const states = (await infraStatus({ env: EXTERNAL_ENV })).map((row) => row.state);
    expect(new Set(states)).toEqual(new Set(['external']));
  });

  it('fail with the variable name when malformed', async () => {
    await expect(ensureInfra({ env: { MONGO_URL: 'not a url' }, only: [] })).rejects.toThrow(
      'MONGO_URL',
    );
    await expect(ensureInfra({ env: { KAFKA_BROKERS: 'no-port' }, only: [] })).rejects.toThrow(
      'KAFKA_BROKERS',
    );
  });
});

describe('local dependencies', () => {
  // The Jest global setup exports the endpoints as connection variables; drop them so these
  // checks look at the locally launched servers rather than treating them as external.
  const localEnv = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !(name in EXTERNAL_ENV)),
  );
  let endpoints: InfraEndpoints;

  beforeAll(async () => {
    endpoints = await ensureInfra({ only: ['kafka', 'prometheus'], env: localEnv });
  }, 600_000);

  it('reports running dependencies with pid and memory', async () => {
    const rows = await infraStatus({ only: ['kafka', 'prometheus'], env: localEnv });
    for (const row of rows) {
      expect(row).toMatchObject({
        state: 'running',
        pid: expect.any(Number) as number,
        rssMiB: expect.any(Number) as number,
      });
    }
  });

  it('is idempotent: a second call reuses the running servers', async () => {
    const again = await ensureInfra({
      only: ['kafka', 'prometheus'],
      env: localEnv,
      log: () => undefined,
    });
    expect(again.started).toEqual([]);
  });

  it('runs a Kafka broker that round-trips a message on a new topic', async () => {
    const kafka = new Kafka({
      brokers: endpoints.kafkaBrokers,
      clientId: 'infra-test',
      logLevel: logLevel.NOTHING,
    });
    const topic = `infra-test-${Date.now()}`;
    const admin = kafka.admin();
    const producer = kafka.producer();
    const consumer = kafka.consumer({ groupId: `${topic}-group` });
    try {
      await admin.connect();
      await admin.createTopics({
        topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
        waitForLeaders: true,
      });
      await producer.connect();
      await producer.send({ topic, messages: [{ key: 'k', value: 'hello' }] });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const received = new Promise<string>((resolve) => {
        void consumer.run({
          eachMessage: ({ message }) => Promise.resolve(resolve(message.value?.toString() ?? '')),
        });
      });
      await expect(received).resolves.toBe('hello');
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  }, 60_000);

  it('validates the Prometheus config and alert rules with promtool', async () => {
    const dir = path.dirname(endpoints.prometheusTargetsDir);
    await expect(
      run('promtool', ['check', 'config', path.join(dir, 'prometheus.yml')]),
    ).resolves.toBeDefined();
    await expect(
      run('promtool', ['check', 'rules', path.join(__dirname, '..', 'prometheus', 'alerts.yml')]),
    ).resolves.toBeDefined();
  });

  it('scrapes a target announced in the file_sd directory within seconds', async () => {
    const server = http.createServer((_req, res) => res.end('infra_test_up 1\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const target = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const file = path.join(endpoints.prometheusTargetsDir, `infra-test-${process.pid}.json`);
    writeFileSync(file, JSON.stringify([{ targets: [target], labels: { service: 'infra-test' } }]));
    try {
      expect(await waitForUpTarget(endpoints.prometheusUrl, target, 15_000)).toBe('up');
    } finally {
      rmSync(file, { force: true });
      await new Promise((resolve) => server.close(resolve));
    }
  }, 30_000);
});

async function waitForUpTarget(
  prometheusUrl: string,
  target: string,
  timeoutMs: number,
): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  let health: string | undefined;
  while (Date.now() < deadline && health !== 'up') {
    const body = (await (await fetch(`${prometheusUrl}/api/v1/targets?state=active`)).json()) as {
      data: { activeTargets: Array<{ labels: { instance: string }; health: string }> };
    };
    health = body.data.activeTargets.find(
      (candidate) => candidate.labels.instance === target,
    )?.health;
    if (health !== 'up') await sleep(500);
  }
  return health;
}
