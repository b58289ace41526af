/**
 * The dashboards and alert rules against the real Prometheus and Alertmanager: the whole stack
 * runs in-process and is scraped by the shared Prometheus (file_sd), a workload touches every
 * path the panels show (orders confirmed, out of stock and declined, cache reads and
 * invalidations, subscriptions, dead letters, a backing service briefly down), then every
 * PromQL expression of k8s/base/observability/grafana/dashboards and infra/prometheus/alerts.yml
 * is evaluated; finally a stopped service's TargetDown alert must reach Alertmanager.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKafka } from '@shop/platform';
import { events } from '@shop/proto';
import { passwordGrantToken, testEnv, uniqueId, waitFor } from '@shop/testing';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { parse } from 'yaml';
import { quietLogger, startStack, type Stack } from './harness';

const ROOT = path.resolve(__dirname, '..', '..');
const DASHBOARDS = path.join(ROOT, 'k8s/base/observability/grafana/dashboards');
const RULES = path.join(ROOT, 'infra/prometheus/alerts.yml');
/** What Grafana would put for the dashboards' variables: every value, a 5-minute rate window. */
const GRAFANA_VARIABLES: ReadonlyArray<[RegExp, string]> = [
  [/\$__rate_interval/g, '5m'],
  [/\$(service|group)\b/g, '.*'],
];

interface Expression {
  /** Where it comes from: `<dashboard> / <panel> [refId]` or `alerts.yml / <alert> (operand)`. */
  source: string;
  expr: string;
}

function dashboardExpressions(): Expression[] {
  return readdirSync(DASHBOARDS)
    .filter((f) => f.endsWith('.json'))
    .flatMap((file) => {
      const dashboard = JSON.parse(readFileSync(path.join(DASHBOARDS, file), 'utf8')) as {
        panels: Array<{ title: string; targets: Array<{ refId: string; expr: string }> }>;
      };
      return dashboard.panels.flatMap((panel) =>
        panel.targets.map((t) => ({
          source: `${file} / ${panel.title} [${t.refId}]`,
          expr: GRAFANA_VARIABLES.reduce((e, [re, value]) => e.replace(re, value), t.expr),
        })),
      );
    });
}

/** Splits at depth 0 (outside (), {}, [] and strings) wherever `separator` matches. */
function splitTopLevel(expr: string, separator: RegExp): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i];
    if (quote !== undefined) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if ('({['.includes(c)) depth++;
    else if (')}]'.includes(c)) depth--;
    else if (depth === 0) {
      const match = separator.exec(expr.slice(i));
      if (match?.index === 0 && (i === 0 || /[\s)]/.test(expr[i - 1]) || !/\w/.test(match[0]))) {
        parts.push(expr.slice(start, i));
        i += match[0].length - 1;
        start = i + 1;
      }
    }
  }
  parts.push(expr.slice(start));
  return parts.map((p) => p.trim());
}

/** Drops parentheses that enclose the whole expression: "(a > 1)" but not "(a) / (b)". */
function unwrap(expr: string): string {
  const e = expr.trim();
  if (!e.startsWith('(')) return e;
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < e.length; i++) {
    const c = e[i];
    if (quote !== undefined) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i === e.length - 1 ? unwrap(e.slice(1, -1)) : e;
  }
  return e;
}

/**
 * The parts of a rule expression that select data: split at `and`/`or`/`unless`, then at the
 * comparison with its threshold. A healthy system makes the whole alert expression empty, so
 * these operands are what must return series.
 */
function dataOperands(expr: string): string[] {
  const sets = splitTopLevel(unwrap(expr), /^(and|or|unless)\b/);
  if (sets.length > 1) return sets.flatMap(dataOperands);
  const sides = splitTopLevel(unwrap(expr), /^(==|!=|>=|<=|>(?!=)|<(?!=))(\s*bool\b)?/);
  if (sides.length > 1) return sides.flatMap(dataOperands);
  // A bare number or arithmetic on numbers (a threshold) selects nothing.
  return /[a-z_]/i.test(expr) ? [unwrap(expr)] : [];
}

function ruleExpressions(): Expression[] {
  const rules = parse(readFileSync(RULES, 'utf8')) as {
    groups: Array<{ rules: Array<{ alert: string; expr: string }> }>;
  };
  return rules.groups.flatMap((g) =>
    g.rules.flatMap((rule) => [
      // The whole expression must parse and evaluate (it may be empty: nothing is firing).
      { source: `alerts.yml / ${rule.alert} (whole, may be empty)`, expr: rule.expr.trim() },
      ...dataOperands(rule.expr).map((operand) => ({
        source: `alerts.yml / ${rule.alert} (operand)`,
        expr: operand,
      })),
    ]),
  );
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset']);
/** Aggregations may be followed by `by (...)` rather than their argument. */
const AGGREGATIONS = new Set(
  'sum min max avg group stddev stdvar count count_values bottomk topk quantile'.split(' '),
);
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

/** The index just past the bracket closing the one at `open`, skipping strings. */
function closing(expr: string, open: number, close: string): number {
  let quote: string | undefined;
  for (let i = open + 1; i < expr.length; i++) {
    const c = expr[i];
    if (quote !== undefined) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === close) return i + 1;
  }
  throw new Error(`unbalanced ${close} in ${expr}`);
}

/**
 * Adds `matcher` to every series selector of an expression, so that it reads only the series of
 * this run's processes (earlier runs' series may still be inside a 6 h window).
 */
function scoped(expr: string, matcher: string): string {
  let out = '';
  let i = 0;
  while (i < expr.length) {
    const c = expr[i];
    if (c === '"' || c === "'" || c === '[') {
      const end = c === '[' ? closing(expr, i, ']') : closing(expr, i, c);
      out += expr.slice(i, end);
      i = end;
      continue;
    }
    const ident = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(expr.slice(i));
    if (ident === null || (i > 0 && /[\w.]/.test(expr[i - 1]))) {
      out += c;
      i++;
      continue;
    }
    const name = ident[0];
    let next = i + name.length;
    while (expr[next] === ' ') next++;
    if (GROUPING.has(name) && expr[next] === '(') {
      const end = closing(expr, next, ')');
      out += expr.slice(i, end);
      i = end;
    } else if (KEYWORDS.has(name) || AGGREGATIONS.has(name) || expr[next] === '(') {
      out += name;
      i += name.length;
    } else if (expr[next] === '{') {
      const end = closing(expr, next, '}');
      out += `${name}{${matcher}, ${expr.slice(next + 1, end)}`;
      i = end;
    } else {
      out += `${name}{${matcher}}`;
      i += name.length;
    }
  }
  return out;
}

interface QueryResult {
  status: string;
  error?: string;
  data?: { result: unknown[] };
}

async function evaluate(prometheusUrl: string, expr: string): Promise<QueryResult> {
  const res = await fetch(`${prometheusUrl}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query: expr }),
  });
  return (await res.json()) as QueryResult;
}

/**
 * `source: reason` for every expression that is invalid, or that returns no series of this run
 * when it must.
 */
async function failures(prometheusUrl: string, all: readonly Expression[]): Promise<string[]> {
  const out: string[] = [];
  for (const { source, expr } of all) {
    const result = await evaluate(prometheusUrl, expr);
    if (result.status !== 'success') {
      out.push(`${source}: invalid (${result.error}): ${expr}`);
      continue;
    }
    if (source.endsWith('(whole, may be empty)')) continue;
    const own = await evaluate(prometheusUrl, scoped(expr, `obs_run="${run}"`));
    if (own.status !== 'success' || own.data?.result.length === 0)
      out.push(`${source}: empty: ${expr}`);
  }
  return out;
}

const env = testEnv();
const run = uniqueId('obs').replace(/-/g, '_');
const targetsFile = path.join(env.prometheusTargetsDir, `${run}.json`);
let stack: Stack;
const clients: Client[] = [];

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
/** Real tokens from the realm: a refused connection_init needs the gateway to verify them. */
let admin: Record<string, string>;
let alice: Record<string, string>;

beforeAll(async () => {
  stack = await startStack('obs', { orders: true, subscriptions: true, cache: true, tokens: true });
  admin = bearer(await passwordGrantToken(env.oidcIssuerUrl, 'admin@shop.local', 'admin-password'));
  alice = bearer(await passwordGrantToken(env.oidcIssuerUrl, 'alice@shop.local', 'alice-password'));
}, 180_000);
afterAll(async () => {
  rmSync(targetsFile, { force: true });
  for (const c of clients) await c.dispose();
  await stack?.stop();
});

async function ok<T>(
  query: string,
  variables: Record<string, unknown>,
  headers: Record<string, string> = admin,
): Promise<T> {
  const res = await stack.query<T>(query, variables, headers);
  if (res.errors) throw new Error(`${query}: ${JSON.stringify(res.errors)}`);
  return res.data as T;
}

/** Announces every process of the stack to Prometheus, labelled with this run. */
function registerTargets(): void {
  const processes: Record<string, number> = {
    ...Object.fromEntries(
      Object.entries(stack.serviceMetrics).map(([name, port]) => [`${name}-service`, port]),
    ),
    ...Object.fromEntries(
      Object.entries(stack.subgraphs).map(([name, s]) => [`${name}-subgraph`, s.metricsPort]),
    ),
    gateway: stack.gateway.metricsPort,
  };
  writeFileSync(
    targetsFile,
    JSON.stringify(
      Object.entries(processes).map(([job, port]) => ({
        targets: [`127.0.0.1:${port}`],
        labels: { job, obs_run: run },
      })),
    ),
  );
}

async function placeOrder(
  productId: string,
  quantity: number,
  paymentMethod: string,
  headers: Record<string, string>,
): Promise<string> {
  const { placeOrder } = await ok<{ placeOrder: { id: string } }>(
    'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }',
    {
      input: {
        items: [{ productId, quantity }],
        shippingAddress: {
          recipientName: 'Ada Lovelace',
          line1: 'Street 1',
          city: 'Berlin',
          postalCode: '10115',
          countryCode: 'DE',
        },
        paymentMethod,
        idempotencyKey: uniqueId('obs-order'),
      },
    },
    headers,
  );
  return placeOrder.id;
}

function connect(connectionParams: Record<string, string>): {
  client: Client;
  closed: Promise<number>;
} {
  let onClosed: (code: number) => void = () => undefined;
  const closed = new Promise<number>((r) => (onClosed = r));
  const client = createClient({
    url: stack.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams,
    retryAttempts: 0,
    on: { closed: (event) => onClosed((event as { code: number }).code) },
  });
  clients.push(client);
  return { client, closed };
}

/** The workload's current step, named in the failure when it does not finish in time. */
let step = 'starting';

/** Drives every path the dashboards show through the real stack. */
async function workload(): Promise<void> {
  step = 'inventory briefly down';
  // A backing service down for a moment: SERVICE_UNAVAILABLE at the gateway, UNAVAILABLE at
  // the inventory subgraph's client (the error panels and the error budget's numerator).
  await stack.stopInventory();
  for (let i = 0; i < 3; i++) {
    const down = await stack.query('{ stock(productId: "obs-probe") { available } }');
    expect(down.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
  }
  await stack.restartInventory();
  registerTargets();

  step = 'catalog writes';
  const { createCategory } = await ok<{ createCategory: { id: string } }>(
    'mutation($input: CreateCategoryInput!) { createCategory(input: $input) { id } }',
    { input: { name: uniqueId('Obs') } },
  );
  const { createProduct } = await ok<{ createProduct: { id: string } }>(
    'mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }',
    {
      input: {
        sku: uniqueId('OBS'),
        name: 'Observed lamp',
        categoryId: createCategory.id,
        price: { amount: 1_500, currency: 'EUR' },
      },
    },
  );
  const productId = createProduct.id;
  // A category that does not exist: the product service's call to the category service fails.
  const orphan = await stack.query(
    'mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }',
    {
      input: {
        sku: uniqueId('OBS'),
        name: 'Orphan',
        categoryId: uniqueId('no-such-category'),
        price: { amount: 100, currency: 'EUR' },
      },
    },
    admin,
  );
  expect(orphan.errors).toBeDefined();
  await ok(
    'mutation($p: ID!, $n: Int!) { setInitialStock(productId: $p, onHand: $n) { available } }',
    { p: productId, n: 50 },
  );

  step = 'subscriptions';
  // Subscriptions: one that receives stock changes, one connection refused at connection_init.
  const { client } = connect({});
  const pushes: unknown[] = [];
  client.subscribe(
    {
      query: 'subscription($p: ID!) { stockChanged(productId: $p) { available } }',
      variables: { p: productId },
    },
    { next: (r) => void pushes.push(r), error: () => undefined, complete: () => undefined },
  );
  const refused = connect({ authorization: 'Bearer not-a-jwt' });
  refused.client.subscribe(
    {
      query: 'subscription($p: ID!) { stockChanged(productId: $p) { available } }',
      variables: { p: productId },
    },
    { next: () => undefined, error: () => undefined, complete: () => undefined },
  );
  // Bounded: a connection the gateway accepted would never close by itself.
  await Promise.race([refused.closed, sleep(15_000)]);
  await waitFor('the first stockChanged push', () => (pushes.length > 0 ? true : undefined), {
    timeoutMs: 30_000,
  });

  step = 'cached reads and invalidation';
  // Cached reads (a miss, then hits), a write that invalidates them, a read of a missing product.
  const read = (): Promise<unknown> =>
    ok('query($id: ID!) { product(id: $id) { name inventory { available } } }', { id: productId });
  for (let i = 0; i < 3; i++) await read();
  await ok(
    'mutation($id: ID!, $input: UpdateProductInput!) { updateProduct(id: $id, input: $input) { id } }',
    {
      id: productId,
      input: { name: 'Observed lamp, renamed' },
    },
  );
  await read();
  await stack.query('query($id: ID!) { product(id: $id) { name } }', { id: uniqueId('missing') });
  // The in-stock filter is never answered from the cache (a bypass by argument).
  await ok('{ products(filter: { inStockOnly: true }, first: 5) { edges { node { id } } } }', {});

  step = 'orders';
  // Orders: confirmed, declined by the payment provider, refused for lack of stock.
  const me = alice;
  const orders = [
    await placeOrder(productId, 1, 'pm_card_visa', me),
    await placeOrder(productId, 1, 'tok_decline', me),
    await placeOrder(productId, 1_000, 'pm_card_visa', me),
  ];
  for (const id of orders) {
    await waitFor(
      `order ${id} to settle`,
      async () => {
        const { order } = await ok<{ order: { status: string } }>(
          'query($id: ID!) { order(id: $id) { status } }',
          { id },
          me,
        );
        return order.status === 'PENDING' ? undefined : order.status;
      },
      { timeoutMs: 60_000 },
    );
  }
  await waitFor('a stock push after the orders', () => (pushes.length > 1 ? true : undefined), {
    timeoutMs: 30_000,
  });

  step = 'dead letters';
  // Dead letters: a record that is no envelope, and an envelope whose payload does not decode.
  const kafka = createKafka({
    brokers: env.kafkaBrokers,
    clientId: 'observability-test',
    logger: quietLogger,
  });
  const producer = kafka.producer();
  await producer.connect();
  const broken = events.EventEnvelope.encode(
    events.EventEnvelope.fromPartial({
      eventId: randomUUID(),
      eventType: 'shop.order.v1.OrderCreated',
      aggregateType: 'order',
      aggregateId: 'obs-poison',
      payload: {
        typeUrl: 'type.googleapis.com/shop.order.v1.OrderCreated',
        value: Buffer.from([0xff, 0xff, 0xff, 0xff]),
      },
    }),
  ).finish();
  await producer.send({
    topic: stack.topics.orderEvents,
    messages: [
      { key: 'obs-poison', value: Buffer.from('not an event envelope') },
      { key: 'obs-poison', value: Buffer.from(broken) },
    ],
  });
  await producer.disconnect();
}

describe('dashboards and alert rules on the real Prometheus', () => {
  it('runs the alert rules of infra/prometheus/alerts.yml and sends to the Alertmanager', async () => {
    const rules = parse(readFileSync(RULES, 'utf8')) as {
      groups: Array<{ rules: Array<{ alert: string }> }>;
    };
    const body = (await (await fetch(`${env.prometheusUrl}/api/v1/rules?type=alert`)).json()) as {
      data: { groups: Array<{ rules: Array<{ name: string }> }> };
    };
    const loaded = body.data.groups.flatMap((g) => g.rules.map((r) => r.name));
    // A Prometheus left running from before a rules change still has the old ones: restart it.
    expect(loaded).toEqual(
      expect.arrayContaining(rules.groups.flatMap((g) => g.rules.map((r) => r.alert))),
    );
    const managers = (await (await fetch(`${env.prometheusUrl}/api/v1/alertmanagers`)).json()) as {
      data: { activeAlertmanagers: Array<{ url: string }> };
    };
    expect(managers.data.activeAlertmanagers.map((a) => new URL(a.url).origin)).toContain(
      new URL(env.alertmanagerUrl).origin,
    );
  });

  it('return series for every panel and every rule operand after a real workload', async () => {
    const abort = new AbortController();
    const stuck = sleep(300_000, 'timeout', { signal: abort.signal }).catch(() => 'aborted');
    const finished = await Promise.race([workload().then(() => 'done'), stuck]);
    abort.abort();
    expect([finished, step]).toEqual(['done', expect.any(String)]);
    const all = [...dashboardExpressions(), ...ruleExpressions()];
    // Scrapes run every 2 s and some series appear only once a consumer has run: retry the
    // whole list for a bounded time, then report what is still invalid or empty.
    let failed: string[] = [];
    for (const deadline = Date.now() + 90_000; ;) {
      failed = await failures(env.prometheusUrl, all);
      if (failed.length === 0 || Date.now() > deadline) break;
      await sleep(3_000);
    }
    process.stdout.write(
      `observability: ${all.length} expressions evaluated (${dashboardExpressions().length} panel queries, ${ruleExpressions().length} rule expressions and operands)\n`,
    );
    expect(failed).toEqual([]);
  }, 480_000);

  it("delivers a stopped service's TargetDown alert to Alertmanager within the rule's window", async () => {
    const rule = (
      parse(readFileSync(RULES, 'utf8')) as {
        groups: Array<{ rules: Array<{ alert: string; for?: string }> }>;
      }
    ).groups
      .flatMap((g) => g.rules)
      .find((r) => r.alert === 'TargetDown');
    expect(rule?.for).toBe('30s');
    await waitFor(
      'Prometheus to scrape the inventory service of this run',
      async () => {
        const up = await evaluate(
          env.prometheusUrl,
          `up{obs_run="${run}", job="inventory-service"} == 1`,
        );
        return (up.data?.result.length ?? 0) > 0 ? true : undefined;
      },
      { timeoutMs: 30_000 },
    );
    await stack.stopInventory();
    // `for: 30s`, plus a scrape (2 s), an evaluation (2 s) and Alertmanager's group_wait (0 s
    // for critical alerts); 90 s leaves room for a loaded machine.
    const alert = await waitFor(
      'TargetDown for the stopped inventory service in Alertmanager',
      async () => {
        const url = new URL('/api/v2/alerts', env.alertmanagerUrl);
        url.searchParams.append('filter', 'alertname="TargetDown"');
        url.searchParams.append('filter', `obs_run="${run}"`);
        const alerts = (await (await fetch(url)).json()) as Array<{
          labels: Record<string, string>;
          status: { state: string };
        }>;
        return alerts.find((a) => a.labels.job === 'inventory-service');
      },
      { timeoutMs: 90_000, intervalMs: 1_000 },
    );
    expect(alert.labels).toMatchObject({ severity: 'critical', job: 'inventory-service' });
    expect(alert.status.state).toBe('active');
  }, 120_000);
});
