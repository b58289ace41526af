import { Metadata } from '@grpc/grpc-js';
import {
  createGrpcClient,
  identityMetadata,
  type PromiseClient,
  type RunningService,
} from '@shop/platform';
import { inventory, order } from '@shop/proto';
import { testEnv, uniqueId, waitFor } from '@shop/testing';
import { loadInventoryConfig, startInventoryService } from '@shop/inventory-service';
import {
  createDeterministicPaymentProvider,
  loadOrderConfig,
  startOrderService,
  TEST_TOKENS,
} from '@shop/order-service';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { product } from '@shop/proto';
import {
  expectMails,
  quietLogger,
  startNotificationHarness,
  type NotificationHarness,
} from './support';

const S = order.OrderStatus;
const R = order.CancellationReason;
const admin = identityMetadata({ kind: 'user', subject: 'ops', roles: ['admin'] }, new Metadata());

/** The whole pipeline in-process: product (stub), inventory, order and notification services. */
describe('order pipeline end to end (real inventory service)', () => {
  const env = testEnv();
  const id = uniqueId('pipe').replace(/-/g, '_');
  const topics = {
    orderEvents: uniqueId('pipe-order-events'),
    inventoryUpdates: uniqueId('pipe-inventory-updates'),
  };
  const products = [
    product.Product.fromPartial({
      id: uniqueId('p-lamp'),
      sku: 'LAMP',
      name: 'Lamp',
      price: { amount: 1_500, currency: 'EUR' },
    }),
    product.Product.fromPartial({
      id: uniqueId('p-rare'),
      sku: 'RARE',
      name: 'Rare vase',
      price: { amount: 9_900, currency: 'EUR' },
    }),
  ];
  const [lamp, rare] = products as [product.Product, product.Product];
  const productServer = new Server();
  const running: RunningService[] = [];
  let orders: PromiseClient<typeof order.OrderServiceService>;
  let stock: PromiseClient<typeof inventory.InventoryServiceService>;
  let notifications: NotificationHarness;

  beforeAll(async () => {
    productServer.addService(product.ProductServiceService, {
      batchGetProducts: (
        call: { request: product.BatchGetProductsRequest },
        cb: (e: null, r: product.BatchGetProductsResponse) => void,
      ) =>
        cb(null, {
          products: products.filter((p) => call.request.ids.includes(p.id)),
          notFoundIds: call.request.ids.filter((i) => !products.some((p) => p.id === i)),
        }),
    });
    const productPort = await new Promise<number>((resolve, reject) =>
      productServer.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    const common = {
      AUTH_TRUST_IDENTITY_METADATA: 'true',
      MONGO_URL: env.mongoUrl,
      KAFKA_BROKERS: env.kafkaBrokers.join(','),
      GRPC_PORT: '0',
      METRICS_PORT: '0',
      LOG_LEVEL: 'fatal',
      ORDER_EVENTS_TOPIC: topics.orderEvents,
      INVENTORY_UPDATES_TOPIC: topics.inventoryUpdates,
    };
    const inv = await startInventoryService(
      loadInventoryConfig({
        ...common,
        MONGO_DATABASE: `${id}_inventory`,
        INVENTORY_CONSUMER_GROUP: uniqueId('pipe-inventory'),
        OUTBOX_RELAY_INTERVAL_MS: '50',
      }),
      { logger: quietLogger },
    );
    running.push(inv);
    stock = createGrpcClient(
      'shop.inventory.v1.InventoryService',
      inventory.InventoryServiceService,
      `127.0.0.1:${inv.grpcPort}`,
    );
    await stock.setInitialStock({ productId: lamp.id, onHand: 10 }, { metadata: admin });
    await stock.setInitialStock({ productId: rare.id, onHand: 1 }, { metadata: admin });
    const ord = await startOrderService(
      loadOrderConfig({
        ...common,
        MONGO_DATABASE: `${id}_order`,
        ORDER_CONSUMER_GROUP: uniqueId('pipe-order'),
        PRODUCT_GRPC_URL: `127.0.0.1:${productPort}`,
        OUTBOX_POLL_INTERVAL_MS: '50',
        PAYMENT_PROVIDER: 'fake',
      }),
      { logger: quietLogger, payments: createDeterministicPaymentProvider() },
    );
    running.push(ord);
    orders = createGrpcClient(
      'shop.order.v1.OrderService',
      order.OrderServiceService,
      `127.0.0.1:${ord.grpcPort}`,
    );
    notifications = await startNotificationHarness('pipe', {
      ORDER_EVENTS_TOPIC: topics.orderEvents,
      USER_GRPC_URL: '127.0.0.1:1',
    });
  });

  afterAll(async () => {
    orders.close();
    stock.close();
    await notifications.stop();
    for (const s of running.reverse()) await s.stop();
    await new Promise<void>((resolve) => productServer.tryShutdown(() => resolve()));
  });

  const customer = (email: string) =>
    identityMetadata(
      { kind: 'user', subject: uniqueId('shopper'), roles: [], email },
      new Metadata(),
    );

  const place = async (
    email: string,
    productId: string,
    quantity: number,
    token = 'pm_card_visa',
  ) =>
    (
      await orders.placeOrder(
        order.PlaceOrderRequest.fromPartial({
          lines: [{ productId, quantity }],
          shippingAddress: {
            recipientName: 'A',
            line1: 'Street 1',
            city: 'Berlin',
            postalCode: '10115',
            countryCode: 'DE',
          },
          paymentMethodToken: token,
          idempotencyKey: uniqueId('k'),
        }),
        { metadata: customer(email) },
      )
    ).order!;

  const final = (id: string) =>
    waitFor(
      `order ${id} to settle`,
      async () => {
        const { order: o } = await orders.getOrder({ id }, { metadata: admin });
        return o!.status === S.ORDER_STATUS_PENDING ? undefined : o!;
      },
      { timeoutMs: 40_000 },
    );

  const available = async (productId: string) =>
    (await stock.getStock({ productId }, { metadata: admin })).stock!.available;

  it('happy path: reserved, paid, CONFIRMED, stock sold, one confirmation email', async () => {
    const email = `${uniqueId('happy')}@shop.local`;
    const placed = await place(email, lamp.id, 2);
    const settled = await final(placed.id);
    expect(settled.status).toBe(S.ORDER_STATUS_CONFIRMED);
    await waitFor('stock to be sold', async () => {
      const s = (await stock.getStock({ productId: lamp.id }, { metadata: admin })).stock!;
      return s.onHand === 8 && s.reserved === 0 ? s : undefined;
    });
    const mails = await expectMails(email, 2);
    expect(mails.filter((m) => m.Subject.endsWith('is confirmed'))).toHaveLength(1);
    // The ledger accounts for it: two units reserved, then sold (on hand and reserved both down).
    const { movements } = await stock.listMovements(
      inventory.ListMovementsRequest.fromPartial({
        productId: lamp.id,
        page: { pageSize: 100, pageToken: '' },
      }),
      { metadata: admin },
    );
    const mine = movements.filter((m) => m.orderId === placed.id).reverse();
    expect(mine.map((m) => [m.kind, m.deltaOnHand, m.deltaReserved])).toEqual([
      [inventory.MovementKind.MOVEMENT_KIND_RESERVATION, 0, 2],
      [inventory.MovementKind.MOVEMENT_KIND_COMMIT, -2, -2],
    ]);
  });

  it('out of stock: CANCELLED (OUT_OF_STOCK), no stock change, customer emailed', async () => {
    const email = `${uniqueId('oos')}@shop.local`;
    const before = await available(rare.id);
    const placed = await place(email, rare.id, before + 1);
    const settled = await final(placed.id);
    expect(settled).toMatchObject({
      status: S.ORDER_STATUS_CANCELLED,
      cancellationReason: R.CANCELLATION_REASON_OUT_OF_STOCK,
    });
    expect(await available(rare.id)).toBe(before);
    const mails = await expectMails(email, 2);
    expect(mails.filter((m) => m.Subject.endsWith('was cancelled'))).toHaveLength(1);
  });

  it('payment declined: CANCELLED (PAYMENT_DECLINED) and the reserved stock is released', async () => {
    const email = `${uniqueId('declined')}@shop.local`;
    const before = await available(lamp.id);
    const placed = await place(email, lamp.id, 3, TEST_TOKENS.decline);
    const settled = await final(placed.id);
    expect(settled).toMatchObject({
      status: S.ORDER_STATUS_CANCELLED,
      cancellationReason: R.CANCELLATION_REASON_PAYMENT_DECLINED,
    });
    await waitFor('the reservation to be released', async () =>
      (await available(lamp.id)) === before ? true : undefined,
    );
    await expectMails(email, 2);
  });
});
