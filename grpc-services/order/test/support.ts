import { Metadata, Server, ServerCredentials, type ServiceError } from '@grpc/grpc-js';
import {
  createEventPublisher,
  createGrpcClient,
  createKafka,
  createLogger,
  identityMetadata,
  outgoingEvent,
  graphqlCodeForGrpcStatus,
  readServiceError,
  type Caller,
  type EventPublisher,
  type PromiseClient,
} from '@shop/platform';
import { inventoryEvents, order, product, type MessageType } from '@shop/proto';
import { testEnv, uniqueId } from '@shop/testing';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { MongoClient, type Db } from 'mongodb';
import { Writable } from 'node:stream';
import {
  createDeterministicPaymentProvider,
  loadOrderConfig,
  startOrderService,
  type DeterministicPaymentProvider,
  type OrderConfig,
  type OrderServiceOverrides,
  type RunningOrderService,
} from '../src';

/** A logger that drops everything (tests assert on behaviour, not logs). */
export const quietLogger = createLogger({
  service: 'order-test',
  level: 'fatal',
  stream: new Writable({ write: (_c, _e, done) => done() }),
});

/** Callers used across the tests. */
export const alice: Caller = {
  kind: 'user',
  subject: 'alice',
  roles: ['customer'],
  email: 'alice@shop.local',
};
export const bob: Caller = {
  kind: 'user',
  subject: 'bob',
  roles: ['customer'],
  email: 'bob@shop.local',
};
export const admin: Caller = { kind: 'user', subject: 'admin', roles: ['admin'] };

/** gRPC metadata carrying a caller's identity. */
export const as = (caller: Caller): { metadata: Metadata } => ({
  metadata: identityMetadata(caller, new Metadata()),
});

/** A catalog entry the fake product service serves. */
export const kettle = product.Product.fromPartial({
  id: 'p-kettle',
  sku: 'KET-1',
  name: 'Kettle',
  price: { amount: 2_499, currency: 'EUR' },
});
export const mug = product.Product.fromPartial({
  id: 'p-mug',
  sku: 'MUG-1',
  name: 'Mug',
  price: { amount: 899, currency: 'EUR' },
});
export const teaInDollars = product.Product.fromPartial({
  id: 'p-tea-usd',
  sku: 'TEA-1',
  name: 'Tea',
  price: { amount: 500, currency: 'USD' },
});
export const retired = product.Product.fromPartial({
  id: 'p-retired',
  sku: 'OLD-1',
  name: 'Retired',
  price: { amount: 100, currency: 'EUR' },
  deleted: true,
});

/**
 * A real gRPC server implementing ProductService.BatchGetProducts over a fixed list (the product
 * service is developed concurrently; the order service only needs this one RPC from it).
 */
export async function startProductStub(
  products: readonly product.Product[] = [kettle, mug, teaInDollars, retired],
): Promise<{ address: string; stop(): Promise<void> }> {
  const server = new Server();
  const byId = new Map(products.map((p) => [p.id, p]));
  server.addService(product.ProductServiceService, {
    batchGetProducts: (
      call: { request: product.BatchGetProductsRequest },
      callback: (err: null, res: product.BatchGetProductsResponse) => void,
    ) => {
      const ids = [...new Set(call.request.ids)];
      callback(null, {
        products: ids.filter((id) => byId.has(id)).map((id) => byId.get(id)!),
        notFoundIds: ids.filter((id) => !byId.has(id)),
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

/** A started order service with everything a test needs around it. */
export interface OrderHarness {
  config: OrderConfig;
  service: RunningOrderService;
  client: PromiseClient<typeof order.OrderServiceService>;
  payments: DeterministicPaymentProvider;
  kafka: Kafka;
  /** Publishes inventory outcomes as the inventory service would. */
  inventory: EventPublisher;
  db: Db;
  stop(): Promise<void>;
}

/** Starts the order service on ephemeral ports with its own database, topics and group. */
export async function startOrderHarness(
  prefix: string,
  options: { env?: Record<string, string>; overrides?: OrderServiceOverrides } = {},
): Promise<OrderHarness> {
  const env = testEnv();
  const products = await startProductStub();
  const id = uniqueId(prefix).replace(/-/g, '_');
  const config = loadOrderConfig({
    AUTH_TRUST_IDENTITY_METADATA: 'true',
    MONGO_URL: env.mongoUrl,
    MONGO_DATABASE: `${id}_order`,
    KAFKA_BROKERS: env.kafkaBrokers.join(','),
    GRPC_PORT: '0',
    METRICS_PORT: '0',
    LOG_LEVEL: 'fatal',
    PRODUCT_GRPC_URL: products.address,
    ORDER_EVENTS_TOPIC: uniqueId(`${prefix}-order-events`),
    INVENTORY_UPDATES_TOPIC: uniqueId(`${prefix}-inventory-updates`),
    ORDER_CONSUMER_GROUP: uniqueId(`${prefix}-order-service`),
    CONSUMER_INITIAL_BACKOFF_MS: '20',
    OUTBOX_POLL_INTERVAL_MS: '50',
    PAYMENT_PROVIDER: 'fake',
    PAYMENT_TIMEOUT_MS: '100',
    ...options.env,
  });
  const payments = createDeterministicPaymentProvider({ timeoutMs: 20 });
  const service = await startOrderService(config, {
    logger: quietLogger,
    payments,
    ...options.overrides,
  });
  const client = createGrpcClient(
    'shop.order.v1.OrderService',
    order.OrderServiceService,
    `127.0.0.1:${service.grpcPort}`,
  );
  const kafka = createKafka({
    brokers: env.kafkaBrokers,
    clientId: `${prefix}-test`,
    logger: quietLogger,
  });
  const inventory = await createEventPublisher(kafka, { producerName: 'inventory-service' });
  const mongo = new MongoClient(env.mongoUrl);
  await mongo.connect();
  return {
    config,
    service,
    client,
    payments,
    kafka,
    inventory,
    db: mongo.db(config.mongoDatabase),
    async stop() {
      client.close();
      await inventory.disconnect();
      await service.stop();
      await products.stop();
      await mongo
        .db(config.mongoDatabase)
        .dropDatabase()
        .catch(() => undefined);
      await mongo.close();
    },
  };
}

/** A valid PlaceOrder request; override what the test is about. */
export function placeOrderRequest(
  overrides: Partial<order.PlaceOrderRequest> = {},
): order.PlaceOrderRequest {
  return order.PlaceOrderRequest.fromPartial({
    lines: [
      { productId: kettle.id, quantity: 1 },
      { productId: mug.id, quantity: 2 },
    ],
    shippingAddress: {
      recipientName: 'Alice Example',
      line1: 'Hauptstr. 1',
      city: 'Berlin',
      postalCode: '10115',
      countryCode: 'DE',
    },
    paymentMethodToken: 'pm_card_visa',
    idempotencyKey: uniqueId('key'),
    ...overrides,
  });
}

/** Publishes an inventory outcome for an order, as the inventory service does. */
export async function publishInventoryEvent<T>(
  harness: OrderHarness,
  type: MessageType<T>,
  payload: T & { orderId: string },
  eventId?: string,
): Promise<string> {
  const [envelope] = await harness.inventory.publish(harness.config.topics.inventoryUpdates, [
    outgoingEvent(type, payload, {
      aggregateType: 'order',
      aggregateId: payload.orderId,
      ...(eventId === undefined ? {} : { eventId }),
    }),
  ]);
  return envelope.eventId;
}

/** StockReserved for every line of an order. */
export const reserved = (o: order.Order): inventoryEvents.StockReserved =>
  inventoryEvents.StockReserved.fromPartial({
    orderId: o.id,
    lines: o.lines.map((l) => ({ productId: l.productId, quantity: l.quantity })),
  });

/** Collects every record of a topic (from the beginning) until stopped. */
export async function recordTopic(
  kafka: Kafka,
  topic: string,
): Promise<{ messages: KafkaMessage[]; stop(): Promise<void> }> {
  const consumer = kafka.consumer({ groupId: uniqueId('recorder') });
  const messages: KafkaMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void messages.push(message) });
  return { messages, stop: () => consumer.disconnect() };
}

/** The gRPC status code of a failed call, or undefined when it succeeded. */
export async function grpcCode(call: Promise<unknown>): Promise<number | undefined> {
  try {
    await call;
    return undefined;
  } catch (err) {
    return (err as ServiceError).code;
  }
}

/** The decoded error details of a failed call. */
export async function failure(call: Promise<unknown>) {
  try {
    await call;
  } catch (err) {
    return readServiceError(err as ServiceError, graphqlCodeForGrpcStatus);
  }
  throw new Error('expected the call to fail');
}
