/**
 * The load generator of `supergraph-read.ts`, run as its own process (`child_process.fork`) so
 * its CPU is not the gateway's: autocannon against one GraphQL endpoint with one read operation,
 * the same request every time ("identical") or a different one per request ("varied").
 *
 * Protocol over the IPC channel: the parent sends a {@link LoadSpec}; this process warms up, sends
 * `{ ready }`, waits for `go`, runs for `seconds` (or until `stop`), then sends a
 * {@link LoadResult} and exits. Every response is checked for `errors`; every `verifyEvery`-th is
 * parsed and its item count compared with what the request asked for.
 */
import autocannon from 'autocannon';
import http from 'node:http';

/** The read operations of the benchmark. */
export type Operation = 'storefront' | 'product' | 'orders' | 'mixed';
/** Identical: one request body for every request. Varied: chosen per request. */
export type Shape = 'identical' | 'varied';

/** What the parent asks for. */
export interface LoadSpec {
  url: string;
  operation: Operation;
  shape: Shape;
  connections: number;
  /** Measured duration; `mixed` runs until `stop` (or this bound). */
  seconds: number;
  warmupSeconds: number;
  /** Sent as `authorization` (the orders operation needs a customer's token). */
  authorization?: string;
  /** The seeded catalog's product ids (product by id picks among them). */
  productIds: string[];
  /** How many orders the signed-in customer has (the expected count is min(first, this)). */
  ordersTotal: number;
  verifyEvery: number;
  /** Requests per second over all connections; unset means as fast as they can. */
  overallRate?: number;
}

/** What the loader reports after the measured run. */
export interface LoadResult {
  requests: number;
  durationS: number;
  reqPerS: number;
  p50: number;
  p99: number;
  /** Connection errors and timeouts. */
  errors: number;
  non2xx: number;
  /** Responses carrying `errors`, or with the wrong item count among those parsed. */
  badAnswers: number;
  parsed: number;
  firstBad?: string;
  /** % of requests sent while an identical request (same body) was in flight. */
  twinsPct: number;
  /** CPU of this loader process over the measured run, in % of one core. */
  loaderCpuPct: number;
}

/** Messages from the loader to its parent. */
export type LoaderMessage = { ready: true } | { result: LoadResult } | { failed: string };
/** Messages from the parent to the loader. */
export type ParentMessage = { spec: LoadSpec } | 'go' | 'stop';

const STOREFRONT = `query Storefront($first: Int!) {
  products(first: $first) {
    edges { node { id sku name price { amount currency }
      category { id name path ancestors { id name } }
      inventory { available } } }
  }
}`;

const PRODUCT = `query ProductById($id: ID!) {
  product(id: $id) {
    id sku name price { amount currency }
    category { id name path ancestors { id name } }
    inventory { available }
  }
}`;

const MY_ORDERS = `query MyOrders($first: Int!) {
  myOrders(first: $first) {
    edges { node { id status total { amount currency } items { quantity product { id name } } } }
  }
}`;

/** What one request asks for, so its answer can be checked. */
interface Asked {
  operation: Exclude<Operation, 'mixed'>;
  /** Page size, or the product id. */
  first?: number;
  id?: string;
}

interface Counters {
  sent: number;
  /** Requests sent while an identical one was in flight. */
  twins: number;
  /** Bodies in flight, with how many of each. */
  inFlight: Map<string, number>;
  responses: number;
  bad: number;
  parsed: number;
  firstBad?: string;
}

const newCounters = (): Counters => ({
  sent: 0,
  twins: 0,
  inFlight: new Map(),
  responses: 0,
  bad: 0,
  parsed: 0,
});

/** Per-connection state autocannon hands to both hooks (one request in flight per connection). */
interface RequestContext {
  asked?: Asked;
  body?: string;
}

const randomInt = (min: number, max: number): number =>
  min + Math.floor(Math.random() * (max - min + 1));

type Edges = Array<{ node: Record<string, unknown> }>;

/** Checks one parsed answer against what was asked; returns a reason when it is wrong. */
function wrongAnswer(spec: LoadSpec, asked: Asked, body: string): string | undefined {
  const parsed = JSON.parse(body) as { data?: Record<string, unknown> | null; errors?: unknown };
  if (parsed.errors !== undefined) return 'errors';
  const data = parsed.data ?? {};
  switch (asked.operation) {
    case 'storefront': {
      const edges = (data.products as { edges?: Edges } | null)?.edges ?? [];
      const expected = Math.min(asked.first ?? 0, spec.productIds.length);
      if (edges.length !== expected) return `${edges.length} products, expected ${expected}`;
      if (edges.some((e) => !e.node.category || !e.node.inventory))
        return 'product without category or inventory';
      return undefined;
    }
    case 'product': {
      const node = data.product as { id?: string; inventory?: unknown; category?: unknown } | null;
      if (!node || node.id !== asked.id) return `product ${node?.id}, expected ${asked.id}`;
      if (!node.category || !node.inventory) return 'product without category or inventory';
      return undefined;
    }
    case 'orders': {
      const edges = (data.myOrders as { edges?: Edges } | null)?.edges ?? [];
      const expected = Math.min(asked.first ?? 0, spec.ordersTotal);
      if (edges.length !== expected) return `${edges.length} orders, expected ${expected}`;
      const items = edges.flatMap((e) => e.node.items as Array<{ product?: { name?: string } }>);
      if (items.length === 0 || items.some((i) => !i.product?.name))
        return 'order items without product names';
      return undefined;
    }
  }
}

/** Picks one request body (and what it asks for) of an operation and shape. */
function chooser(
  spec: LoadSpec,
  operation: Exclude<Operation, 'mixed'>,
): () => { asked: Asked; body: string } {
  return () => {
    const identical = spec.shape === 'identical';
    switch (operation) {
      case 'storefront': {
        const first = identical ? 20 : randomInt(10, 30);
        return { asked: { operation, first }, body: body(STOREFRONT, { first }) };
      }
      case 'product': {
        const id = identical
          ? spec.productIds[0]
          : spec.productIds[randomInt(0, spec.productIds.length - 1)];
        return { asked: { operation, id }, body: body(PRODUCT, { id }) };
      }
      case 'orders': {
        const first = identical ? 10 : randomInt(5, 15);
        return { asked: { operation, first }, body: body(MY_ORDERS, { first }) };
      }
    }
  };
}

/** Counts one request sent with `body` (and whether an identical one was in flight). */
function sent(counters: Counters, body: string): void {
  const twins = counters.inFlight.get(body) ?? 0;
  counters.sent++;
  if (twins > 0) counters.twins++;
  counters.inFlight.set(body, twins + 1);
}

/** Checks one answer (every `verifyEvery`-th is parsed) and counts it. */
function answered(
  spec: LoadSpec,
  counters: Counters,
  status: number,
  text: string,
  asked: Asked | undefined,
  sentBody: string | undefined,
): void {
  if (sentBody !== undefined) {
    const left = (counters.inFlight.get(sentBody) ?? 1) - 1;
    if (left > 0) counters.inFlight.set(sentBody, left);
    else counters.inFlight.delete(sentBody);
  }
  counters.responses++;
  if (status !== 200) return; // counted as non-2xx
  let reason: string | undefined = text.includes('"errors":') ? 'errors' : undefined;
  if (reason === undefined && asked && (counters.responses - 1) % spec.verifyEvery === 0) {
    counters.parsed++;
    try {
      reason = wrongAnswer(spec, asked, text);
    } catch (err) {
      reason = `unparsable: ${String(err)}`;
    }
  }
  if (reason !== undefined) {
    counters.bad++;
    counters.firstBad ??= `${reason}: ${text.slice(0, 400)}`;
  }
}

/** One autocannon request description for an operation and shape. */
function requestFor(
  spec: LoadSpec,
  operation: Exclude<Operation, 'mixed'>,
  counters: Counters,
): autocannon.Request {
  const choose = chooser(spec, operation);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (spec.authorization !== undefined) headers.authorization = spec.authorization;
  const fixed = spec.shape === 'identical' ? choose() : undefined;
  return {
    method: 'POST',
    path: new URL(spec.url).pathname,
    headers,
    body: fixed?.body ?? '',
    setupRequest: (req: autocannon.Request, context: object) => {
      const chosen = fixed ?? choose();
      const ctx = context as RequestContext;
      ctx.asked = chosen.asked;
      ctx.body = chosen.body;
      sent(counters, chosen.body);
      return { ...req, body: chosen.body };
    },
    onResponse: (status: number, text: string, context: object) => {
      const ctx = context as RequestContext;
      answered(spec, counters, status, text, ctx.asked, ctx.body);
    },
  };
}

const body = (query: string, variables: Record<string, unknown>): string =>
  JSON.stringify({ query, variables });

/** What one measured run gives, whichever generator ran it. */
interface Measured {
  requests: number;
  durationS: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

const operationsOf = (spec: LoadSpec): Array<Exclude<Operation, 'mixed'>> =>
  spec.operation === 'mixed' ? ['storefront', 'product'] : [spec.operation];

/** As many requests as the connections can carry (autocannon, one in flight per connection). */
function flatOut(
  spec: LoadSpec,
  seconds: number,
  counters: Counters,
  onStart?: (stop: () => void) => void,
): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        duration: seconds,
        requests: operationsOf(spec).map((op) => requestFor(spec, op, counters)),
        initialContext: {},
      },
      (err, result) => {
        if (err) return reject(err as Error);
        resolve({
          requests: result.requests.total,
          durationS: result.duration,
          p50: result.latency.p50,
          p99: result.latency.p99,
          errors: result.errors,
          non2xx: result.non2xx,
        });
      },
    );
    onStart?.(() => instance.stop());
  });
}

const percentile = (sorted: readonly number[], p: number): number =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

/**
 * A steady open-loop load: one request every 1/rate s, spread evenly, whatever the answers do
 * (keep-alive connections, at most `connections` in flight, more queue in the agent). Latency is
 * counted from when a request was due, so a stall is not hidden by the requests it held back.
 *
 * autocannon's own rate limit is not used here: each connection sends its whole per-second quota
 * back to back at the start of its one-second tick and then waits, and the connections' ticks
 * line up, so a "200 req/s" run is a burst of 200 requests every second, not a steady load.
 */
function paced(
  spec: LoadSpec,
  rate: number,
  seconds: number,
  counters: Counters,
  onStart?: (stop: () => void) => void,
): Promise<Measured> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections });
  const target = new URL(spec.url);
  const choosers = operationsOf(spec).map((op) => chooser(spec, op));
  const latencies: number[] = [];
  let errors = 0;
  let non2xx = 0;
  let due = 0;
  let outstanding = 0;
  const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (spec.authorization !== undefined) headers.authorization = spec.authorization;

  const fire = (dueAt: number): void => {
    const chosen = choosers[due % choosers.length]();
    sent(counters, chosen.body);
    outstanding++;
    const req = http.request(
      target,
      {
        method: 'POST',
        agent,
        headers: { ...headers, 'content-length': Buffer.byteLength(chosen.body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          outstanding--;
          latencies.push(nowMs() - dueAt);
          const status = res.statusCode ?? 0;
          if (status < 200 || status > 299) non2xx++;
          answered(
            spec,
            counters,
            status,
            Buffer.concat(chunks).toString('utf8'),
            chosen.asked,
            chosen.body,
          );
        });
      },
    );
    req.on('error', () => {
      outstanding--;
      errors++;
    });
    req.end(chosen.body);
  };

  return new Promise((resolve) => {
    const interval = 1000 / rate;
    const t0 = nowMs();
    const until = t0 + seconds * 1000;
    let stopped = false;
    const finish = (): void => {
      const end = nowMs();
      const wait = setInterval(() => {
        // Answers still due are waited for (at most 10 s), so the slowest are counted.
        if (outstanding > 0 && nowMs() - end < 10_000) return;
        clearInterval(wait);
        agent.destroy();
        const sorted = latencies.sort((a, b) => a - b);
        resolve({
          requests: sorted.length,
          durationS: (end - t0) / 1000,
          p50: percentile(sorted, 0.5),
          p99: percentile(sorted, 0.99),
          errors: errors + outstanding,
          non2xx,
        });
      }, 20);
    };
    const tick = (): void => {
      if (stopped) return;
      const now = nowMs();
      if (now >= until) {
        stopped = true;
        finish();
        return;
      }
      // Every request whose time has come; the timer's own lateness does not thin the load.
      while (t0 + due * interval <= now) {
        fire(t0 + due * interval);
        due++;
      }
      setTimeout(tick, Math.max(0, t0 + due * interval - nowMs()));
    };
    onStart?.(() => {
      if (stopped) return;
      stopped = true;
      finish();
    });
    tick();
  });
}

function run(
  spec: LoadSpec,
  seconds: number,
  counters: Counters,
  onStart?: (stop: () => void) => void,
): Promise<Measured> {
  return spec.overallRate === undefined
    ? flatOut(spec, seconds, counters, onStart)
    : paced(spec, spec.overallRate, seconds, counters, onStart);
}

/** Sends a message to the parent; resolves once it is written. */
function send(message: LoaderMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

async function main(spec: LoadSpec): Promise<void> {
  if (spec.warmupSeconds > 0) await run(spec, spec.warmupSeconds, newCounters());
  let stop: (() => void) | undefined;
  let stopRequested = false;
  const go = new Promise<void>((resolve) => {
    process.on('message', (message: ParentMessage) => {
      if (message === 'go') resolve();
      if (message === 'stop') {
        stopRequested = true;
        stop?.();
      }
    });
  });
  await send({ ready: true });
  await go;
  const counters = newCounters();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const result = await run(spec, spec.seconds, counters, (s) => {
    stop = s;
    if (stopRequested) s();
  });
  const elapsedUs = Number(process.hrtime.bigint() - t0) / 1e3;
  const cpu = process.cpuUsage(cpu0);
  await send({
    result: {
      requests: result.requests,
      durationS: result.durationS,
      reqPerS: result.requests / result.durationS,
      p50: result.p50,
      p99: result.p99,
      errors: result.errors,
      non2xx: result.non2xx,
      badAnswers: counters.bad,
      parsed: counters.parsed,
      ...(counters.firstBad === undefined ? {} : { firstBad: counters.firstBad }),
      twinsPct: (100 * counters.twins) / Math.max(1, counters.sent),
      loaderCpuPct: (100 * (cpu.user + cpu.system)) / elapsedUs,
    },
  });
}

process.once('message', (message: ParentMessage) => {
  if (typeof message !== 'object' || !('spec' in message)) return;
  main(message.spec)
    .catch((err: unknown) => send({ failed: err instanceof Error ? err.message : String(err) }))
    .finally(() => process.exit(0));
});
