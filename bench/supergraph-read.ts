/**
 * Supergraph read benchmark: the read path as deployed, every server in its own process, load from
 * autocannon in another process, side by side over the SAME subgraphs and services:
 *   - ours, cached: the gateway `npm start` runs (4000), entity cache on (its default);
 *   - ours, uncached: the same entry again on 4010 with `ENTITY_CACHE_ENABLED=false`;
 *   - ours, plain: once more on 4011 with neither the cache nor in-flight sharing
 *     (`GATEWAY_DEDUPE=false`), to show what each is worth;
 *   - stock Apollo: `new ApolloGateway({ supergraphSdl })` defaults (servers/apollo-gateway.ts);
 *   - Hive: the `hive-gateway` CLI with its defaults (servers/hive-gateway.config.ts);
 * the two stock gateways forward the client's `authorization` header, nothing else.
 * The platform comes up through `startPlatform` (dependencies, six services, the demo seed, six
 * subgraphs, the gateway). Operations: the storefront page, one product by id, a signed-in
 * customer's orders; each with the same request every time and with a different one per request.
 * Prints req/s, p50/p99 and ratios, CPU per request of every process of the read path during the
 * storefront runs (from /proc), the cached gateway's entity-cache hit ratio, how long a stock
 * change takes to show through the cached gateway under load, and each gateway's RSS; ends with
 * markdown tables for bench/README.md. `npm run bench:read -w @shop/bench`; never part of
 * `npm test`.
 */
import { Metadata } from '@grpc/grpc-js';
import {
  GATEWAY,
  LOCAL_DEFAULTS,
  infraStatus,
  sharedEnv,
  startPlatform,
  type RunningPlatform,
} from '@shop/infra';
import { createGrpcClient, parsers, readConfig } from '@shop/platform';
import { inventory } from '@shop/proto';
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadResult, LoadSpec, LoaderMessage, Shape } from './servers/load';
import { freePort } from './common';

const TARGETS = ['ours-cached', 'ours-uncached', 'ours-plain', 'apollo', 'hive'] as const;
type Target = (typeof TARGETS)[number];
const OPERATIONS = ['storefront', 'product', 'orders'] as const;
const SHAPES = ['identical', 'varied'] as const;

const TARGET_LABEL: Record<Target, string> = {
  'ours-cached': 'ours, cached',
  'ours-uncached': 'ours, uncached',
  'ours-plain': 'ours, no cache, no sharing',
  apollo: 'stock Apollo Gateway',
  hive: 'Hive Gateway',
};
const OPERATION_LABEL: Record<(typeof OPERATIONS)[number], string> = {
  storefront: 'storefront page',
  product: 'product by id',
  orders: 'myOrders (signed in)',
};

/** A comma-separated list of allowed words. */
const listOf =
  <T extends string>(...allowed: T[]) =>
  (raw: string): T[] =>
    parsers.list(raw).map(parsers.oneOf(...allowed));

const config = readConfig(process.env, (env) => ({
  seconds: env.optional('BENCH_SECONDS', parsers.int(1, 60), 15),
  warmupSeconds: env.optional('BENCH_WARMUP_SECONDS', parsers.int(0, 30), 2),
  connections: env.optional('BENCH_CONNECTIONS', parsers.int(1, 1_000), 32),
  targets: env.optional('BENCH_TARGETS', listOf(...TARGETS), [...TARGETS]),
  operations: env.optional('BENCH_OPERATIONS', listOf(...OPERATIONS), [...OPERATIONS]),
  shapes: env.optional('BENCH_SHAPES', listOf(...SHAPES), [...SHAPES]),
  /** Parse and check every n-th answer (every answer is checked for `errors`). */
  verifyEvery: env.optional('BENCH_VERIFY_EVERY', parsers.int(1, 10_000), 20),
  freshnessChanges: env.optional('BENCH_FRESHNESS_CHANGES', parsers.int(0, 10_000), 200),
  /** Writers changing stock side by side; one freshness phase per entry (default 8, then 2). */
  freshnessLanes: env.optional(
    'BENCH_FRESHNESS_LANES',
    (raw) => parsers.list(raw).map(parsers.int(1, 32)),
    [8, 2],
  ),
  freshnessTimeoutMs: env.optional('BENCH_FRESHNESS_TIMEOUT_MS', parsers.int(100, 60_000), 10_000),
  freshnessBudgetS: env.optional('BENCH_FRESHNESS_BUDGET_S', parsers.int(5, 600), 120),
  // A gateway is run below saturation: at full load a read alone queues for tens of ms.
  freshnessRate: env.optional('BENCH_FRESHNESS_RATE', parsers.int(1, 100_000), 200),
  /** Pause between two reads of a changed product: back-to-back polling by every lane would be
   * load of its own, thousands of cheap cached reads per second competing with the event path. */
  freshnessPollMs: env.optional('BENCH_FRESHNESS_POLL_MS', parsers.int(0, 1_000), 5),
  /** The customer's order list is topped up to this many orders (myOrders pages up to 15). */
  customerOrders: env.optional('BENCH_CUSTOMER_ORDERS', parsers.int(1, 100), 15),
}));

const ROOT = path.resolve(__dirname, '..', '..');
const LOGS = path.join(ROOT, '.infra', 'logs');
const SUPERGRAPH_PATH = path.join(ROOT, 'supergraph', 'supergraph.graphql');
const OURS_URL = 'http://127.0.0.1:4000/graphql';
/** Every process measured runs without trace export and log shipping (empty unsets them). */
const UNTRACED = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '', LOG_STORE_URL: '' };
const OURS_METRICS = 'http://127.0.0.1:9460/metrics';
const UNCACHED = { port: 4010, metricsPort: 9470 };
const PLAIN = { port: 4011, metricsPort: 9471 };
/** Every port `npm start` binds, plus the second gateway's. */
const PLATFORM_PORTS = [
  ...[4000, 4001, 4002, 4003, 4004, 4005, 4006, UNCACHED.port, PLAIN.port],
  ...[9460, 9461, 9462, 9463, 9464, 9465, 9466, UNCACHED.metricsPort, PLAIN.metricsPort],
  ...[9451, 9452, 9453, 9454, 9455, 9456],
  ...[50051, 50052, 50053, 50054, 50055, 50056],
];
const SERVICES = ['product', 'category', 'inventory', 'user', 'order', 'notification'];
const SUBGRAPHS = ['products', 'categories', 'inventory', 'users', 'orders', 'notifications'];
const CLK_TCK = clockTicks();

const progress = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);

// ---------------------------------------------------------------------------------------------
// /proc: CPU ticks and resident memory of a process and its descendants.

function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** Fields after the parenthesised command of /proc/<pid>/stat (state is [0], ppid [1]). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The pid and every descendant (a gateway that forks workers is measured whole). */
function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = Number(statFields(Number(entry))?.[1]);
    if (!Number.isFinite(ppid)) continue;
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]) ?? []));
  return tree;
}

/** utime + stime of a process tree, in clock ticks. */
function cpuTicks(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    const fields = statFields(p);
    // utime and stime are fields 14 and 15 of the stat line, [11] and [12] after the command.
    if (fields) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks;
}

/** Resident memory of a process tree, in MiB. */
function rssMiB(pid: number): number {
  let kib = 0;
  for (const p of processTree(pid)) {
    try {
      kib += Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // Gone between the listing and the read.
    }
  }
  return kib / 1024;
}

// ---------------------------------------------------------------------------------------------
// Child processes this benchmark starts itself (the platform's are stopped by `platform.stop`).

const children = new Set<ChildProcess>();

/** Spawns a Node server with its output in `.infra/logs/bench-read-<name>.log`. */
function spawnNode(name: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  mkdirSync(LOGS, { recursive: true });
  const log = createWriteStream(path.join(LOGS, `bench-read-${name}.log`), { flags: 'a' });
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** SIGTERM, then SIGKILL after the grace period. */
function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Polls `ready` until it holds; fails when the child exits or the time is up. */
async function waitReady(
  name: string,
  child: ChildProcess,
  ready: () => Promise<boolean>,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited during start-up; see ${LOGS}/bench-read-${name}.log`);
    }
    if (await ready().catch(() => false)) return;
    await sleep(250);
  }
  throw new Error(
    `${name} was not ready after ${timeoutMs / 1000} s; see ${LOGS}/bench-read-${name}.log`,
  );
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: 500 });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

// ---------------------------------------------------------------------------------------------
// GraphQL and tokens.

interface GraphQLAnswer<T> {
  data?: T;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

async function graphql<T>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<T> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const res = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(30_000),
  });
  const answer = (await res.json()) as GraphQLAnswer<T>;
  if (answer.errors?.length || answer.data === undefined) {
    throw new Error(`${url}: ${JSON.stringify(answer.errors ?? answer).slice(0, 300)}`);
  }
  return answer.data;
}

/** A password-grant access token through the public `storefront` client. */
async function passwordToken(issuer: string, username: string, password: string): Promise<string> {
  const res = await fetch(`${issuer}/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'password',
      client_id: 'storefront',
      username,
      password,
    }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await res.json()) as { access_token?: string; error?: string };
  if (!res.ok || body.access_token === undefined) {
    throw new Error(`token for ${username}: HTTP ${res.status} ${body.error ?? ''}`);
  }
  return body.access_token;
}

/** Every product id of the seeded catalog, with its available stock. */
async function catalog(): Promise<Array<{ id: string; available: number }>> {
  const products: Array<{ id: string; available: number }> = [];
  let after: string | null = null;
  for (;;) {
    const page: {
      products: {
        edges: Array<{ node: { id: string; inventory: { available: number } | null } }>;
        pageInfo: { hasNextPage: boolean; endCursor: string | null };
      };
    } = await graphql(
      OURS_URL,
      `
        query ($after: String) {
          products(first: 50, after: $after) {
            edges {
              node {
                id
                inventory {
                  available
                }
              }
            }
            pageInfo {
              hasNextPage
              endCursor
            }
          }
        }
      `,
      { after },
    );
    for (const { node } of page.products.edges) {
      products.push({ id: node.id, available: node.inventory?.available ?? 0 });
    }
    if (!page.products.pageInfo.hasNextPage) return products;
    after = page.products.pageInfo.endCursor;
  }
}

const MY_ORDERS_PAGE = `query($after: String) { myOrders(first: 50, after: $after) {
  edges { node { id status } } pageInfo { hasNextPage endCursor } } }`;

/** Alice's orders (up to `limit`), newest first. */
async function customerOrders(
  token: string,
  limit: number,
): Promise<Array<{ id: string; status: string }>> {
  const orders: Array<{ id: string; status: string }> = [];
  let after: string | null = null;
  while (orders.length < limit) {
    const page: {
      myOrders: {
        edges: Array<{ node: { id: string; status: string } }>;
        pageInfo: { hasNextPage: boolean; endCursor: string | null };
      };
    } = await graphql(OURS_URL, MY_ORDERS_PAGE, { after }, token);
    orders.push(...page.myOrders.edges.map((e) => e.node));
    if (!page.myOrders.pageInfo.hasNextPage) break;
    after = page.myOrders.pageInfo.endCursor;
  }
  return orders;
}

/** Tops the customer's orders up to `wanted` (placed through the gateway) and counts them. */
async function ensureOrders(
  token: string,
  products: Array<{ id: string; available: number }>,
  wanted: number,
): Promise<number> {
  const existing = await customerOrders(token, wanted);
  const missing = wanted - existing.length;
  const stocked = products.filter((p) => p.available > 10);
  if (missing > 0 && stocked.length === 0) throw new Error('no product has stock to order');
  for (let i = 0; i < missing; i++) {
    await graphql(
      OURS_URL,
      'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }',
      {
        input: {
          items: [{ productId: stocked[i % stocked.length].id, quantity: 1 }],
          shippingAddress: {
            recipientName: 'Alice',
            line1: 'Street 1',
            city: 'Berlin',
            postalCode: '10115',
            countryCode: 'DE',
          },
          paymentMethod: 'pm_card_visa',
          idempotencyKey: `bench-read-${randomUUID()}`,
        },
      },
      token,
    );
  }
  if (missing > 0) {
    progress(`placed ${missing} orders for alice; waiting for them to leave PENDING`);
    // Let the order pipeline settle so its work does not land in the first measured runs.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const orders = await customerOrders(token, wanted);
      if (orders.every((o) => o.status !== 'PENDING')) break;
      await sleep(500);
    }
  }
  return (await customerOrders(token, 100)).length;
}

/** The counters of our gateway this benchmark reads; absent ones are undefined. */
const COUNTERS = {
  hits: ['gateway_entity_cache_hits_total', ''],
  misses: ['gateway_entity_cache_misses_total', ''],
  operationHits: ['gateway_operation_cache_hits_total', ''],
  operationMisses: ['gateway_operation_cache_misses_total', ''],
  sharedOperations: ['gateway_operations_shared_total', ''],
  deduplicated: ['gateway_subgraph_fetches_deduplicated_total', ''],
  feedLost: ['gateway_entity_cache_invalidations_total', 'source="feed_lost"'],
  notLive: ['gateway_entity_cache_bypasses_total', 'reason="not_live"'],
} as const;
type Counters = Partial<Record<keyof typeof COUNTERS, number>>;

/** A process's Prometheus text exposition. */
async function fetchMetrics(metricsUrl: string): Promise<string> {
  return (await fetch(metricsUrl, { signal: AbortSignal.timeout(5_000) })).text();
}

/** {@link COUNTERS} in a Prometheus text exposition, each summed over its matching series. */
function countersOf(text: string): Counters {
  const counters: Counters = {};
  // A labelled counter has no series until its first increment: declared means zero.
  const entries = Object.entries(COUNTERS) as Array<[keyof Counters, readonly [string, string]]>;
  for (const [key, [name]] of entries) {
    if (text.includes(`# TYPE ${name} counter`)) counters[key] = 0;
  }
  for (const line of text.split('\n')) {
    for (const [key, [name, labels]] of entries) {
      if ((line.startsWith(`${name} `) || line.startsWith(`${name}{`)) && line.includes(labels)) {
        counters[key] = (counters[key] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
      }
    }
  }
  return counters;
}

/** Reads {@link COUNTERS} from a process's /metrics; none (every figure n/a) when unreachable. */
async function scrapeCounters(metricsUrl: string): Promise<Counters> {
  try {
    return countersOf(await fetchMetrics(metricsUrl));
  } catch {
    return {};
  }
}

/** The gateway's invalidation delay histograms: whole, and split into its two stages. */
const DELAY_SERIES = {
  total: ['gateway_entity_cache_invalidation_delay_seconds_bucket{', ''],
  publish: ['gateway_entity_cache_invalidation_stage_seconds_bucket{', 'stage="publish"'],
  delivery: ['gateway_entity_cache_invalidation_stage_seconds_bucket{', 'stage="delivery"'],
} as const;
type DelaySeries = keyof typeof DELAY_SERIES;

/** Cumulative counts of the cached gateway's invalidation-delay histograms, by upper bound (s). */
function delayBucketsOf(text: string): Record<DelaySeries, Map<number, number>> {
  const out: Record<DelaySeries, Map<number, number>> = {
    total: new Map(),
    publish: new Map(),
    delivery: new Map(),
  };
  for (const line of text.split('\n')) {
    const series = (Object.keys(DELAY_SERIES) as DelaySeries[]).find(
      (k) => line.startsWith(DELAY_SERIES[k][0]) && line.includes(DELAY_SERIES[k][1]),
    );
    if (series === undefined) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    if (le === undefined) continue;
    out[series].set(
      le === '+Inf' ? Infinity : Number(le),
      Number(line.slice(line.lastIndexOf(' ') + 1)),
    );
  }
  return out;
}

/** A quantile (ms) of the observations between two scrapes, interpolated inside its bucket. */
function bucketQuantile(
  before: Map<number, number>,
  after: Map<number, number>,
  q: number,
): number | undefined {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((le) => (after.get(le) ?? 0) - (before.get(le) ?? 0));
  const total = counts.at(-1) ?? 0;
  if (total === 0) return undefined;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (let i = 0; i < bounds.length; i++) {
    const upper = bounds[i];
    const count = counts[i];
    if (count >= rank) {
      if (!Number.isFinite(upper)) return lower * 1000;
      return (lower + ((upper - lower) * (rank - below)) / Math.max(1, count - below)) * 1000;
    }
    lower = upper;
    below = count;
  }
  return undefined;
}

/** after − before for each counter present both times. */
function delta(before: Counters, after: Counters): Counters {
  const out: Counters = {};
  for (const key of Object.keys(COUNTERS) as Array<keyof Counters>) {
    const [b, a] = [before[key], after[key]];
    if (a !== undefined && b !== undefined) out[key] = a - b;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Load: one autocannon run in a child process.

interface Loader {
  child: ChildProcess;
  ready: Promise<void>;
  result: Promise<LoadResult>;
}

function startLoader(spec: LoadSpec): Loader {
  const child = fork(path.join(__dirname, 'servers', 'load.js'), [], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const result = new Promise<LoadResult>((resolve, reject) => {
    child.on('message', (message: LoaderMessage) => {
      if ('ready' in message) onReady();
      else if ('result' in message) resolve(message.result);
      else reject(new Error(`loader failed: ${message.failed}`));
    });
    child.once('exit', (code) => reject(new Error(`loader exited with ${code} before a result`)));
  });
  // A loader that dies before `ready` must not leave the caller waiting for it.
  result.catch(() => onReady());
  child.send({ spec });
  return { child, ready, result };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

interface Measured {
  target: Target;
  operation: (typeof OPERATIONS)[number];
  shape: Shape;
  load: LoadResult;
  /** CPU ticks per process of the read path over the measured run (storefront only). */
  cpu?: Map<string, number | undefined>;
  /** Our gateways' counters over the measured run. */
  counters?: Counters;
}

/** The read path's processes: name and pid (undefined when not known, e.g. an external store). */
type ReadPath = Array<{ name: string; pid: number | undefined }>;

function snapshot(readPath: ReadPath): Map<string, number | undefined> {
  return new Map(
    readPath.map(({ name, pid }) => [name, pid === undefined ? undefined : cpuTicks(pid)]),
  );
}

// ---------------------------------------------------------------------------------------------
// Freshness: time from an acknowledged stock change to the cached gateway answering it.

interface Freshness {
  /** Writers that changed stock side by side, each waiting for its change to show. */
  lanes: number;
  changes: number;
  latenciesMs: number[];
  timeouts: number;
  firstReadFresh: number;
  /** Round trip of every read of the polled product, for scale. */
  readsMs: number[];
  /**
   * The gateway's own figures, p50 / p99: event occurred in the service → entries dropped, and
   * its two stages (occurred → producer sent the record; record sent → entries dropped).
   */
  invalidationMs: Record<DelaySeries, [number | undefined, number | undefined]>;
  /** The cached gateway's counters over the phase (hits, misses, feed losses, bypasses). */
  counters: Counters;
  load: LoadResult;
  /** CPU of every process of the platform over the phase, as % of one core. */
  cpuPct?: Map<string, number | undefined>;
}

async function freshness(
  laneCount: number,
  inventoryUrl: string,
  adminToken: string,
  productIds: string[],
  baseSpec: Omit<LoadSpec, 'operation' | 'shape' | 'seconds' | 'url'>,
): Promise<Freshness> {
  const loader = startLoader({
    ...baseSpec,
    url: OURS_URL,
    operation: 'mixed',
    shape: 'varied',
    seconds: config.freshnessBudgetS + 30,
    overallRate: config.freshnessRate,
  });
  const client = createGrpcClient(
    'shop.inventory.v1.InventoryService',
    inventory.InventoryServiceService,
    inventoryUrl,
    { deadlineMs: 10_000 },
  );
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${adminToken}`);
  const lanes = Array.from(
    { length: Math.min(laneCount, productIds.length) },
    (_, i) => productIds[Math.floor((i * productIds.length) / laneCount)],
  );
  const applied = new Map<string, number>(lanes.map((id) => [id, 0]));
  const out: Omit<Freshness, 'load' | 'invalidationMs' | 'counters'> = {
    lanes: lanes.length,
    changes: 0,
    latenciesMs: [],
    timeouts: 0,
    firstReadFresh: 0,
    readsMs: [],
  };
  // One scrape gives both the delay histograms and the counters.
  const before = await fetchMetrics(OURS_METRICS);
  const delays0 = delayBucketsOf(before);
  const counters0 = countersOf(before);
  const now = (): number => Number(process.hrtime.bigint()) / 1e6;
  const read = async (id: string): Promise<number | undefined> =>
    (
      await graphql<{ product: { inventory: { available: number } | null } | null }>(
        OURS_URL,
        'query($id: ID!) { product(id: $id) { inventory { available } } }',
        { id },
      )
    ).product?.inventory?.available;
  try {
    await withTimeout(loader.ready, (config.warmupSeconds + 120) * 1000, 'freshness loader start');
    loader.child.send('go');
    const deadline = Date.now() + config.freshnessBudgetS * 1000;
    let claimed = 0;
    await Promise.all(
      lanes.map(async (productId) => {
        while (claimed < config.freshnessChanges && Date.now() < deadline) {
          claimed++;
          const ack = await client.adjustStock(
            inventory.AdjustStockRequest.fromPartial({
              productId,
              delta: 1,
              reason: 'bench: freshness',
              idempotencyKey: `bench-read-${randomUUID()}`,
            }),
            { metadata },
          );
          const acked = now();
          applied.set(productId, applied.get(productId)! + 1);
          out.changes++;
          const expected = ack.stock?.available;
          let reads = 0;
          for (;;) {
            const sent = now();
            const seen = await read(productId);
            out.readsMs.push(now() - sent);
            reads++;
            if (seen === expected) {
              out.latenciesMs.push(now() - acked);
              if (reads === 1) out.firstReadFresh++;
              break;
            }
            if (now() - acked > config.freshnessTimeoutMs) {
              out.timeouts++;
              break;
            }
            if (config.freshnessPollMs > 0) await sleep(config.freshnessPollMs);
          }
        }
      }),
    );
  } finally {
    loader.child.send('stop');
    // Put the stock back where it was.
    for (const [productId, n] of applied) {
      if (n === 0) continue;
      await client
        .adjustStock(
          inventory.AdjustStockRequest.fromPartial({
            productId,
            delta: -n,
            reason: 'bench: freshness, restore',
            idempotencyKey: `bench-read-${randomUUID()}`,
          }),
          { metadata },
        )
        .catch((err: unknown) =>
          progress(`could not restore stock of ${productId}: ${String(err)}`),
        );
    }
    client.close();
  }
  const load = await withTimeout(loader.result, 60_000, 'freshness loader result');
  const after = await fetchMetrics(OURS_METRICS);
  const delays1 = delayBucketsOf(after);
  const counters1 = countersOf(after);
  const counters: Counters = {};
  for (const key of Object.keys(COUNTERS) as Array<keyof Counters>) {
    const [a, b] = [counters0[key], counters1[key]];
    if (a !== undefined && b !== undefined) counters[key] = b - a;
  }
  return {
    ...out,
    counters,
    invalidationMs: {
      total: [
        bucketQuantile(delays0.total, delays1.total, 0.5),
        bucketQuantile(delays0.total, delays1.total, 0.99),
      ],
      publish: [
        bucketQuantile(delays0.publish, delays1.publish, 0.5),
        bucketQuantile(delays0.publish, delays1.publish, 0.99),
      ],
      delivery: [
        bucketQuantile(delays0.delivery, delays1.delivery, 0.5),
        bucketQuantile(delays0.delivery, delays1.delivery, 0.99),
      ],
    },
    load,
  };
}

// ---------------------------------------------------------------------------------------------
// Output.

const fmt = (n: number | undefined, digits = 1): string =>
  n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(digits);
const quantile = (sorted: number[], q: number): number | undefined =>
  sorted.length === 0
    ? undefined
    : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

/** Hits / (hits + misses), with the counts. */
/** Whole operations answered from the operation cache, then entity lookups of the rest. */
function hitRatio(c: Counters): string {
  if (c.hits === undefined || c.misses === undefined) return 'n/a';
  const ratio = (hits: number, misses: number): string =>
    `${fmt((100 * hits) / Math.max(1, hits + misses))} % (${hits} / ${hits + misses})`;
  const entities = `entities ${ratio(c.hits, c.misses)}`;
  if (c.operationHits === undefined || c.operationMisses === undefined) return entities;
  return `operations ${ratio(c.operationHits, c.operationMisses)} · ${entities}`;
}

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

function report(
  runs: Measured[],
  fresh: Freshness[],
  rss: Array<[Target, number]>,
  context: string,
): string {
  const find = (t: Target, o: string, s: Shape) =>
    runs.find((r) => r.target === t && r.operation === o && r.shape === s);
  const sections: string[] = [context];
  const combos = config.operations.flatMap((o) => config.shapes.map((s) => [o, s] as const));

  sections.push(
    '**Throughput and latency** (req/s, p50 / p99 ms; 2xx answers only counted as good)',
    table(
      ['operation', 'shape', ...config.targets.map((t) => TARGET_LABEL[t])],
      combos.map(([o, s]) => [
        OPERATION_LABEL[o],
        s,
        ...config.targets.map((t) => {
          const r = find(t, o, s);
          return r ? `${fmt(r.load.reqPerS)} · ${fmt(r.load.p50, 0)} / ${fmt(r.load.p99, 0)}` : '—';
        }),
      ]),
    ),
  );

  const ratio = (a: Target, b: Target, o: string, s: Shape): string => {
    const x = find(a, o, s);
    const y = find(b, o, s);
    return x && y ? fmt(x.load.reqPerS / y.load.reqPerS, 2) : '—';
  };
  sections.push(
    '**Throughput ratios**',
    table(
      ['operation', 'shape', 'cached/stock', 'cached/hive', 'uncached/stock', 'uncached/hive'],
      combos.map(([o, s]) => [
        OPERATION_LABEL[o],
        s,
        ratio('ours-cached', 'apollo', o, s),
        ratio('ours-cached', 'hive', o, s),
        ratio('ours-uncached', 'apollo', o, s),
        ratio('ours-uncached', 'hive', o, s),
      ]),
    ),
  );

  const cpuRuns = runs.filter((r) => r.cpu);
  if (cpuRuns.length > 0) {
    const names = [...cpuRuns[0].cpu!.keys()];
    const perRequest = (r: Measured, name: string): number | undefined => {
      const ticks = r.cpu!.get(name);
      return ticks === undefined ? undefined : (ticks * 1e6) / CLK_TCK / r.load.requests;
    };
    sections.push(
      `**CPU per request during the storefront runs** (µs of CPU per request, utime+stime from /proc, ${CLK_TCK} ticks/s; "gateway" is the gateway under test)`,
      table(
        ['process', ...cpuRuns.map((r) => `${TARGET_LABEL[r.target]}, ${r.shape}`)],
        [
          ...names.map((name) => [name, ...cpuRuns.map((r) => fmt(perRequest(r, name), 0))]),
          [
            '**total**',
            ...cpuRuns.map((r) =>
              fmt(
                names.reduce((sum, name) => sum + (perRequest(r, name) ?? 0), 0),
                0,
              ),
            ),
          ],
          ['load generator (% of one core)', ...cpuRuns.map((r) => fmt(r.load.loaderCpuPct, 0))],
        ],
      ),
    );
  }

  const cached = runs.filter((r) => r.target === 'ours-cached' || r.target === 'ours-uncached');
  if (cached.length > 0) {
    sections.push(
      "**Entity cache** (hits / (hits + misses) over each measured run, from the gateway's /metrics)",
      table(
        [
          'operation',
          'shape',
          ...(['ours-cached', 'ours-uncached'] as const).map((t) => TARGET_LABEL[t]),
        ],
        combos.map(([o, s]) => [
          OPERATION_LABEL[o],
          s,
          ...(['ours-cached', 'ours-uncached'] as const).map((t) => {
            const c = find(t, o, s)?.counters;
            return c === undefined ? 'n/a' : hitRatio(c);
          }),
        ]),
      ),
    );
  }

  sections.push(
    '**Overlap**: share of requests sent while an identical request was in flight (per target); on our gateways, per request, queries answered by an identical query in flight and subgraph fetches answered by an identical fetch in flight',
    table(
      [
        'operation',
        'shape',
        ...config.targets.map((t) => TARGET_LABEL[t]),
        ...(['ours-cached', 'ours-uncached'] as const)
          .filter((t) => config.targets.includes(t))
          .map((t) => `${TARGET_LABEL[t]}: shared queries · fetches`),
      ],
      combos.map(([o, s]) => [
        OPERATION_LABEL[o],
        s,
        ...config.targets.map((t) => {
          const r = find(t, o, s);
          return r ? `${fmt(r.load.twinsPct, 0)} %` : '—';
        }),
        ...(['ours-cached', 'ours-uncached'] as const)
          .filter((t) => config.targets.includes(t))
          .map((t) => {
            const r = find(t, o, s);
            const perRequest = (n: number | undefined) =>
              r && n !== undefined ? fmt(n / r.load.requests, 2) : 'n/a';
            return `${perRequest(r?.counters?.sharedOperations)} · ${perRequest(r?.counters?.deduplicated)}`;
          }),
      ]),
    ),
  );

  if (fresh.length > 0) {
    sections.push(
      '**Freshness through the cached gateway under load** (stock change acknowledged by the inventory service → first answer of `product { inventory { available } }` from the cached gateway showing it; one phase per number of writers)',
      table(
        [
          'writers',
          'changes',
          'visible p50',
          'p99',
          'max',
          'right on the first read',
          'one read, p50',
          'not visible within the timeout',
          'event → invalidated in the gateway, p50 / p99',
          'of which: written → sent to Kafka · sent → invalidated',
          'cache meanwhile: hit ratio · feed lost · bypassed (not live)',
          'load meanwhile',
        ],
        fresh.map((f) => {
          const sorted = [...f.latenciesMs].sort((a, b) => a - b);
          const reads = [...f.readsMs].sort((a, b) => a - b);
          return [
            String(f.lanes),
            String(f.changes),
            `${fmt(quantile(sorted, 0.5))} ms`,
            `${fmt(quantile(sorted, 0.99))} ms`,
            `${fmt(sorted.at(-1))} ms`,
            `${f.firstReadFresh} of ${f.changes}`,
            `${fmt(quantile(reads, 0.5))} ms`,
            `${f.timeouts} (${config.freshnessTimeoutMs} ms)`,
            `${fmt(f.invalidationMs.total[0])} / ${fmt(f.invalidationMs.total[1])} ms`,
            `${fmt(f.invalidationMs.publish[0])} / ${fmt(f.invalidationMs.publish[1])} ms · ${fmt(f.invalidationMs.delivery[0])} / ${fmt(f.invalidationMs.delivery[1])} ms`,
            `${hitRatio(f.counters)} · ${f.counters.feedLost ?? 'n/a'} · ${f.counters.notLive ?? 'n/a'}`,
            `${fmt(f.load.reqPerS)} req/s, p99 ${fmt(f.load.p99, 0)} ms, ${f.load.badAnswers} bad answers`,
          ];
        }),
      ),
    );
    const names = [...(fresh[0]?.cpuPct?.keys() ?? [])];
    if (names.length > 0) {
      sections.push(
        '**CPU during each freshness phase, % of one core** (2 cores = 200 %)',
        table(
          ['writers', ...names, 'all'],
          fresh.map((f) => {
            const pcts = names.map((name) => f.cpuPct?.get(name));
            const total = pcts.reduce<number>((sum, pct) => sum + (pct ?? 0), 0);
            return [String(f.lanes), ...pcts.map((pct) => fmt(pct, 0)), fmt(total, 0)];
          }),
        ),
      );
    }
  }

  sections.push(
    '**Gateway resident memory at the end**',
    table(
      rss.map(([t]) => TARGET_LABEL[t]),
      [rss.map(([, mib]) => `${fmt(mib, 0)} MiB`)],
    ),
  );

  const bad = runs.filter((r) => r.load.errors + r.load.non2xx + r.load.badAnswers > 0);
  const parsed = runs.reduce((sum, r) => sum + r.load.parsed, 0);
  sections.push(
    bad.length === 0
      ? `Answers: every run had 0 connection errors, 0 non-2xx and no answer with \`errors\`; ${parsed} sampled answers had the expected item count.`
      : `Answers: **${bad.length} run(s) had bad answers**: ${bad
          .map(
            (r) =>
              `${TARGET_LABEL[r.target]} ${r.operation} ${r.shape}: ${r.load.errors} errors, ${r.load.non2xx} non-2xx, ${r.load.badAnswers} bad (${r.load.firstBad ?? ''})`,
          )
          .join('; ')}`,
  );
  return sections.join('\n\n');
}

// ---------------------------------------------------------------------------------------------

let platform: RunningPlatform | undefined;
let shuttingDown: Promise<void> | undefined;

/** Stops everything this run started: loaders and servers, then the platform. Idempotent. */
function shutdown(): Promise<void> {
  shuttingDown ??= (async () => {
    await Promise.all([...children].map((c) => stopChild(c)));
    if (platform) await platform.stop();
    else {
      // Interrupted while the platform was starting: its processes are our direct children.
      for (const pid of processTree(process.pid).slice(1)) {
        if (Number(statFields(pid)?.[1]) !== process.pid) continue;
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // Already gone.
        }
      }
    }
  })();
  return shuttingDown;
}

async function main(): Promise<void> {
  const started = Date.now();
  const runCount = config.targets.length * config.operations.length * config.shapes.length;
  const budgetMs =
    (180 +
      runCount * (config.seconds + config.warmupSeconds + 15) +
      config.freshnessLanes.length * (config.freshnessBudgetS + 40) +
      60) *
    1000;
  const watchdog = setTimeout(() => {
    progress(`over the time budget of ${Math.round(budgetMs / 60_000)} min; stopping`);
    void shutdown().finally(() => process.exit(2));
  }, budgetMs);
  watchdog.unref();

  for (const port of PLATFORM_PORTS) {
    if (await portAnswers(port)) {
      throw new Error(
        `port ${port} on 127.0.0.1 is already in use: the platform seems to be running (\`npm start\`?). ` +
          'Stop it first; this benchmark starts, and measures, its own platform processes.',
      );
    }
  }

  progress('starting the platform (as `npm start` does)');
  platform = await startPlatform({
    log: (line) => progress(`platform: ${line}`),
    // Measured as the gateways compared with it run: no trace export, no log shipping (with
    // both on, every process spends about 35-45 % more CPU per request; see the README).
    processEnv: UNTRACED,
  });
  const byName = new Map(platform.processes.map((p) => [p.spec.name, p.child.pid]));
  const expected = [
    ...SERVICES.map((s) => `${s}-service`),
    ...SUBGRAPHS.map((s) => `${s}-subgraph`),
    GATEWAY.name,
  ];
  const missing = expected.filter((name) => byName.get(name) === undefined);
  if (missing.length > 0) {
    throw new Error(`not built, so not started: ${missing.join(', ')}; run \`npm run build\``);
  }
  const env: Record<string, string> = { ...sharedEnv(platform.endpoints), ...UNTRACED };
  const store = (await infraStatus({ only: ['mongo'] }))[0];
  const storePid = store?.state === 'running' ? store.pid : undefined;

  progress('starting the other gateways over the same subgraphs');
  const apolloPort = await freePort();
  const hivePort = await freePort();
  const uncached = spawnNode('gateway-uncached', [path.join(ROOT, GATEWAY.main)], {
    ...LOCAL_DEFAULTS,
    ...process.env,
    ...env,
    GATEWAY_PORT: String(UNCACHED.port),
    METRICS_PORT: String(UNCACHED.metricsPort),
    ENTITY_CACHE_ENABLED: 'false',
  });
  const plain = spawnNode('gateway-plain', [path.join(ROOT, GATEWAY.main)], {
    ...LOCAL_DEFAULTS,
    ...process.env,
    ...env,
    GATEWAY_PORT: String(PLAIN.port),
    METRICS_PORT: String(PLAIN.metricsPort),
    ENTITY_CACHE_ENABLED: 'false',
    GATEWAY_DEDUPE: 'false',
  });
  const apollo = spawnNode(
    'apollo-gateway',
    [path.join(__dirname, 'servers', 'apollo-gateway.js')],
    {
      ...process.env,
      PORT: String(apolloPort),
      SUPERGRAPH_PATH,
    },
  );
  const hiveBin = path.join(path.dirname(require.resolve('@graphql-hive/gateway')), 'bin.js');
  const hive = spawnNode(
    'hive-gateway',
    [
      hiveBin,
      'supergraph',
      SUPERGRAPH_PATH,
      '--host',
      '127.0.0.1',
      '--port',
      String(hivePort),
      '--config-path',
      path.join(__dirname, 'servers', 'hive-gateway.config.js'),
    ],
    process.env,
  );
  const answers = (url: string) => async () =>
    (
      await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"query":"{ __typename }"}',
        signal: AbortSignal.timeout(2_000),
      })
    ).ok;
  const urls: Record<Target, string> = {
    'ours-cached': OURS_URL,
    'ours-uncached': `http://127.0.0.1:${UNCACHED.port}/graphql`,
    'ours-plain': `http://127.0.0.1:${PLAIN.port}/graphql`,
    apollo: `http://127.0.0.1:${apolloPort}/graphql`,
    hive: `http://127.0.0.1:${hivePort}/graphql`,
  };
  const pids: Record<Target, number | undefined> = {
    'ours-cached': byName.get(GATEWAY.name),
    'ours-uncached': uncached.pid,
    'ours-plain': plain.pid,
    apollo: apollo.pid,
    hive: hive.pid,
  };
  await Promise.all([
    waitReady(
      'gateway-uncached',
      uncached,
      async () => (await fetch(`http://127.0.0.1:${UNCACHED.metricsPort}/healthz`)).ok,
    ),
    waitReady(
      'gateway-plain',
      plain,
      async () => (await fetch(`http://127.0.0.1:${PLAIN.metricsPort}/healthz`)).ok,
    ),
    waitReady('apollo-gateway', apollo, answers(urls.apollo)),
    waitReady('hive-gateway', hive, answers(urls.hive)),
  ]);

  const products = await catalog();
  const productIds = products.map((p) => p.id);
  const issuer = platform.endpoints.oidcIssuerUrl;
  const alice = () => passwordToken(issuer, 'alice@shop.local', 'alice-password');
  const ordersTotal = await ensureOrders(await alice(), products, config.customerOrders);
  const context =
    `${new Date().toISOString().slice(0, 10)}, ${readdirSync('/sys/devices/system/cpu').filter((d) => /^cpu\d+$/.test(d)).length} CPUs, ` +
    `${productIds.length} products, alice has ${ordersTotal} orders; ${config.connections} connections, ` +
    `${config.seconds} s per run after ${config.warmupSeconds} s warm-up; one run.`;
  progress(context);

  const readPath = (target: Target): ReadPath => [
    { name: 'gateway', pid: pids[target] },
    ...SUBGRAPHS.map((s) => ({ name: `${s}-subgraph`, pid: byName.get(`${s}-subgraph`) })),
    ...SERVICES.map((s) => ({ name: `${s}-service`, pid: byName.get(`${s}-service`) })),
    { name: 'store (mongo-java-server)', pid: storePid },
  ];
  const baseSpec = {
    connections: config.connections,
    warmupSeconds: config.warmupSeconds,
    productIds,
    ordersTotal,
    verifyEvery: config.verifyEvery,
  };
  const runs: Measured[] = [];
  for (const operation of config.operations) {
    for (const shape of config.shapes) {
      for (const target of config.targets) {
        // Tokens live 5 minutes: a fresh one for each run.
        const authorization = operation === 'orders' ? `Bearer ${await alice()}` : undefined;
        const loader = startLoader({
          ...baseSpec,
          url: urls[target],
          operation,
          shape,
          seconds: config.seconds,
          ...(authorization === undefined ? {} : { authorization }),
        });
        await withTimeout(loader.ready, (config.warmupSeconds + 60) * 1000, 'loader warm-up');
        const metrics =
          target === 'ours-cached'
            ? OURS_METRICS
            : target === 'ours-uncached'
              ? `http://127.0.0.1:${UNCACHED.metricsPort}/metrics`
              : target === 'ours-plain'
                ? `http://127.0.0.1:${PLAIN.metricsPort}/metrics`
                : undefined;
        const counters0 = metrics ? await scrapeCounters(metrics) : undefined;
        const path0 = operation === 'storefront' ? snapshot(readPath(target)) : undefined;
        loader.child.send('go');
        const load = await withTimeout(loader.result, (config.seconds + 60) * 1000, 'load run');
        const path1 = operation === 'storefront' ? snapshot(readPath(target)) : undefined;
        const counters1 = metrics ? await scrapeCounters(metrics) : undefined;
        const run: Measured = { target, operation, shape, load };
        if (path0 && path1) {
          run.cpu = new Map(
            [...path1].map(([name, t1]) => {
              const t0 = path0.get(name);
              return [name, t0 === undefined || t1 === undefined ? undefined : t1 - t0];
            }),
          );
        }
        if (counters0 && counters1) run.counters = delta(counters0, counters1);
        runs.push(run);
        console.log(
          `${TARGET_LABEL[target].padEnd(22)} ${operation.padEnd(10)} ${shape.padEnd(9)} ` +
            `${fmt(load.reqPerS).padStart(8)} req/s  p50 ${fmt(load.p50, 0).padStart(5)} ms  p99 ${fmt(load.p99, 0).padStart(5)} ms  ` +
            `requests ${load.requests}  errors ${load.errors}  non-2xx ${load.non2xx}  bad ${load.badAnswers}/${load.parsed} parsed` +
            `  identical in flight ${fmt(load.twinsPct, 0)} %` +
            (run.counters?.hits !== undefined && run.counters.misses !== undefined
              ? `  cache hits ${run.counters.hits}/${run.counters.hits + run.counters.misses}`
              : '') +
            (run.counters?.sharedOperations !== undefined
              ? `  shared queries ${run.counters.sharedOperations}`
              : '') +
            (run.counters?.deduplicated !== undefined
              ? `  shared subgraph fetches ${run.counters.deduplicated}`
              : '') +
            `  loader CPU ${fmt(load.loaderCpuPct, 0)} %`,
        );
        if (load.firstBad) progress(`first bad answer from ${target}: ${load.firstBad}`);
      }
    }
  }

  const fresh: Freshness[] = [];
  if (config.targets.includes('ours-cached') && config.freshnessChanges > 0) {
    const kafka = (await infraStatus({ only: ['kafka'] }))[0];
    const phasePath: ReadPath = [
      ...readPath('ours-cached'),
      { name: 'broker (Kafka)', pid: kafka?.state === 'running' ? kafka.pid : undefined },
    ];
    for (const lanes of config.freshnessLanes) {
      progress(
        `freshness: ${config.freshnessChanges} stock changes by ${lanes} writers under ${config.freshnessRate} req/s on ${OURS_URL}`,
      );
      // Tokens live 5 minutes: a fresh one for each phase.
      const admin = await passwordToken(issuer, 'admin@shop.local', 'admin-password');
      const cpu0 = snapshot(phasePath);
      const t0 = Date.now();
      const phase = await freshness(lanes, env.INVENTORY_GRPC_URL, admin, productIds, baseSpec);
      const seconds = (Date.now() - t0) / 1000;
      const cpu1 = snapshot(phasePath);
      phase.cpuPct = new Map(
        [...cpu1].map(([name, t1]) => {
          const before = cpu0.get(name);
          return [
            name,
            before === undefined || t1 === undefined
              ? undefined
              : (100 * (t1 - before)) / CLK_TCK / seconds,
          ];
        }),
      );
      fresh.push(phase);
    }
  }

  const rss = config.targets.map((t): [Target, number] => [t, rssMiB(pids[t]!)]);
  console.log('');
  console.log(report(runs, fresh, rss, context));
  progress(`done in ${((Date.now() - started) / 60_000).toFixed(1)} min`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress(`${signal}: stopping every process this run started`);
    void shutdown().finally(() => process.exit(130));
  });
}

void main()
  .then(
    () => 0,
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      return 1;
    },
  )
  .then(async (code) => {
    await shutdown();
    process.exit(code);
  });
