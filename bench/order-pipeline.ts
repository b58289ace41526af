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
 * Order and inventory services run in this process on the real store and Kafka; the product
 * service is a stub (one gRPC method). Each rate gets its own product with ample stock, so every
 * order should confirm. Bounded: each rate offers for BENCH_SECONDS, then waits at most
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
  type PaymentOutcome,
  type PaymentProvider,
} from '@shop/order-service';
import {
  connectMongo,
  createGrpcClient,
  identityMetadata,
  parsers,
  readConfig,
  type RunningService,
} from '@shop/platform';
import { inventory, order, product } from '@shop/proto';
import { randomUUID } from 'node:crypto';
import { admin, benchLogger } from './common';

const config = readConfig(process.env, (env) => ({
  mongoUrl: env.optional('MONGO_URL', parsers.string, 'mongodb://127.0.0.1:27017/'),
  kafkaBrokers: env.optional('KAFKA_BROKERS', parsers.string, '127.0.0.1:9092'),
  stripeApiBase: env.optional('STRIPE_API_BASE', parsers.string, 'http://127.0.0.1:12111'),
  payment: env.optional('BENCH_PAYMENT', parsers.oneOf('stripe', 'fake'), 'stripe'),
  rates: env.optional('BENCH_RATES', parsers.list, ['20', '50', '100']).map(Number),
  seconds: env.optional('BENCH_SECONDS', parsers.int(1, 120), 20),
  drainSeconds: env.optional('BENCH_DRAIN_S', parsers.int(1, 300), 20),
  logLevel: env.optional('LOG_LEVEL', parsers.oneOf('fatal', 'error', 'warn', 'info'), 'fatal'),
}));

const logger = benchLogger(config.logLevel);
const customer = (n: number) =>
  identityMetadata({ kind: 'user', subject: `bench-c-${n}`, roles: [] }, new Metadata());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Payment calls timed per order. */
interface PaymentTimes {
  authorizeStart?: number;
  captureEnd?: number;
}

function timed(inner: PaymentProvider, times: Map<string, PaymentTimes>): PaymentProvider {
  const entry = (orderId: string) => {
    let t = times.get(orderId);
    if (!t) times.set(orderId, (t = {}));
    return t;
  };
  return {
    name: inner.name,
    async authorize(request) {
      entry(request.orderId).authorizeStart ??= Date.now();
      return inner.authorize(request);
    },
    async capture(intentId, orderId) {
      const result = await inner.capture(intentId, orderId);
      entry(orderId).captureEnd = Date.now();
      return result;
    },
    void: (intentId, orderId) => inner.void(intentId, orderId),
    refund: (intentId, orderId) => inner.refund(intentId, orderId),
  };
}

/**
 * stripe-mock is stateless: every PaymentIntent it returns has the canned status
 * `requires_payment_method`, which the adapter rightly reads as a decline. The bench keeps the
 * adapter's real HTTP round trips (so `payment` is what the SDK and the API cost) and reads that
 * one canned status as an approval; any other answer passes through unchanged.
 */
function approveCannedIntents(stripe: PaymentProvider): PaymentProvider {
  const approve = (out: PaymentOutcome): PaymentOutcome =>
    out.outcome === 'declined' && out.code === 'requires_payment_method'
      ? { outcome: 'approved', intentId: out.intentId }
      : out;
  return {
    name: stripe.name,
    authorize: async (request) => approve(await stripe.authorize(request)),
    capture: async (intentId, orderId) => approve(await stripe.capture(intentId, orderId)),
    void: (intentId, orderId) => stripe.void(intentId, orderId),
    refund: (intentId, orderId) => stripe.refund(intentId, orderId),
  };
}

const quantile = (sorted: readonly number[], q: number): number =>
  sorted.length === 0
    ? NaN
    : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
const stats = (values: number[]) => {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return { p50: quantile(s, 0.5), p99: quantile(s, 0.99), n: s.length };
};
const ms = (v: number) => (Number.isFinite(v) ? `${Math.round(v)} ms` : 'n/a');

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
  const running: RunningService[] = [];
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
  try {
    const inv = await startInventoryService(
      loadInventoryConfig({
        ...common,
        MONGO_DATABASE: `bench_orders_${suffix}_inventory`,
        INVENTORY_CONSUMER_GROUP: `bench-inventory-${suffix}`,
        OUTBOX_RELAY_INTERVAL_MS: '100',
      }),
      { logger },
    );
    running.push(inv);
    const ord = await startOrderService(
      loadOrderConfig({
        ...common,
        MONGO_DATABASE: `bench_orders_${suffix}_order`,
        ORDER_CONSUMER_GROUP: `bench-order-${suffix}`,
        PRODUCT_GRPC_URL: `127.0.0.1:${productPort}`,
        OUTBOX_POLL_INTERVAL_MS: '50',
        PAYMENT_PROVIDER: config.payment,
      }),
      { logger, payments: timed(inner, times) },
    );
    running.push(ord);
    const stock = createGrpcClient(
      'shop.inventory.v1.InventoryService',
      inventory.InventoryServiceService,
      `127.0.0.1:${inv.grpcPort}`,
      { deadlineMs: 30_000 },
    );
    const orders = createGrpcClient(
      'shop.order.v1.OrderService',
      order.OrderServiceService,
      `127.0.0.1:${ord.grpcPort}`,
      { deadlineMs: 30_000 },
    );

    console.log(
      `order pipeline bench: rates ${config.rates.join(', ')} orders/s, ${config.seconds} s each, ` +
        `payment ${config.payment}, store ${config.mongoUrl}, kafka ${config.kafkaBrokers}`,
    );
    const rows: string[] = [];
    let n = 0;
    for (const rate of config.rates) {
      const item = product.Product.fromPartial({
        id: `bench-p-${rate}-${suffix}`,
        sku: `B-${rate}`,
        name: 'Bench item',
        price: { amount: 1_000, currency: 'EUR' },
      });
      catalog.set(item.id, item);
      const total = Math.round(rate * config.seconds);
      await stock.setInitialStock({ productId: item.id, onHand: total * 2 }, { metadata: admin() });

      // Open loop: order i is sent at t0 + i/rate whatever happened to the previous ones.
      const sent = new Map<string, { sentAt: number; placedAt: number }>();
      let failed = 0;
      const t0 = Date.now() + 200;
      const calls: Promise<void>[] = [];
      for (let i = 0; i < total; i += 1) {
        const due = t0 + (i * 1000) / rate;
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait);
        const k = (n += 1);
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
              (res) => void sent.set(res.order!.id, { sentAt, placedAt: Date.now() }),
              () => void (failed += 1),
            ),
        );
      }
      const offeredFor = (Date.now() - t0) / 1000;
      await Promise.all(calls);

      // Wait (bounded) until every placed order left PENDING.
      const drainDeadline = Date.now() + config.drainSeconds * 1000;
      const fetchAll = async (): Promise<order.Order[]> => {
        const out: order.Order[] = [];
        let pageToken = '';
        do {
          const res = await orders.listOrders(
            order.ListOrdersRequest.fromPartial({ page: { pageSize: 100, pageToken } }),
            { metadata: admin() },
          );
          out.push(...res.orders.filter((o) => sent.has(o.id)));
          pageToken = res.page?.nextPageToken ?? '';
        } while (pageToken);
        return out;
      };
      let final = await fetchAll();
      while (
        final.some((o) => o.status === order.OrderStatus.ORDER_STATUS_PENDING) &&
        Date.now() < drainDeadline
      ) {
        await sleep(500);
        final = await fetchAll();
      }

      const reservedAt = new Map<string, number>();
      let pageToken = '';
      do {
        const res = await stock.listMovements(
          inventory.ListMovementsRequest.fromPartial({
            productId: item.id,
            page: { pageSize: 100, pageToken },
          }),
          { metadata: admin() },
        );
        for (const m of res.movements) {
          if (m.kind === inventory.MovementKind.MOVEMENT_KIND_RESERVATION && m.at) {
            reservedAt.set(m.orderId, m.at.getTime());
          }
        }
        pageToken = res.page?.nextPageToken ?? '';
      } while (pageToken);

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
        toPayment: [] as number[],
        payment: [] as number[],
        toConfirmed: [] as number[],
      };
      const confirmedTimes: number[] = [];
      for (const o of confirmed) {
        const s = sent.get(o.id)!;
        const confirmedAt = o.statusHistory
          .find((h) => h.status === order.OrderStatus.ORDER_STATUS_CONFIRMED)
          ?.at?.getTime();
        const created = o.createdAt?.getTime() ?? NaN;
        const reserved = reservedAt.get(o.id) ?? NaN;
        const pay = times.get(o.id) ?? {};
        if (confirmedAt === undefined) continue;
        confirmedTimes.push(confirmedAt);
        parts.e2e.push(confirmedAt - s.sentAt);
        parts.place.push(s.placedAt - s.sentAt);
        parts.toReserved.push(reserved - created);
        parts.toPayment.push((pay.authorizeStart ?? NaN) - reserved);
        parts.payment.push((pay.captureEnd ?? NaN) - (pay.authorizeStart ?? NaN));
        parts.toConfirmed.push(confirmedAt - (pay.captureEnd ?? NaN));
      }
      confirmedTimes.sort((a, b) => a - b);
      // Sustained throughput: confirmations per second over the offering window (from the first
      // send to the last send), and the whole batch including its tail.
      const inWindow = confirmedTimes.filter((t) => t <= t0 + offeredFor * 1000).length;
      const lastConfirmed = confirmedTimes[confirmedTimes.length - 1] ?? t0;
      const e2e = stats(parts.e2e);
      const row = [
        `${rate}/s`,
        `${total} offered (${(total / offeredFor).toFixed(1)}/s), ${failed} PlaceOrder failed`,
        `${confirmed.length} CONFIRMED, ${cancelled} CANCELLED` +
          (reasons.size
            ? ` (${[...reasons].map(([r, c]) => `${c} ${r.replace('CANCELLATION_REASON_', '')}`).join(', ')})`
            : '') +
          `, ${pending.length} still PENDING`,
        `${(inWindow / offeredFor).toFixed(1)}/s confirmed during the window, ` +
          `${(confirmed.length / ((lastConfirmed - t0) / 1000)).toFixed(1)}/s to the last`,
        `${ms(e2e.p50)} / ${ms(e2e.p99)}`,
        ...(['place', 'toReserved', 'toPayment', 'payment', 'toConfirmed'] as const).map((k) => {
          const st = stats(parts[k]);
          return `${ms(st.p50)} / ${ms(st.p99)}`;
        }),
      ];
      rows.push(`| ${row.join(' | ')} |`);
      console.log(rows[rows.length - 1]);
    }
    console.log(
      '\n| offered | orders | outcome | CONFIRMED per second | PlaceOrder→CONFIRMED p50 / p99 | ' +
        'place | created→reserved | reserved→payment start | payment (auth+capture) | ' +
        'captured→CONFIRMED |\n|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const row of rows) console.log(row);
    stock.close();
    orders.close();
  } finally {
    for (const s of running.reverse()) await s.stop().catch(() => undefined);
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
