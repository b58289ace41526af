import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createGrpcClient, createKafka, type PromiseClient } from '@shop/platform';
import { inventory, order, product } from '@shop/proto';
import {
  loadInventoryConfig,
  startInventoryService,
  type RunningInventoryService,
} from '@shop/inventory-service';
import { startKafkaInstance, testEnv, uniqueId, waitFor, type KafkaInstance } from '@shop/testing';
import {
  createDeterministicPaymentProvider,
  loadOrderConfig,
  startOrderService,
  type RunningOrderService,
} from '../src';
import { admin, as, placeOrderRequest, quietLogger, startProductStub } from './support';

const S = order.OrderStatus;
const R = order.CancellationReason;
const K = inventory.MovementKind;
const FINAL = new Set([S.ORDER_STATUS_CONFIRMED, S.ORDER_STATUS_CANCELLED]);
const REPO = path.resolve(__dirname, '../../..');
/** The shared store also serves other suites and benchmarks; do not fail on its slow moments. */
const SLOW_STORE = { deadlineMs: 30_000 };

type Orders = PromiseClient<typeof order.OrderServiceService>;
type Stock = PromiseClient<typeof inventory.InventoryServiceService>;

/** Order + inventory services (in-process) around a product stub, on the given brokers. */
interface Pipeline {
  readonly productId: string;
  readonly orders: Orders;
  readonly stock: Stock;
  /** Environment every inventory instance of this pipeline shares (group, db, topics). */
  readonly inventoryEnv: Record<string, string>;
  stop(): Promise<void>;
}

async function startPipeline(
  prefix: string,
  kafkaBrokers: string,
  units: number,
  tuning: Record<string, string> = {},
): Promise<Pipeline> {
  const env = testEnv();
  const id = uniqueId(prefix).replace(/-/g, '_');
  const item = product.Product.fromPartial({
    id: uniqueId(`${prefix}-p`),
    sku: 'RACE-1',
    name: 'Limited print',
    price: { amount: 4_200, currency: 'EUR' },
  });
  const products = await startProductStub([item]);
  const common = {
    AUTH_TRUST_IDENTITY_METADATA: 'true',
    MONGO_URL: env.mongoUrl,
    KAFKA_BROKERS: kafkaBrokers,
    GRPC_PORT: '0',
    METRICS_PORT: '0',
    LOG_LEVEL: 'fatal',
    ORDER_EVENTS_TOPIC: uniqueId(`${prefix}-order-events`),
    INVENTORY_UPDATES_TOPIC: uniqueId(`${prefix}-inventory-updates`),
    ...tuning,
  };
  const inventoryEnv = {
    ...common,
    MONGO_DATABASE: `${id}_inventory`,
    INVENTORY_CONSUMER_GROUP: uniqueId(`${prefix}-inventory`),
    OUTBOX_RELAY_INTERVAL_MS: '50',
  };
  const running: Array<{ stop(): Promise<void> }> = [products];
  let inv: RunningInventoryService | undefined;
  let ord: RunningOrderService | undefined;
  try {
    inv = await startInventoryService(loadInventoryConfig(inventoryEnv), { logger: quietLogger });
    running.push(inv);
    const stock = createGrpcClient(
      'shop.inventory.v1.InventoryService',
      inventory.InventoryServiceService,
      `127.0.0.1:${inv.grpcPort}`,
      SLOW_STORE,
    );
    await stock.setInitialStock({ productId: item.id, onHand: units }, as(admin));
    ord = await startOrderService(
      loadOrderConfig({
        ...common,
        MONGO_DATABASE: `${id}_order`,
        ORDER_CONSUMER_GROUP: uniqueId(`${prefix}-order`),
        PRODUCT_GRPC_URL: products.address,
        OUTBOX_POLL_INTERVAL_MS: '50',
        CONSUMER_INITIAL_BACKOFF_MS: '50',
        PAYMENT_PROVIDER: 'fake',
      }),
      { logger: quietLogger, payments: createDeterministicPaymentProvider() },
    );
    running.push(ord);
    const orders = createGrpcClient(
      'shop.order.v1.OrderService',
      order.OrderServiceService,
      `127.0.0.1:${ord.grpcPort}`,
      SLOW_STORE,
    );
    return {
      productId: item.id,
      orders,
      stock,
      inventoryEnv,
      async stop() {
        orders.close();
        stock.close();
        for (const s of running.reverse()) await s.stop().catch(() => undefined);
      },
    };
  } catch (err) {
    for (const s of running.reverse()) await s.stop().catch(() => undefined);
    throw err;
  }
}

/** Places one order of one unit for a new customer with a new idempotency key. */
async function placeOne(p: Pipeline, n: number): Promise<string> {
  const customer = { kind: 'user' as const, subject: `c-${n}-${uniqueId('c')}`, roles: [] };
  const { order: placed } = await p.orders.placeOrder(
    placeOrderRequest({
      lines: [{ productId: p.productId, quantity: 1 }],
      idempotencyKey: uniqueId(`k${n}`),
    }),
    as(customer),
  );
  return placed!.id;
}

/** Every order of the pipeline (admin listing, all pages). */
async function allOrders(p: Pipeline): Promise<order.Order[]> {
  const out: order.Order[] = [];
  let pageToken = '';
  do {
    const res = await p.orders.listOrders(
      order.ListOrdersRequest.fromPartial({ page: { pageSize: 100, pageToken } }),
      as(admin),
    );
    out.push(...res.orders);
    pageToken = res.page?.nextPageToken ?? '';
  } while (pageToken);
  return out;
}

/** Waits until every one of `ids` left PENDING; returns them all. */
async function settled(p: Pipeline, ids: readonly string[], timeoutMs: number) {
  return waitFor(
    `${ids.length} orders to reach a final state`,
    async () => {
      const orders = await allOrders(p);
      const final = orders.filter((o) => FINAL.has(o.status));
      return final.length === ids.length ? orders : undefined;
    },
    { timeoutMs, intervalMs: 500 },
  );
}

/** The product's whole ledger, oldest first. */
async function ledger(p: Pipeline): Promise<inventory.Movement[]> {
  const out: inventory.Movement[] = [];
  let pageToken = '';
  do {
    const res = await p.stock.listMovements(
      inventory.ListMovementsRequest.fromPartial({
        productId: p.productId,
        page: { pageSize: 100, pageToken },
      }),
      as(admin),
    );
    out.push(...res.movements);
    pageToken = res.page?.nextPageToken ?? '';
  } while (pageToken);
  return out.reverse();
}

/**
 * The invariants every run must end with: each order has exactly one final status in its
 * history; stock moved exactly for the confirmed ones (one reservation and one commit each,
 * nothing for the others), nothing left reserved, and the ledger sums to the levels and never
 * shows negative availability.
 */
async function expectConsistent(p: Pipeline, placed: readonly string[], units: number) {
  const orders = await settled(p, placed, 60_000);
  expect(orders.map((o) => o.id).sort()).toEqual([...placed].sort());
  for (const o of orders) {
    const finals = o.statusHistory.filter((h) => FINAL.has(h.status));
    expect({ id: o.id, finals: finals.map((h) => h.status) }).toEqual({
      id: o.id,
      finals: [o.status],
    });
  }
  const confirmed = orders.filter((o) => o.status === S.ORDER_STATUS_CONFIRMED);
  const cancelled = orders.filter((o) => o.status === S.ORDER_STATUS_CANCELLED);
  // Payment always succeeds here, so only stock decides: as many confirmed as units allow.
  expect(confirmed).toHaveLength(Math.min(units, placed.length));
  for (const o of cancelled) {
    expect(o.cancellationReason).toBe(R.CANCELLATION_REASON_OUT_OF_STOCK);
  }

  const stock = await waitFor('the reservations to be committed', async () => {
    const s = (await p.stock.getStock({ productId: p.productId }, as(admin))).stock!;
    return s.reserved === 0 ? s : undefined;
  });
  expect(stock).toMatchObject({
    onHand: units - confirmed.length,
    reserved: 0,
    available: units - confirmed.length,
  });

  const moves = await ledger(p);
  const sum = (f: (m: inventory.Movement) => number) => moves.reduce((a, m) => a + f(m), 0);
  expect(sum((m) => m.deltaOnHand)).toBe(stock.onHand);
  expect(sum((m) => m.deltaReserved)).toBe(stock.reserved);
  moves.forEach((m, i) => {
    expect(m.after!.available).toBeGreaterThanOrEqual(0);
    expect(m.after!.available).toBe(m.after!.onHand - m.after!.reserved);
    if (i > 0) expect(m.before).toEqual(moves[i - 1].after);
  });
  const kinds = (kind: inventory.MovementKind) =>
    moves
      .filter((m) => m.kind === kind)
      .map((m) => m.orderId)
      .sort();
  const confirmedIds = confirmed.map((o) => o.id).sort();
  expect(kinds(K.MOVEMENT_KIND_RESERVATION)).toEqual(confirmedIds);
  expect(kinds(K.MOVEMENT_KIND_COMMIT)).toEqual(confirmedIds);
  expect(kinds(K.MOVEMENT_KIND_RELEASE)).toEqual([]);
  return { confirmed: confirmed.length, cancelled: cancelled.length };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('order pipeline under contention and faults', () => {
  const env = testEnv();

  it('race: 200 concurrent orders for 10 units → 10 CONFIRMED, 190 OUT_OF_STOCK, never below zero', async () => {
    const p = await startPipeline('race', env.kafkaBrokers.join(','), 10);
    try {
      const observed: inventory.Stock[] = [];
      let placing = true;
      const watcher = (async () => {
        while (placing) {
          const { stocks } = await p.stock.batchGetStock({ productIds: [p.productId] }, as(admin));
          observed.push(...stocks);
          await sleep(20);
        }
      })();
      const placed = await Promise.all(Array.from({ length: 200 }, (_, n) => placeOne(p, n)));
      expect(new Set(placed).size).toBe(200);
      const result = await expectConsistent(p, placed, 10).finally(() => {
        placing = false;
      });
      await watcher;
      expect(result).toEqual({ confirmed: 10, cancelled: 190 });
      expect(observed.length).toBeGreaterThan(10);
      for (const s of observed) {
        expect(s.available).toBeGreaterThanOrEqual(0);
        expect(s.available).toBe(s.onHand - s.reserved);
      }
      expect(Math.min(...observed.map((s) => s.available))).toBe(0);
    } finally {
      await p.stop();
    }
  }, 90_000);

  describe('with a throwaway Kafka broker', () => {
    let kafka: KafkaInstance;
    beforeAll(async () => {
      kafka = await startKafkaInstance();
    }, 90_000);
    afterAll(async () => {
      await kafka?.destroy();
    });

    it('broker stopped while orders are placed, then restarted: every order settles once', async () => {
      const p = await startPipeline('kdown', kafka.broker, 10);
      try {
        const placed: string[] = [];
        // Before, during and after the outage; PlaceOrder must not notice it.
        for (let n = 0; n < 10; n += 1) placed.push(await placeOne(p, n));
        await kafka.stop({ abrupt: true });
        for (let n = 10; n < 25; n += 1) {
          placed.push(await placeOne(p, n));
          await sleep(100);
        }
        await sleep(2_000);
        await kafka.start();
        for (let n = 25; n < 30; n += 1) placed.push(await placeOne(p, n));
        const result = await expectConsistent(p, placed, 10);
        expect(result).toEqual({ confirmed: 10, cancelled: 20 });
      } finally {
        await p.stop();
      }
    }, 90_000);
  });

  it('an inventory instance is killed (SIGKILL) mid-batch: the survivor finishes, nothing doubled', async () => {
    const main = path.join(REPO, 'grpc-services/inventory/dist/src/main.js');
    if (!existsSync(main)) throw new Error(`${main} missing: npx tsc -b grpc-services/inventory`);
    const p = await startPipeline('kill', env.kafkaBrokers.join(','), 10);
    let victim: ChildProcess | undefined;
    try {
      // A second inventory process in the same consumer group: it owns half the partitions.
      victim = spawn(process.execPath, [main], {
        env: { ...process.env, ...p.inventoryEnv },
        stdio: 'ignore',
      });
      const kafkaAdmin = createKafka({
        brokers: env.kafkaBrokers,
        clientId: 'kill-test',
        logger: quietLogger,
      }).admin();
      await kafkaAdmin.connect();
      const group = p.inventoryEnv['INVENTORY_CONSUMER_GROUP'];
      await waitFor(
        'the second inventory instance to join the group',
        async () => {
          const { groups } = await kafkaAdmin.describeGroups([group]);
          const g = groups[0];
          return g?.state === 'Stable' && g.members.length === 2 ? true : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      ).finally(() => kafkaAdmin.disconnect());
      const placed: string[] = [];
      const batch = Array.from({ length: 30 }, (_, n) => n);
      const inFlight = batch.map(async (n) => {
        await sleep(n * 60);
        placed.push(await placeOne(p, n));
      });
      // Mid-batch: a third of the orders placed (their events in flight), the rest to come.
      await waitFor('a third of the batch to be placed', () =>
        placed.length >= 10 ? true : undefined,
      );
      expect(victim.exitCode).toBeNull();
      victim.kill('SIGKILL');
      const placedBeforeKill = placed.length;
      await Promise.all(inFlight);
      expect(placedBeforeKill).toBeGreaterThan(0);
      expect(placedBeforeKill).toBeLessThan(batch.length);
      const result = await expectConsistent(p, placed, 10);
      expect(result).toEqual({ confirmed: 10, cancelled: 20 });
    } finally {
      victim?.kill('SIGKILL');
      await p.stop();
    }
  }, 90_000);
});
