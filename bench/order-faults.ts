/**
 * Order pipeline fault run: BENCH_FAULT_ORDERS orders (default 1,000) of one hot product are
 * placed at BENCH_FAULT_RATE orders/s while, with them in flight, one of two inventory consumer
 * processes is killed (SIGKILL) and the Kafka broker is stopped abruptly and restarted. Stock
 * covers BENCH_FAULT_STOCK of them (default 70 %), so both outcomes occur. Then it checks what
 * the issue asks for: 0 lost (every placed order reaches exactly one final state), 0 doubled
 * (one reservation per order, one commit per CONFIRMED order, none for the others, units sold =
 * CONFIRMED orders ≤ stock), and a ledger that chains and sums to the stock level.
 *
 * It never touches the shared broker: it starts a throwaway one on free ports (the same helper
 * as the order service's fault tests). The second inventory instance is a child process running
 * the built service (`grpc-services/inventory/dist/src/main.js`); order service and the first
 * inventory instance run in this process on the shared store, payment is the deterministic
 * provider. `npm run bench:faults -w @shop/bench`; slow (a broker start), never in `npm test`.
 */
import { Metadata, Server, ServerCredentials } from '@grpc/grpc-js';
import { loadInventoryConfig, startInventoryService } from '@shop/inventory-service';
import {
  createDeterministicPaymentProvider,
  loadOrderConfig,
  startOrderService,
} from '@shop/order-service';
import {
  connectMongo,
  createGrpcClient,
  identityMetadata,
  parsers,
  readConfig,
} from '@shop/platform';
import { inventory, order, product } from '@shop/proto';
import { startKafkaInstance } from '@shop/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { admin, benchLogger } from './common';

const config = readConfig(process.env, (env) => ({
  mongoUrl: env.optional('MONGO_URL', parsers.string, 'mongodb://127.0.0.1:27017/'),
  orders: env.optional('BENCH_FAULT_ORDERS', parsers.int(10, 100_000), 1_000),
  rate: env.optional('BENCH_FAULT_RATE', parsers.int(1, 10_000), 100),
  stock: env.optional('BENCH_FAULT_STOCK', parsers.int(0, 1_000_000), 700),
  settleSeconds: env.optional('BENCH_FAULT_SETTLE_S', parsers.int(10, 1_800), 240),
  logLevel: env.optional('LOG_LEVEL', parsers.oneOf('fatal', 'error', 'warn', 'info'), 'fatal'),
}));

const logger = benchLogger(config.logLevel);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const customer = (n: number) =>
  identityMetadata({ kind: 'user', subject: `fault-c-${n}`, roles: [] }, new Metadata());
const S = order.OrderStatus;
const K = inventory.MovementKind;
const INVENTORY_MAIN = path.resolve(__dirname, '../../grpc-services/inventory/dist/src/main.js');

async function main(): Promise<void> {
  if (!existsSync(INVENTORY_MAIN)) throw new Error(`${INVENTORY_MAIN} missing: npx tsc --build`);
  const started = Date.now();
  const since = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  const suffix = randomUUID().slice(0, 8);
  const item = product.Product.fromPartial({
    id: `fault-p-${suffix}`,
    sku: 'FAULT-1',
    name: 'Fault run item',
    price: { amount: 1_000, currency: 'EUR' },
  });
  const productServer = new Server();
  productServer.addService(product.ProductServiceService, {
    batchGetProducts: (
      call: { request: product.BatchGetProductsRequest },
      cb: (e: null, r: product.BatchGetProductsResponse) => void,
    ) =>
      cb(null, {
        products: call.request.ids.includes(item.id) ? [item] : [],
        notFoundIds: call.request.ids.filter((i) => i !== item.id),
      }),
  });
  const productPort = await new Promise<number>((resolve, reject) =>
    productServer.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );

  const kafka = await startKafkaInstance();
  console.log(`fault run: throwaway broker ${kafka.broker} up after ${since()}`);
  const common = {
    AUTH_TRUST_IDENTITY_METADATA: 'true',
    MONGO_URL: config.mongoUrl,
    KAFKA_BROKERS: kafka.broker,
    GRPC_PORT: '0',
    METRICS_PORT: '0',
    LOG_LEVEL: config.logLevel,
    ORDER_EVENTS_TOPIC: `fault-order-events-${suffix}`,
    INVENTORY_UPDATES_TOPIC: `fault-inventory-updates-${suffix}`,
  };
  const inventoryEnv = {
    ...common,
    MONGO_DATABASE: `bench_faults_${suffix}_inventory`,
    INVENTORY_CONSUMER_GROUP: `fault-inventory-${suffix}`,
  };
  const stops: Array<() => Promise<void>> = [];
  let victim: ChildProcess | undefined;
  try {
    const inv = await startInventoryService(loadInventoryConfig(inventoryEnv), { logger });
    stops.push(() => inv.stop());
    const ord = await startOrderService(
      loadOrderConfig({
        ...common,
        MONGO_DATABASE: `bench_faults_${suffix}_order`,
        ORDER_CONSUMER_GROUP: `fault-order-${suffix}`,
        PRODUCT_GRPC_URL: `127.0.0.1:${productPort}`,
        PAYMENT_PROVIDER: 'fake',
        ORDER_PENDING_TTL_MS: String(3_600_000),
      }),
      { logger, payments: createDeterministicPaymentProvider() },
    );
    stops.push(() => ord.stop());
    // The second consumer of the group, in its own process, so it can be killed outright.
    victim = spawn(process.execPath, [INVENTORY_MAIN], {
      env: { ...process.env, ...inventoryEnv },
      stdio: 'ignore',
    });
    const stock = createGrpcClient(
      'shop.inventory.v1.InventoryService',
      inventory.InventoryServiceService,
      `127.0.0.1:${inv.grpcPort}`,
      { deadlineMs: 60_000 },
    );
    const orders = createGrpcClient(
      'shop.order.v1.OrderService',
      order.OrderServiceService,
      `127.0.0.1:${ord.grpcPort}`,
      { deadlineMs: 60_000 },
    );
    await stock.setInitialStock(
      { productId: item.id, onHand: config.stock },
      { metadata: admin() },
    );
    // Let the child join the group (it takes half the partitions) before the run.
    await sleep(8_000);

    const placed: string[] = [];
    let failed = 0;
    let firstError = '';
    const calls: Promise<void>[] = [];
    const t0 = Date.now();
    const duration = (config.orders / config.rate) * 1000;
    const faults: string[] = [];
    const faulting = (async () => {
      await sleep(duration * 0.3);
      victim?.kill('SIGKILL');
      faults.push(`inventory child killed (SIGKILL) at ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      await sleep(duration * 0.2);
      await kafka.stop({ abrupt: true });
      faults.push(`broker killed at ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      await sleep(3_000);
      await kafka.start();
      faults.push(`broker back at ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    })();
    for (let i = 0; i < config.orders; i += 1) {
      const wait = t0 + (i * 1000) / config.rate - Date.now();
      if (wait > 0) await sleep(wait);
      calls.push(
        orders
          .placeOrder(
            order.PlaceOrderRequest.fromPartial({
              lines: [{ productId: item.id, quantity: 1 }],
              shippingAddress: {
                recipientName: 'Fault',
                line1: 'Street 1',
                city: 'Berlin',
                postalCode: '10115',
                countryCode: 'DE',
              },
              paymentMethodToken: 'pm_card_visa',
              idempotencyKey: `fault-${suffix}-${i}`,
            }),
            { metadata: customer(i) },
          )
          .then(
            (res) => void placed.push(res.order!.id),
            (err: unknown) => {
              failed += 1;
              firstError ||= err instanceof Error ? err.message : String(err);
            },
          ),
      );
    }
    await Promise.all(calls);
    await faulting;
    console.log(
      `placed ${placed.length} orders (${failed} PlaceOrder calls failed${firstError ? `, first: ${firstError}` : ''}) in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${faults.join('; ')}`,
    );

    // Wait (bounded) until every placed order reached a final state.
    const fetchAll = async (): Promise<order.Order[]> => {
      const out: order.Order[] = [];
      for (let i = 0; i < placed.length; i += 100) {
        const res = await orders.batchGetOrders(
          order.BatchGetOrdersRequest.fromPartial({ ids: placed.slice(i, i + 100) }),
          { metadata: admin() },
        );
        out.push(...res.orders);
      }
      return out;
    };
    const isFinal = (s: order.OrderStatus) =>
      s === S.ORDER_STATUS_CONFIRMED || s === S.ORDER_STATUS_CANCELLED;
    const deadline = Date.now() + config.settleSeconds * 1000;
    let final = await fetchAll();
    while (final.some((o) => !isFinal(o.status)) && Date.now() < deadline) {
      await sleep(1_000);
      final = await fetchAll();
    }
    const settledAfter = (Date.now() - t0) / 1000;
    // Commits follow CONFIRMED: let the ledger stop moving before reading it.
    for (let last = -1, quiet = Date.now() + 30_000; Date.now() < quiet;) {
      const v = (await stock.getStock({ productId: item.id }, { metadata: admin() })).stock
        ?.version;
      if (v === last) break;
      last = v ?? -1;
      await sleep(2_000);
    }

    const movements: inventory.Movement[] = [];
    let pageToken = '';
    do {
      const res = await stock.listMovements(
        inventory.ListMovementsRequest.fromPartial({
          productId: item.id,
          page: { pageSize: 500, pageToken },
        }),
        { metadata: admin() },
      );
      movements.push(...res.movements);
      pageToken = res.page?.nextPageToken ?? '';
    } while (pageToken);
    movements.reverse();
    const level = (await stock.getStock({ productId: item.id }, { metadata: admin() })).stock;

    let onHand = 0;
    let reserved = 0;
    let broken = 0;
    let belowZero = 0;
    const perOrder = new Map<string, { reserve: number; commit: number; release: number }>();
    for (const m of movements) {
      if (m.before && (m.before.onHand !== onHand || m.before.reserved !== reserved)) broken += 1;
      onHand += m.deltaOnHand;
      reserved += m.deltaReserved;
      if (onHand < 0 || reserved < 0 || onHand - reserved < 0) belowZero += 1;
      if (!m.orderId) continue;
      const c = perOrder.get(m.orderId) ?? { reserve: 0, commit: 0, release: 0 };
      if (m.kind === K.MOVEMENT_KIND_RESERVATION) c.reserve += 1;
      if (m.kind === K.MOVEMENT_KIND_COMMIT) c.commit += 1;
      if (m.kind === K.MOVEMENT_KIND_RELEASE) c.release += 1;
      perOrder.set(m.orderId, c);
    }
    const sumsToLevel =
      !!level && level.onHand === onHand && level.reserved === reserved && broken === 0;

    const byId = new Map(final.map((o) => [o.id, o]));
    let lost = 0;
    let doubleFinal = 0;
    let doubled = 0;
    let confirmed = 0;
    let cancelled = 0;
    for (const id of placed) {
      const o = byId.get(id);
      if (!o || !isFinal(o.status)) {
        lost += 1;
        continue;
      }
      const finals = o.statusHistory.filter((h) => isFinal(h.status));
      if (finals.length !== 1) doubleFinal += 1;
      const c = perOrder.get(id) ?? { reserve: 0, commit: 0, release: 0 };
      if (c.reserve > 1 || c.commit > 1 || c.release > 1 || c.commit + c.release > c.reserve) {
        doubled += 1;
      }
      if (o.status === S.ORDER_STATUS_CONFIRMED) {
        confirmed += 1;
        if (c.commit !== 1) doubled += 1;
      } else {
        cancelled += 1;
        if (c.commit !== 0) doubled += 1;
      }
    }
    const sold = [...perOrder.values()].reduce((n, c) => n + c.commit, 0);
    const held = level?.reserved ?? -1;

    console.log(
      '\n| orders placed | settled after | CONFIRMED | CANCELLED | lost (no final state) | ' +
        'more than one final state | doubled stock effects | units sold / stock | left reserved | ledger |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|---|');
    console.log(
      `| ${placed.length} | ${settledAfter.toFixed(1)} s | ${confirmed} | ${cancelled} | ${lost} | ` +
        `${doubleFinal} | ${doubled} | ${sold} / ${config.stock} | ${held} | ` +
        `${sumsToLevel ? 'chains and sums to the stock level' : `${broken} broken links, levels ${JSON.stringify(level)} vs ${onHand}/${reserved}`}` +
        `${belowZero ? `, ${belowZero} steps below zero` : ''} |`,
    );
    console.log(`total runtime ${since()}`);
    const ok =
      failed === 0 &&
      lost === 0 &&
      doubleFinal === 0 &&
      doubled === 0 &&
      sumsToLevel &&
      belowZero === 0 &&
      sold === confirmed &&
      sold <= config.stock &&
      held === 0;
    if (!ok) process.exitCode = 2;
    stock.close();
    orders.close();
  } finally {
    victim?.kill('SIGKILL');
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await kafka.destroy();
    for (const db of ['order', 'inventory']) {
      const handle = await connectMongo({
        url: config.mongoUrl,
        database: `bench_faults_${suffix}_${db}`,
        logger,
      });
      await handle.db.dropDatabase().catch(() => undefined);
      await handle.close();
    }
    await new Promise<void>((resolve) => productServer.tryShutdown(() => resolve()));
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
