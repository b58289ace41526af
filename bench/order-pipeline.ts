/**
 * Order pipeline benchmark: orders offered at steady rates (BENCH_RATES, default 20, 50, 100
 * orders/s, BENCH_SECONDS each) through the whole pipeline — PlaceOrder → outbox relay → Kafka →
 * inventory reservation → Kafka → payment (authorize + capture) → CONFIRMED — and how many
 * reach CONFIRMED per second, the PlaceOrder→CONFIRMED latency (p50/p99), and where the time
 * goes, from timestamps the services record anyway:
 *
 * - `place`: the PlaceOrder RPC as the client saw it (product lookup + one store insert);
 * - `to reserved`: order created → its RESERVATION movement in the inventory ledger (outbox relay,
 *   Kafka, the inventory consumer and the ledger writes);
 * - `to payment`: reservation → the order service starting the authorization (inventory publishes
 *   StockReserved, Kafka, the order consumer);
 * - `payment`: authorize + capture at the provider (stripe-mock over HTTP by default);
 * - `to confirmed`: capture answered → CONFIRMED stored (the final single-document write).
 *
 * Order and inventory services run as separate processes, as they are deployed (BENCH_LAYOUT
 * `processes`, the default; `single` runs both in this process, as the bench did before), on the
 * real store and Kafka, without trace export or log shipping; the order service's process is
 * `order-service-process.ts` (the real app with stripe-mock's canned intents read as approvals).
 * The product service is a stub (one gRPC method) in this process. Each rate gets its own
 * product(s) with ample stock, so every order should confirm. Bounded: each rate offers for BENCH_SECONDS, then waits at most
 * BENCH_DRAIN_S for stragglers and reports those that did not make it.
 * `npm run bench:orders -w @shop/bench`; never part of `npm test`.
 */
import { Metadata, Server, ServerCredentials } from '@grpc/grpc-js';
import { loadInventoryConfig, startInventoryService } from '@shop/inventory-service';
import {
  createDeterministicPaymentProvider,
  createStripePaymentProvider,
  loadOrderConfig,
  startOrderService,
} from '@shop/order-service';
import {
  connectMongo,
  createKafka,
  createGrpcClient,
  unpackPayload,
  identityMetadata,
  parsers,
  readConfig,
} from '@shop/platform';
import { events, inventory, order, orderEvents, product } from '@shop/proto';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync, readdirSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { admin, benchLogger, freePort } from './common';
import { approveCannedIntents, timed, type PaymentTimes } from './order-payments';

const config = readConfig(process.env, (env) => ({
  mongoUrl: env.optional('MONGO_URL', parsers.string, 'mongodb://127.0.0.1:27017/'),
  kafkaBrokers: env.optional('KAFKA_BROKERS', parsers.string, '127.0.0.1:9092'),
  stripeApiBase: env.optional('STRIPE_API_BASE', parsers.string, 'http://127.0.0.1:12111'),
  payment: env.optional('BENCH_PAYMENT', parsers.oneOf('stripe', 'fake'), 'stripe'),
  rates: env.optional('BENCH_RATES', parsers.list, ['20', '50', '100']).map(Number),
  seconds: env.optional('BENCH_SECONDS', parsers.int(1, 120), 20),
  drainSeconds: env.optional('BENCH_DRAIN_S', parsers.int(1, 300), 20),
  products: env.optional('BENCH_PRODUCTS', parsers.int(1, 10_000), 1),
  /** Stock per product as a multiple of the orders it gets; below 1 some orders must be refused. */
  stockRatio: Number(env.optional('BENCH_STOCK_RATIO', parsers.string, '2')),
  logLevel: env.optional('LOG_LEVEL', parsers.oneOf('fatal', 'error', 'warn', 'info'), 'fatal'),
  cpuProfileDir: env.optional('BENCH_CPU_PROF', parsers.string, ''),
  layout: env.optional('BENCH_LAYOUT', parsers.oneOf('processes', 'single'), 'processes'),
}));

const logger = benchLogger(config.logLevel);
const customer = (n: number) =>
  identityMetadata({ kind: 'user', subject: `bench-c-${n}`, roles: [] }, new Metadata());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const quantile = (sorted: readonly number[], q: number): number =>
  sorted.length === 0
    ? NaN
    : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
const stats = (values: number[]) => {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return { p50: quantile(s, 0.5), p99: quantile(s, 0.99), n: s.length };
};
const ms = (v: number) => (Number.isFinite(v) ? `${Math.round(v)} ms` : 'n/a');

/** The two services under test, wherever they run. */
interface Services {
  inventoryGrpc: number;
  inventoryMetrics: number;
  orderGrpc: number;
  orderMetrics: number;
  /** When each order's authorization started and its capture ended, so far. */
  paymentTimes(): Map<string, PaymentTimes>;
  /** CPU seconds each process used so far (user + system). */
  cpu(): Record<string, number>;
  stop(): Promise<void>;
}

const INVENTORY_MAIN = path.resolve(__dirname, '../../grpc-services/inventory/dist/src/main.js');
const ORDER_MAIN = path.resolve(__dirname, 'order-service-process.js');

/** Starts a service's process and waits for its /healthz; its output goes to `log`. */
async function spawnService(
  main: string,
  env: Record<string, string>,
  metricsPort: number,
  log: string,
): Promise<ChildProcess> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  // As deployed, minus trace export and log shipping (as bench:read measures every process).
  delete childEnv['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'];
  delete childEnv['LOG_STORE_URL'];
  // BENCH_CPU_PROF=<dir>: each service writes a V8 CPU profile there when it stops.
  const profile = config.cpuProfileDir
    ? ['--cpu-prof', `--cpu-prof-dir=${config.cpuProfileDir}`]
    : [];
  const child = spawn(process.execPath, [...profile, main], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = createWriteStream(log, { flags: 'a' });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
    if (exited !== undefined) throw new Error(`${main} exited with ${exited}; see ${log}`);
    const ok = await fetch(`http://127.0.0.1:${metricsPort}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return child;
    await sleep(250);
  }
  child.kill('SIGTERM');
  throw new Error(`${main} not healthy after 60 s; see ${log}`);
}

/** User + system CPU seconds of a process so far (Linux /proc; clock ticks of 10 ms). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** The broker's and the store's processes (java), found by their command lines (and port). */
function dependencyPids(): Record<string, number> {
  const found: Record<string, number> = {};
  const storePort = new URL(config.mongoUrl).port || '27017';
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (!cmdline.includes('java')) continue;
    if (cmdline.includes('kafka.Kafka')) found['kafka'] ??= Number(entry);
    else if (/mongo|ferret/i.test(cmdline) && cmdline.includes(storePort)) {
      found['store'] ??= Number(entry);
    }
  }
  return found;
}

const ownCpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

const stopChild = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });

async function startServices(
  common: Record<string, string>,
  productPort: number,
  suffix: string,
): Promise<Services> {
  const inventoryEnv = {
    ...common,
    MONGO_DATABASE: `bench_orders_${suffix}_inventory`,
    INVENTORY_CONSUMER_GROUP: `bench-inventory-${suffix}`,
  };
  const orderEnv = {
    ...common,
    MONGO_DATABASE: `bench_orders_${suffix}_order`,
    ORDER_CONSUMER_GROUP: `bench-order-${suffix}`,
    PRODUCT_GRPC_URL: `127.0.0.1:${productPort}`,
    PAYMENT_PROVIDER: config.payment,
    STRIPE_API_BASE: config.stripeApiBase,
  };
  if (config.layout === 'single') {
    const times = new Map<string, PaymentTimes>();
    const inner =
      config.payment === 'fake'
        ? createDeterministicPaymentProvider()
        : approveCannedIntents(
            createStripePaymentProvider({
              apiKey: 'sk_test_123',
              apiBase: config.stripeApiBase,
              timeoutMs: 10_000,
            }),
          );
    const inv = await startInventoryService(loadInventoryConfig(inventoryEnv), { logger });
    const ord = await startOrderService(loadOrderConfig(orderEnv), {
      logger,
      payments: timed(inner, (id, t) => times.set(id, t)),
    }).catch(async (err: unknown) => {
      await inv.stop();
      throw err;
    });
    return {
      inventoryGrpc: inv.grpcPort,
      inventoryMetrics: inv.metricsPort,
      orderGrpc: ord.grpcPort,
      orderMetrics: ord.metricsPort,
      paymentTimes: () => times,
      cpu: () => ({ 'bench (order, inventory, load, stub)': ownCpu() }),
      async stop() {
        await ord.stop().catch(() => undefined);
        await inv.stop().catch(() => undefined);
      },
    };
  }

  if (!existsSync(INVENTORY_MAIN)) throw new Error(`${INVENTORY_MAIN} is not built`);
  const [invGrpc, invMetrics, ordGrpc, ordMetrics] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const timesFile = path.join(tmpdir(), `bench-order-payments-${suffix}.txt`);
  const dependencies = dependencyPids();
  const inv = await spawnService(
    INVENTORY_MAIN,
    { ...inventoryEnv, GRPC_PORT: String(invGrpc), METRICS_PORT: String(invMetrics) },
    invMetrics,
    path.join(tmpdir(), `bench-orders-${suffix}-inventory.log`),
  );
  let ord: ChildProcess;
  try {
    ord = await spawnService(
      ORDER_MAIN,
      {
        ...orderEnv,
        GRPC_PORT: String(ordGrpc),
        METRICS_PORT: String(ordMetrics),
        BENCH_PAYMENT_TIMES: timesFile,
      },
      ordMetrics,
      path.join(tmpdir(), `bench-orders-${suffix}-order.log`),
    );
  } catch (err) {
    await stopChild(inv);
    throw err;
  }
  return {
    inventoryGrpc: invGrpc,
    inventoryMetrics: invMetrics,
    orderGrpc: ordGrpc,
    orderMetrics: ordMetrics,
    paymentTimes() {
      const times = new Map<string, PaymentTimes>();
      if (!existsSync(timesFile)) return times;
      for (const line of readFileSync(timesFile, 'utf8').split('\n')) {
        const [id, authorizeStart, captureEnd] = line.split(' ');
        if (id && captureEnd) {
          times.set(id, { authorizeStart: Number(authorizeStart), captureEnd: Number(captureEnd) });
        }
      }
      return times;
    },
    cpu: () => ({
      order: cpuSeconds(ord.pid),
      inventory: cpuSeconds(inv.pid),
      'bench (load, stub)': ownCpu(),
      ...Object.fromEntries(
        Object.entries(dependencies).map(([name, pid]) => [name, cpuSeconds(pid)]),
      ),
    }),
    async stop() {
      await stopChild(ord);
      await stopChild(inv);
    },
  };
}

async function main(): Promise<void> {
  const suffix = randomUUID().slice(0, 8);
  const catalog = new Map<string, product.Product>();
  const productServer = new Server();
  productServer.addService(product.ProductServiceService, {
    batchGetProducts: (
      call: { request: product.BatchGetProductsRequest },
      cb: (e: null, r: product.BatchGetProductsResponse) => void,
    ) =>
      cb(null, {
        products: call.request.ids.filter((i) => catalog.has(i)).map((i) => catalog.get(i)!),
        notFoundIds: call.request.ids.filter((i) => !catalog.has(i)),
      }),
  });
  const productPort = await new Promise<number>((resolve, reject) =>
    productServer.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );

  const common = {
    AUTH_TRUST_IDENTITY_METADATA: 'true',
    MONGO_URL: config.mongoUrl,
    KAFKA_BROKERS: config.kafkaBrokers,
    GRPC_PORT: '0',
    METRICS_PORT: '0',
    LOG_LEVEL: config.logLevel,
    ORDER_EVENTS_TOPIC: `bench-order-events-${suffix}`,
    INVENTORY_UPDATES_TOPIC: `bench-inventory-updates-${suffix}`,
  };
  const services = await startServices(common, productPort, suffix);
  try {
    const stock = createGrpcClient(
      'shop.inventory.v1.InventoryService',
      inventory.InventoryServiceService,
      `127.0.0.1:${services.inventoryGrpc}`,
      { deadlineMs: 30_000 },
    );
    const orders = createGrpcClient(
      'shop.order.v1.OrderService',
      order.OrderServiceService,
      `127.0.0.1:${services.orderGrpc}`,
      { deadlineMs: 30_000 },
    );

    // What the notification service would see: when each OrderConfirmed reaches a consumer.
    const notifiedAt = new Map<string, number>();
    const kafka = createKafka({
      brokers: config.kafkaBrokers.split(','),
      clientId: 'bench-notified',
      logger,
    });
    const watcher = kafka.consumer({ groupId: `bench-notified-${suffix}` });
    await watcher.connect();
    await watcher.subscribe({ topic: common.ORDER_EVENTS_TOPIC, fromBeginning: true });
    await watcher.run({
      eachMessage: async ({ message }) => {
        if (!message.value) return;
        const envelope = events.EventEnvelope.decode(message.value);
        if (envelope.eventType !== orderEvents.OrderConfirmed.$type) return;
        const confirmed = unpackPayload(envelope, orderEvents.OrderConfirmed);
        if (!notifiedAt.has(confirmed.orderId)) notifiedAt.set(confirmed.orderId, Date.now());
        return Promise.resolve();
      },
    });

    console.log(
      `order pipeline bench: rates ${config.rates.join(', ')} orders/s, ${config.seconds} s each, ` +
        `${config.products} product(s) per rate, stock ${config.stockRatio}× the orders, ` +
        `payment ${config.payment}, services ${config.layout === 'processes' ? 'in their own processes' : 'in the bench process'}, ` +
        `store ${config.mongoUrl}, kafka ${config.kafkaBrokers}`,
    );
    const rows: string[] = [];
    const checks: string[] = [];
    const metricRows: string[] = [];
    const cpuRows: string[] = [];
    let n = 0;
    const scrape = async (port: number): Promise<Map<string, number>> => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const out = new Map<string, number>();
      for (const line of text.split('\n')) {
        const m =
          /^(order_pipeline_stage_seconds|inventory_reservation_delay_seconds)_(sum|count)(\{[^}]*\})? (\S+)$/.exec(
            line,
          );
        if (m) out.set(`${m[1]}${m[3] ?? ''} ${m[2]}`, Number(m[4]));
      }
      return out;
    };
    const scrapeAll = async () =>
      new Map([
        ...(await scrape(services.orderMetrics)),
        ...(await scrape(services.inventoryMetrics)),
      ]);
    for (const rate of config.rates) {
      const total = Math.round(rate * config.seconds);
      const items = Array.from({ length: config.products }, (_, i) =>
        product.Product.fromPartial({
          id: `bench-p-${rate}-${i}-${suffix}`,
          sku: `B-${rate}-${i}`,
          name: 'Bench item',
          price: { amount: 1_000, currency: 'EUR' },
        }),
      );
      const initial = Math.ceil((total / config.products) * config.stockRatio);
      for (const item of items) {
        catalog.set(item.id, item);
        await stock.setInitialStock({ productId: item.id, onHand: initial }, { metadata: admin() });
      }
      const metricsBefore = await scrapeAll();
      const cpuBefore = services.cpu();
      const wallBefore = Date.now();

      // Open loop: order i is sent at t0 + i/rate whatever happened to the previous ones.
      const sent = new Map<string, { sentAt: number; placedAt: number; productId: string }>();
      let failed = 0;
      const t0 = Date.now() + 200;
      const calls: Promise<void>[] = [];
      for (let i = 0; i < total; i += 1) {
        const due = t0 + (i * 1000) / rate;
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait);
        const k = (n += 1);
        const item = items[i % items.length];
        const sentAt = Date.now();
        calls.push(
          orders
            .placeOrder(
              order.PlaceOrderRequest.fromPartial({
                lines: [{ productId: item.id, quantity: 1 }],
                shippingAddress: {
                  recipientName: 'Bench',
                  line1: 'Street 1',
                  city: 'Berlin',
                  postalCode: '10115',
                  countryCode: 'DE',
                },
                paymentMethodToken: 'pm_card_visa',
                idempotencyKey: `bench-${suffix}-${k}`,
              }),
              { metadata: customer(k) },
            )
            .then(
              (res) =>
                void sent.set(res.order!.id, { sentAt, placedAt: Date.now(), productId: item.id }),
              () => void (failed += 1),
            ),
        );
      }
      const offeredFor = (Date.now() - t0) / 1000;
      await Promise.all(calls);

      // Wait (bounded) until every placed order left PENDING and its confirmation was seen.
      const drainDeadline = Date.now() + config.drainSeconds * 1000;
      const fetchAll = async (): Promise<order.Order[]> => {
        const out: order.Order[] = [];
        const ids = [...sent.keys()];
        for (let i = 0; i < ids.length; i += 100) {
          const res = await orders.batchGetOrders(
            order.BatchGetOrdersRequest.fromPartial({ ids: ids.slice(i, i + 100) }),
            { metadata: admin() },
          );
          out.push(...res.orders);
        }
        return out;
      };
      let final = await fetchAll();
      const unsettled = (list: order.Order[]) =>
        list.some(
          (o) =>
            o.status === order.OrderStatus.ORDER_STATUS_PENDING ||
            (o.status === order.OrderStatus.ORDER_STATUS_CONFIRMED && !notifiedAt.has(o.id)),
        );
      while (unsettled(final) && Date.now() < drainDeadline) {
        await sleep(500);
        final = await fetchAll();
      }
      // Commits follow CONFIRMED asynchronously: check the ledgers once they stopped moving.
      const versions = async () =>
        (
          await Promise.all(
            items.map((i) => stock.getStock({ productId: i.id }, { metadata: admin() })),
          )
        )
          .map((r) => r.stock?.version ?? 0)
          .join();
      for (let last = '', quiet = Date.now() + 10_000; Date.now() < quiet;) {
        const now = await versions();
        if (now === last) break;
        last = now;
        await sleep(1_000);
      }
      // Every order of this rate the store holds, including those whose PlaceOrder the bench
      // gave up on (deadline) but the service placed: the checks cover them too.
      const ofRate = new Set(items.map((i) => i.id));
      const stored: order.Order[] = [];
      for (let pageToken = ''; ;) {
        const res = await orders.listOrders(
          order.ListOrdersRequest.fromPartial({ page: { pageSize: 100, pageToken } }),
          { metadata: admin() },
        );
        stored.push(...res.orders.filter((o) => ofRate.has(o.lines[0]?.productId ?? '')));
        pageToken = res.page?.nextPageToken ?? '';
        if (!pageToken) break;
      }
      const unheard = stored.filter((o) => !sent.has(o.id)).length;
      const lost = [...sent.keys()].filter((id) => !stored.some((o) => o.id === id)).length;
      final = stored;
      const metricsAfter = await scrapeAll();
      const cpuAfter = services.cpu();
      const wall = (Date.now() - wallBefore) / 1000;
      cpuRows.push(
        `| ${rate}/s × ${config.products} | ${wall.toFixed(0)} s | ` +
          Object.entries(cpuAfter)
            .map(([name, after]) => `${name} ${(after - (cpuBefore[name] ?? 0)).toFixed(1)} s`)
            .join(', ') +
          ` | ${loadavg()
            .map((l) => l.toFixed(1))
            .join(' ')} |`,
      );
      const times = services.paymentTimes();

      // The ledger of every product, oldest first, checked link by link.
      const reservedAt = new Map<string, number>();
      let ledgerBroken = 0;
      let oversold = 0;
      let negative = 0;
      const sold = new Map<string, number>();
      for (const item of items) {
        const all: inventory.Movement[] = [];
        let pageToken = '';
        do {
          const res = await stock.listMovements(
            inventory.ListMovementsRequest.fromPartial({
              productId: item.id,
              page: { pageSize: 500, pageToken },
            }),
            { metadata: admin() },
          );
          all.push(...res.movements);
          pageToken = res.page?.nextPageToken ?? '';
        } while (pageToken);
        all.reverse();
        const level = await stock.getStock({ productId: item.id }, { metadata: admin() });
        let onHand = 0;
        let reservedUnits = 0;
        let units = 0;
        all.forEach((m) => {
          if (m.kind === inventory.MovementKind.MOVEMENT_KIND_RESERVATION && m.at) {
            reservedAt.set(m.orderId, m.at.getTime());
          }
          if (m.kind === inventory.MovementKind.MOVEMENT_KIND_COMMIT) units -= m.deltaOnHand;
          // Each movement starts from the levels the one before it left.
          if (m.before && (m.before.onHand !== onHand || m.before.reserved !== reservedUnits)) {
            ledgerBroken += 1;
          }
          onHand += m.deltaOnHand;
          reservedUnits += m.deltaReserved;
          if (onHand < 0 || reservedUnits < 0 || onHand - reservedUnits < 0) negative += 1;
          if (m.after && (m.after.onHand !== onHand || m.after.reserved !== reservedUnits)) {
            ledgerBroken += 1;
          }
        });
        const s = level.stock;
        if (!s || s.onHand !== onHand || s.reserved !== reservedUnits || s.version !== all.length) {
          ledgerBroken += 1;
        }
        sold.set(item.id, units);
        if (units > initial) oversold += units - initial;
      }
      const confirmedUnits = new Map<string, number>();
      for (const o of final) {
        if (o.status !== order.OrderStatus.ORDER_STATUS_CONFIRMED) continue;
        const pid = o.lines[0]?.productId ?? '';
        confirmedUnits.set(pid, (confirmedUnits.get(pid) ?? 0) + 1);
      }
      const soldMismatch = items.filter(
        (i) => (sold.get(i.id) ?? 0) !== (confirmedUnits.get(i.id) ?? 0),
      ).length;

      const isFinal = (st: order.OrderStatus) =>
        st === order.OrderStatus.ORDER_STATUS_CONFIRMED ||
        st === order.OrderStatus.ORDER_STATUS_CANCELLED;
      let notExactlyOneFinal = lost;
      for (const o of final) {
        const finals = o.statusHistory.filter((h) => isFinal(h.status));
        if (!isFinal(o.status) || finals.length !== 1 || finals[0].status !== o.status) {
          notExactlyOneFinal += 1;
        }
      }

      const confirmed = final.filter((o) => o.status === order.OrderStatus.ORDER_STATUS_CONFIRMED);
      const pending = final.filter((o) => o.status === order.OrderStatus.ORDER_STATUS_PENDING);
      const cancelled = final.length - confirmed.length - pending.length;
      const reasons = new Map<string, number>();
      for (const o of final) {
        if (o.status !== order.OrderStatus.ORDER_STATUS_CANCELLED) continue;
        const reason =
          order.CancellationReason[o.cancellationReason] ?? String(o.cancellationReason);
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      }
      const parts = {
        e2e: [] as number[],
        place: [] as number[],
        toReserved: [] as number[],
        toPaid: [] as number[],
        toConfirmed: [] as number[],
        toNotified: [] as number[],
      };
      const confirmedTimes: number[] = [];
      for (const o of confirmed) {
        const s = sent.get(o.id);
        if (!s) continue;
        const confirmedAt = o.statusHistory
          .find((h) => h.status === order.OrderStatus.ORDER_STATUS_CONFIRMED)
          ?.at?.getTime();
        const created = o.createdAt?.getTime() ?? NaN;
        const reserved = reservedAt.get(o.id) ?? NaN;
        const paid = times.get(o.id)?.captureEnd ?? NaN;
        if (confirmedAt === undefined) continue;
        confirmedTimes.push(confirmedAt);
        parts.e2e.push(confirmedAt - s.sentAt);
        parts.place.push(s.placedAt - s.sentAt);
        parts.toReserved.push(reserved - created);
        parts.toPaid.push(paid - reserved);
        parts.toConfirmed.push(confirmedAt - paid);
        parts.toNotified.push((notifiedAt.get(o.id) ?? NaN) - confirmedAt);
      }
      confirmedTimes.sort((a, b) => a - b);
      // Sustained throughput: confirmations per second over the offering window (from the first
      // send to the last send), and the whole batch including its tail.
      const inWindow = confirmedTimes.filter((t) => t <= t0 + offeredFor * 1000).length;
      const lastConfirmed = confirmedTimes[confirmedTimes.length - 1] ?? t0;
      const e2e = stats(parts.e2e);
      const row = [
        `${rate}/s × ${config.products}`,
        `${total} offered (${(total / offeredFor).toFixed(1)}/s), ${failed} PlaceOrder failed`,
        `${confirmed.length} CONFIRMED, ${cancelled} CANCELLED` +
          (reasons.size
            ? ` (${[...reasons].map(([r, c]) => `${c} ${r.replace('CANCELLATION_REASON_', '')}`).join(', ')})`
            : '') +
          `, ${pending.length} still PENDING`,
        `${(inWindow / offeredFor).toFixed(1)}/s confirmed during the window, ` +
          `${(confirmed.length / ((lastConfirmed - t0) / 1000)).toFixed(1)}/s to the last`,
        `${ms(e2e.p50)} / ${ms(e2e.p99)}`,
        ...(['place', 'toReserved', 'toPaid', 'toConfirmed', 'toNotified'] as const).map((k) => {
          const st = stats(parts[k]);
          return `${ms(st.p50)} / ${ms(st.p99)}`;
        }),
      ];
      rows.push(`| ${row.join(' | ')} |`);
      console.log(rows[rows.length - 1]);
      const check = [
        `${rate}/s × ${config.products}`,
        `${oversold} oversold units (${negative} ledger steps below zero)`,
        ledgerBroken === 0 && soldMismatch === 0
          ? 'ledger sums to the stock level; units sold = CONFIRMED orders'
          : `ledger: ${ledgerBroken} broken links or level mismatches, ${soldMismatch} products whose units sold ≠ CONFIRMED`,
        `${notExactlyOneFinal} of ${final.length} orders without exactly one final state` +
          (unheard > 0 ? ` (${unheard} placed although their PlaceOrder call failed)` : ''),
      ];
      checks.push(`| ${check.join(' | ')} |`);
      console.log(checks[checks.length - 1]);
      // Means of the services' own stage histograms over this rate (Prometheus export).
      const means: string[] = [];
      for (const [key, sumAfter] of metricsAfter) {
        if (!key.endsWith(' sum')) continue;
        const name = key.slice(0, -' sum'.length);
        const count =
          (metricsAfter.get(`${name} count`) ?? 0) - (metricsBefore.get(`${name} count`) ?? 0);
        if (count <= 0) continue;
        const mean = (sumAfter - (metricsBefore.get(key) ?? 0)) / count;
        means.push(
          `${name.replace(/^order_pipeline_stage_seconds/, '')} ${ms(mean * 1000)} (n=${count})`,
        );
      }
      metricRows.push(`| ${rate}/s × ${config.products} | ${means.join(', ')} |`);
    }
    await watcher.disconnect();
    console.log(
      '\n| offered | orders | outcome | CONFIRMED per second | PlaceOrder→CONFIRMED p50 / p99 | ' +
        'PlaceOrder RPC | placed→reserved | reserved→paid | paid→CONFIRMED | ' +
        'CONFIRMED→notified |\n|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const row of rows) console.log(row);
    console.log('\n| offered | oversell | ledger | final states |\n|---|---|---|---|');
    for (const row of checks) console.log(row);
    console.log("\n| offered | stage means from the services' Prometheus histograms |\n|---|---|");
    for (const row of metricRows) console.log(row);
    console.log(
      '\n| offered | wall (offer + drain + checks) | CPU per process | load average after |\n|---|---|---|---|',
    );
    for (const row of cpuRows) console.log(row);
    const bad = checks.some(
      (c) => !/\| 0 oversold units \(0 ledger.*ledger sums.*\| 0 of /.test(c),
    );
    if (bad) process.exitCode = 2;
    stock.close();
    orders.close();
  } finally {
    await services.stop();
    for (const db of ['order', 'inventory']) {
      const handle = await connectMongo({
        url: config.mongoUrl,
        database: `bench_orders_${suffix}_${db}`,
        logger,
      });
      await handle.db.dropDatabase().catch(() => undefined);
      await handle.close();
    }
    await new Promise<void>((resolve) => productServer.tryShutdown(() => resolve()));
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
