import net, { type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { Registry } from 'prom-client';
import {
  createLogShipper,
  createLogger,
  createMetrics,
  readBaseServiceConfig,
  readConfig,
  shipLogs,
  startService,
  type LogShipper,
  type RunningService,
} from '@shop/platform';
import { testEnv, uniqueId, waitFor } from '@shop/testing';

const { logStoreUrl } = testEnv();

/** Discards the stdout copy of the lines; the store is what these tests read. */
const discard = (): Writable =>
  new Writable({
    write(_chunk, _enc, done) {
      done();
    },
  });

interface Hit {
  _index: string;
  _source: Record<string, unknown>;
}

/** Searches every daily log index with a query; throws on an error answer. */
async function search(query: Record<string, unknown>): Promise<Hit[]> {
  const response = await fetch(`${logStoreUrl}/shop-logs-*/_search`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, size: 1000 }),
  });
  if (!response.ok)
    throw new Error(`_search answered ${response.status}: ${await response.text()}`);
  const body = (await response.json()) as { hits: { hits: Hit[] } };
  return body.hits.hits;
}

/** Waits until a search returns `count` hits (a line is searchable after the index refreshes). */
function found(what: string, query: Record<string, unknown>, count: number): Promise<Hit[]> {
  return waitFor(`${count} ${what} in the log store`, async () => {
    const hits = await search(query);
    return hits.length >= count ? hits : undefined;
  });
}

async function counter(registry: Registry, name: string, labels = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`${name} is not registered`);
  const { values } = await metric.get();
  const match = values.find((v) =>
    Object.entries(labels).every(([k, value]) => v.labels[k] === value),
  );
  return match?.value ?? 0;
}

/**
 * A TCP relay to the real store that can be taken down and brought back on the same port: from
 * the shipper's side the store goes away (connections refused, open ones reset) and returns.
 */
async function relayToStore(): Promise<{
  url: string;
  down(): Promise<void>;
  up(): Promise<void>;
}> {
  const target = Number(new URL(logStoreUrl).port);
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let port = 0;
  const up = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const relay = net.createServer((client) => {
        const upstream = net.connect(target, '127.0.0.1');
        const close = (): void => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        sockets.add(client).add(upstream);
        client.on('error', close).on('close', close);
        upstream.on('error', close).on('close', close);
        client.pipe(upstream).pipe(client);
      });
      relay.once('error', reject);
      relay.listen(port, '127.0.0.1', () => {
        port = (relay.address() as AddressInfo).port;
        server = relay;
        resolve();
      });
    });
  const down = (): Promise<void> =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      if (server) server.close(() => resolve());
      else resolve();
      server = undefined;
    });
  await up();
  return { url: `http://127.0.0.1:${port}`, down, up };
}

describe('log shipping to the log store', () => {
  const shippers: LogShipper[] = [];
  const services: RunningService[] = [];
  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await Promise.all(shippers.map((s) => s.close()));
  });

  it('ships the lines a process logs into the day index, found by trace.id and by a field', async () => {
    const registry = new Registry();
    const logger = createLogger({ service: 'log-shipper-test', stream: discard() });
    const shipper = shipLogs(logger, { url: logStoreUrl, flushIntervalMs: 200, registry });
    shippers.push(shipper);
    const runId = uniqueId('ship');
    const provider = new NodeTracerProvider();
    const tracer = provider.getTracer('log-shipper-test');
    provider.register();
    const traceId = tracer.startActiveSpan('op', (span) => {
      logger.info({ runId }, 'inside a span');
      span.end();
      return span.spanContext().traceId;
    });
    for (let n = 0; n < 20; n += 1) logger.info({ runId, n }, 'a line');

    const [byTrace] = await found('line of the trace', { term: { 'trace.id': traceId } }, 1);
    const day = new Date().toISOString().slice(0, 10).replace(/-/g, '.');
    expect(byTrace?._index).toBe(`shop-logs-${day}`);
    expect(byTrace?._source).toMatchObject({
      message: 'inside a span',
      runId,
      'log.level': 'info',
      'service.name': 'log-shipper-test',
      'trace.id': traceId,
    });
    const byField = await found('lines of the run', { term: { 'runId.keyword': runId } }, 21);
    expect(byField).toHaveLength(21);
    expect(shipper.stats()).toMatchObject({ shipped: 21, dropped: 0, buffered: 0 });
    expect(await counter(registry, 'log_shipper_shipped_total')).toBe(21);
  });

  it('counts a line the store refuses as dropped and ships the lines around it', async () => {
    const registry = new Registry();
    const shipper = createLogShipper({ url: logStoreUrl, flushIntervalMs: 60_000, registry });
    shippers.push(shipper);
    const field = uniqueId('count').replace(/-/g, '_');
    const line = (value: unknown): string =>
      JSON.stringify({ '@timestamp': new Date().toISOString(), message: 'typed', [field]: value });
    shipper.write(line(1));
    await shipper.flush();
    // The field is mapped as a number now: a string there fails that one item of the batch.
    shipper.write(line('not a number'));
    shipper.write(line(2));
    await shipper.flush();
    expect(shipper.stats()).toEqual({ shipped: 2, dropped: 1, buffered: 0 });
    expect(await counter(registry, 'log_shipper_dropped_total', { reason: 'rejected' })).toBe(1);
    await found('accepted lines', { exists: { field } }, 2);
  });

  it('keeps logging while the store is unreachable, counts the dropped lines and ships the kept ones when it is back', async () => {
    const relay = await relayToStore();
    const registry = new Registry();
    const logger = createLogger({ service: 'log-shipper-outage-test', stream: discard() });
    const shipper = shipLogs(logger, {
      url: relay.url,
      flushIntervalMs: 100,
      maxRetryDelayMs: 200,
      maxBufferedLines: 50,
      requestTimeoutMs: 2_000,
      registry,
    });
    shippers.push(shipper);
    const runId = uniqueId('outage');
    await relay.down();

    for (let n = 0; n < 200; n += 1) {
      expect(() => logger.info({ runId, n }, 'while the store is down')).not.toThrow();
    }
    // An attempt while the store is down resolves (nothing is thrown at the process) and keeps the buffer.
    await expect(shipper.flush()).resolves.toBeUndefined();
    expect(shipper.stats()).toEqual({ shipped: 0, dropped: 150, buffered: 50 });
    expect(await counter(registry, 'log_shipper_dropped_total', { reason: 'buffer_full' })).toBe(
      150,
    );

    await relay.up();
    await waitFor('the buffer to be shipped once the store is back', () =>
      shipper.stats().buffered === 0 ? true : undefined,
    );
    logger.info({ runId, n: 200 }, 'after the store came back');
    const hits = await found('lines of the run', { term: { 'runId.keyword': runId } }, 51);
    // The oldest lines were kept (newer ones were dropped when the buffer was full).
    const numbers = hits.map((h) => h._source['n'] as number).sort((a, b) => a - b);
    expect(numbers).toEqual([...Array.from({ length: 50 }, (_, n) => n), 200]);
    expect(await counter(registry, 'log_shipper_shipped_total')).toBe(51);
    await relay.down();
  });

  it('ships the logs of a service started with LOG_STORE_URL set, with metrics on its registry', async () => {
    const env = { LOG_STORE_URL: logStoreUrl, AUTH_TRUST_IDENTITY_METADATA: 'true' };
    const config = readConfig(env, (r) =>
      readBaseServiceConfig(r, { serviceName: 'log-shipper-service', grpcPort: 0, metricsPort: 0 }),
    );
    const logger = createLogger({ service: config.serviceName, stream: discard() });
    const { registry } = createMetrics({ service: config.serviceName });
    const service = await startService({
      config,
      logger,
      registry,
      register: () => undefined,
    });
    services.push(service);
    const runId = uniqueId('service');
    logger.warn({ runId }, 'a line of a running service');
    const [hit] = await found('line of the service', { term: { 'runId.keyword': runId } }, 1);
    expect(hit?._source).toMatchObject({
      'service.name': 'log-shipper-service',
      'log.level': 'warn',
    });
    const metrics = await (await fetch(`http://127.0.0.1:${service.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^log_shipper_shipped_total\{service="log-shipper-service"\} [1-9]/m);
  });
});
