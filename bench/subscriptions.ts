/**
 * Subscription fan-out benchmark: BENCH_SUBSCRIBERS graphql-ws connections (one `stockChanged`
 * subscription each, spread over BENCH_PRODUCTS products) on ONE gateway process, while stock
 * changes at a steady BENCH_RATE per second for BENCH_SECONDS. The gateway runs as its own
 * process (`supergraph/dist/src/main.js`) so its resident memory and CPU can be read from /proc;
 * the product, category and inventory services and their subgraphs run in this process on the
 * real store and Kafka; the subscribers' sockets run in a third process (forked from this file),
 * so reading 10,000 sockets does not hold up the services' event loop (`BENCH_CLIENTS=inline`
 * keeps them in this process, as the first version of this benchmark did). Latency is from the
 * stock write (`Stock.updatedAt`, set by the inventory service in the same write as its outbox
 * event) to the client receiving the message, so it includes the outbox relay (50 ms poll here),
 * Kafka, the gateway's re-read and the fan-out; the spread is, per change, from the first to the
 * last subscriber receiving it.
 * `BENCH_GATEWAY` runs another build of the gateway (a path to its `main.js`), to compare builds
 * on the same machine and stack.
 * `npm run bench:subscriptions -w @shop/bench`; never part of `npm test`.
 */
import type { RunningSubgraph } from '@shop/graphql';
import { parsers, readConfig } from '@shop/platform';
import { category, product } from '@shop/proto';
import {
  catalogClients,
  gatewayEnv,
  startServices,
  startSubgraphs,
  type RunningServices,
  type SubgraphName,
} from '@shop/testing/stack';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { admin, benchLogger, freePort } from './common';

const config = readConfig(process.env, (env) => ({
  mongoUrl: env.optional('MONGO_URL', parsers.string, 'mongodb://127.0.0.1:27017/'),
  kafkaBrokers: env.optional('KAFKA_BROKERS', parsers.string, '127.0.0.1:9092'),
  subscribers: env.optional('BENCH_SUBSCRIBERS', parsers.list, ['1000', '10000']).map(Number),
  products: env.optional('BENCH_PRODUCTS', parsers.int(1, 1_000), 10),
  rate: env.optional('BENCH_RATE', parsers.int(1, 1_000), 10),
  seconds: env.optional('BENCH_SECONDS', parsers.int(1, 120), 20),
  logLevel: env.optional('LOG_LEVEL', parsers.oneOf('fatal', 'error', 'warn', 'info'), 'fatal'),
  clients: env.optional('BENCH_CLIENTS', parsers.oneOf('process', 'inline'), 'process'),
  gateway: env.optional(
    'BENCH_GATEWAY',
    parsers.string,
    path.join(__dirname, '../../supergraph/dist/src/main.js'),
  ),
}));

const logger = benchLogger(config.logLevel);
const run = randomUUID().slice(0, 8);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resident memory (bytes) and CPU time (seconds) of a process, from /proc. */
function usage(pid: number): { rss: number; cpu: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
  return { rss: rssKb * 1024, cpu: ticks / 100 };
}

const pct = (sorted: number[], p: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

const STOCK =
  'subscription($p: ID!) { stockChanged(productId: $p) { productId available updatedAt } }';

/** Opens `n` connections with one subscription each; resolves once each got its current state. */
async function subscribe(
  url: string,
  n: number,
  productIds: string[],
  onMessage: (receivedAt: number, productId: string, updatedAt: string) => void,
): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  for (let start = 0; start < n; start += 250) {
    const batch = Array.from({ length: Math.min(250, n - start) }, (_, k) => start + k);
    await Promise.all(
      batch.map(
        (i) =>
          new Promise<void>((resolve, reject) => {
            const ws = new WebSocket(url, 'graphql-transport-ws');
            sockets.push(ws);
            let initial = true;
            ws.once('error', reject);
            ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: {} })));
            ws.on('message', (raw) => {
              const now = Date.now();
              const msg = JSON.parse((raw as Buffer).toString()) as {
                type: string;
                payload?: { data?: { stockChanged?: { productId: string; updatedAt: string } } };
              };
              if (msg.type === 'connection_ack') {
                ws.send(
                  JSON.stringify({
                    id: '1',
                    type: 'subscribe',
                    payload: { query: STOCK, variables: { p: productIds[i % productIds.length] } },
                  }),
                );
              } else if (msg.type === 'next') {
                if (initial) {
                  initial = false;
                  resolve();
                } else if (msg.payload?.data?.stockChanged) {
                  const { productId, updatedAt } = msg.payload.data.stockChanged;
                  onMessage(now, productId, updatedAt);
                }
              } else if (msg.type === 'error') {
                reject(new Error(JSON.stringify(msg.payload)));
              }
            });
          }),
      ),
    );
  }
  return sockets;
}

/** What the subscribers measured: latency per message, and per change its fan-out spread. */
interface Measured {
  latencies: number[];
  spreads: number[];
}

/** The benchmark's subscribers, wherever their sockets run. */
interface SubscriberPool {
  /** Opens `n` subscriptions; resolves once each got its current state. */
  subscribe(url: string, n: number, productIds: string[]): Promise<void>;
  /** What was measured since subscribing; closes the sockets. */
  finish(): Promise<Measured>;
}

/** Subscribers whose sockets run in the calling process. */
function inlineSubscribers(): SubscriberPool {
  let sockets: WebSocket[] = [];
  const latencies: number[] = [];
  const arrivals = new Map<string, { first: number; last: number }>();
  return {
    async subscribe(url, n, productIds) {
      sockets = await subscribe(url, n, productIds, (at, productId, updatedAt) => {
        latencies.push(at - Date.parse(updatedAt));
        const key = `${productId} ${updatedAt}`;
        const seen = arrivals.get(key);
        if (seen === undefined) arrivals.set(key, { first: at, last: at });
        else seen.last = at;
      });
    },
    finish() {
      for (const ws of sockets) ws.terminate();
      const spreads = [...arrivals.values()].map((a) => a.last - a.first);
      return Promise.resolve({ latencies, spreads });
    },
  };
}

type ToSubscribers =
  | { type: 'subscribe'; url: string; n: number; productIds: string[] }
  | {
      type: 'finish';
    };
type FromSubscribers =
  { type: 'subscribed' } | { type: 'failed'; error: string } | ({ type: 'finished' } & Measured);

const SUBSCRIBERS_ROLE = 'subscribers';

/** Subscribers in a process of their own (this file, forked), driven over IPC. */
function forkedSubscribers(): SubscriberPool {
  const child: ChildProcess = fork(__filename, [SUBSCRIBERS_ROLE], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ask = (message: ToSubscribers) =>
    new Promise<FromSubscribers>((resolve, reject) => {
      const exited = (code: number | null) => reject(new Error(`subscribers exited (${code})`));
      child.once('exit', exited);
      child.once('message', (answer) => {
        child.off('exit', exited);
        resolve(answer as FromSubscribers);
      });
      child.send(message);
    });
  return {
    async subscribe(url, n, productIds) {
      const answer = await ask({ type: 'subscribe', url, n, productIds });
      if (answer.type === 'failed') throw new Error(`subscribing failed: ${answer.error}`);
    },
    async finish() {
      const answer = await ask({ type: 'finish' });
      if (answer.type !== 'finished') throw new Error('the subscribers did not report');
      return { latencies: answer.latencies, spreads: answer.spreads };
    },
  };
}

/** The forked subscriber process: holds the sockets until asked for its measurements. */
function serveSubscribers(): void {
  const pool = inlineSubscribers();
  // Ends with the benchmark, however that ends.
  process.on('disconnect', () => process.exit(0));
  const reply = (message: FromSubscribers, then: () => void = () => undefined) =>
    process.send?.(message, undefined, undefined, then);
  process.on('message', (message: ToSubscribers) => {
    if (message.type === 'subscribe') {
      pool.subscribe(message.url, message.n, message.productIds).then(
        () => reply({ type: 'subscribed' }),
        (err: unknown) => reply({ type: 'failed', error: String(err) }),
      );
    } else {
      void pool
        .finish()
        .then((measured) => reply({ type: 'finished', ...measured }, () => process.exit(0)));
    }
  });
}

async function main(): Promise<void> {
  const t0 = Date.now();
  let services: RunningServices | undefined;
  let subgraphs: Partial<Record<SubgraphName, RunningSubgraph>> = {};
  try {
    services = await startServices('bench-subs', {
      services: ['category', 'product', 'inventory'],
      dependencies: { mongoUrl: config.mongoUrl, kafkaBrokers: config.kafkaBrokers },
      logger,
      logLevel: config.logLevel,
      databases: {
        category: `bench_subs_${run}_category`,
        product: `bench_subs_${run}_product`,
        inventory: `bench_subs_${run}_inventory`,
      },
      inventoryConsumes: false,
      // The inventory service's default partitions, as deployed (its relay polls every 50 ms).
      envOf: { inventory: { KAFKA_TOPIC_PARTITIONS: '6' } },
    });
    const { products, categories, stock, close } = catalogClients(services, {
      deadlineMs: 30_000,
    });
    const leaf = (
      await categories.createCategory(
        category.CreateCategoryRequest.fromPartial({ name: 'Live' }),
        {
          metadata: admin(),
        },
      )
    ).category!.id;
    const productIds: string[] = [];
    for (let i = 0; i < config.products; i++) {
      const created = await products.createProduct(
        product.CreateProductRequest.fromPartial({
          sku: `SUBS-${run}-${i}`,
          name: `Live product ${i}`,
          categoryId: leaf,
          price: { amount: 1_000 + i, currency: 'EUR' },
        }),
        { metadata: admin() },
      );
      productIds.push(created.product!.id);
      await stock.setInitialStock(
        { productId: created.product!.id, onHand: 1_000_000 },
        { metadata: admin() },
      );
    }

    subgraphs = await startSubgraphs(services, {
      subgraphs: ['products', 'categories', 'inventory'],
    });
    console.log(
      `seeded ${config.products} products in ${((Date.now() - t0) / 1000).toFixed(1)} s; subscribers: ${config.clients === 'process' ? 'own process' : 'in the services process'}`,
    );
    console.log(
      '| subscribers | products | events/s | messages received | p50 | p99 | fan-out spread p50 / p99 | gateway RSS before → with subscribers | RSS per subscriber | gateway CPU (steady phase) |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|---|');

    for (const n of config.subscribers) {
      const port = await freePort();
      // Fed from the stack's topics, subscriptions and the entity cache at their defaults (on).
      const gateway = spawn(process.execPath, [config.gateway], {
        env: {
          ...process.env,
          ...gatewayEnv(port, services, subgraphs, { events: true, logLevel: 'error' }),
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      const pid = gateway.pid!;
      try {
        const url = `ws://127.0.0.1:${port}/graphql`;
        for (let i = 0; ; i++) {
          const ready = await fetch(`http://127.0.0.1:${port}/healthz`).then(
            (r) => r.ok,
            () => false,
          );
          if (ready) break;
          if (i > 300) throw new Error('gateway did not start');
          await sleep(100);
        }
        await sleep(1_000);
        const before = usage(pid);
        const pool = config.clients === 'process' ? forkedSubscribers() : inlineSubscribers();
        await pool.subscribe(url, n, productIds);
        await sleep(2_000);
        const subscribed = usage(pid);

        // Steady load: BENCH_RATE adjustments per second, round robin over the products.
        const start = usage(pid);
        const startedAt = Date.now();
        let sent = 0;
        const interval = 1_000 / config.rate;
        while (Date.now() - startedAt < config.seconds * 1_000) {
          const due = startedAt + sent * interval;
          if (Date.now() < due) await sleep(due - Date.now());
          void stock
            .adjustStock(
              {
                productId: productIds[sent % productIds.length],
                delta: -1,
                reason: 'bench',
                idempotencyKey: '',
              },
              { metadata: admin() },
            )
            .catch((err: unknown) => logger.warn({ err }, 'adjust failed'));
          sent += 1;
        }
        await sleep(3_000);
        const end = usage(pid);
        const wall = (Date.now() - startedAt) / 1_000;
        const { latencies, spreads } = await pool.finish();
        const sorted = [...latencies].sort((a, b) => a - b);
        const spread = [...spreads].sort((a, b) => a - b);
        const expected = sent * (n / productIds.length);
        console.log(
          `| ${n.toLocaleString('en')} | ${productIds.length} | ${config.rate} | ${latencies.length.toLocaleString('en')} of ~${Math.round(expected).toLocaleString('en')} | ${pct(sorted, 0.5)} ms | ${pct(sorted, 0.99)} ms | ${pct(spread, 0.5)} / ${pct(spread, 0.99)} ms | ${(before.rss / 2 ** 20).toFixed(0)} → ${(subscribed.rss / 2 ** 20).toFixed(0)} MiB | ${((subscribed.rss - before.rss) / n / 1024).toFixed(1)} KiB | ${(((end.cpu - start.cpu) / wall) * 100).toFixed(0)} % of one core |`,
        );
      } finally {
        gateway.kill('SIGTERM');
        await new Promise((r) => gateway.once('exit', r));
      }
    }
    close();
  } finally {
    for (const s of Object.values(subgraphs)) await s.stop();
    await services?.stop();
  }
}

if (process.argv[2] === SUBSCRIBERS_ROLE) {
  serveSubscribers();
} else {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
