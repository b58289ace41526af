import { Metadata, type ServiceError } from '@grpc/grpc-js';
import {
  createEventPublisher,
  createGrpcClient,
  createKafka,
  createLogger,
  graphqlCodeForGrpcStatus,
  identityMetadata,
  readServiceError,
  type Caller,
  type EventPublisher,
  type PromiseClient,
  type RemoteError,
} from '@shop/platform';
import { inventory } from '@shop/proto';
import { testEnv, uniqueId } from '@shop/testing';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { Writable } from 'node:stream';
import {
  loadInventoryConfig,
  startInventoryService,
  type RunningInventoryService,
} from '@shop/inventory-service';

/** A logger that drops everything (tests assert on responses and data, not logs). */
export const quietLogger = createLogger({
  service: 'inventory-test',
  level: 'fatal',
  stream: new Writable({ write: (_c, _e, done) => done() }),
});

/** An operator's metadata. */
export const adminMetadata = (): Metadata =>
  identityMetadata(
    { kind: 'user', subject: 'admin-1', roles: ['admin'] } satisfies Caller,
    new Metadata(),
  );

/** Names one test suite's private database, topics and consumer group. */
export interface Sandbox {
  database: string;
  orderEventsTopic: string;
  inventoryUpdatesTopic: string;
  consumerGroup: string;
}

/** Fresh names, so suites never see each other's data or events. */
export function sandbox(prefix: string): Sandbox {
  return {
    database: uniqueId(`${prefix}_inv`).replace(/-/g, '_'),
    orderEventsTopic: uniqueId(`${prefix}-order-events`),
    inventoryUpdatesTopic: uniqueId(`${prefix}-inventory-updates`),
    consumerGroup: uniqueId(`${prefix}-inventory`),
  };
}

/** Starts one inventory service instance on port 0 in the sandbox. */
export async function startInventory(
  box: Sandbox,
  options: { consume?: boolean; relayIntervalMs?: number } = {},
): Promise<{
  service: RunningInventoryService;
  client: PromiseClient<typeof inventory.InventoryServiceService>;
}> {
  const env = testEnv();
  const service = await startInventoryService(
    loadInventoryConfig({
      AUTH_TRUST_IDENTITY_METADATA: 'true',
      // These suites exercise domain rules; the RPC access policy has its own tests.
      ENFORCE_POLICY: 'false',
      MONGO_URL: env.mongoUrl,
      KAFKA_BROKERS: env.kafkaBrokers.join(','),
      GRPC_PORT: '0',
      METRICS_PORT: '0',
      LOG_LEVEL: 'fatal',
      MONGO_DATABASE: box.database,
      ORDER_EVENTS_TOPIC: box.orderEventsTopic,
      INVENTORY_UPDATES_TOPIC: box.inventoryUpdatesTopic,
      INVENTORY_CONSUMER_GROUP: box.consumerGroup,
      KAFKA_TOPIC_PARTITIONS: '3',
      OUTBOX_RELAY_INTERVAL_MS: String(options.relayIntervalMs ?? 50),
    }),
    { logger: quietLogger, consume: options.consume ?? true },
  );
  const client = createGrpcClient(
    'shop.inventory.v1.InventoryService',
    inventory.InventoryServiceService,
    `127.0.0.1:${service.grpcPort}`,
    { deadlineMs: 30_000 },
  );
  return { service, client };
}

/** The gRPC error a promise rejected with, decoded (code, reason, field violations). */
export async function remoteError(promise: Promise<unknown>): Promise<RemoteError> {
  try {
    await promise;
  } catch (err) {
    return readServiceError(err as ServiceError, graphqlCodeForGrpcStatus);
  }
  throw new Error('expected the call to fail');
}

/** A Kafka client and publisher for tests. */
export async function testKafka(): Promise<{ kafka: Kafka; publisher: EventPublisher }> {
  const kafka = createKafka({
    brokers: testEnv().kafkaBrokers,
    clientId: 'inventory-test',
    logger: quietLogger,
  });
  return {
    kafka,
    publisher: await createEventPublisher(kafka, { producerName: 'inventory-test' }),
  };
}

/** Collects every record of a topic from the beginning, with a throwaway group, until stopped. */
export async function collect(
  kafka: Kafka,
  topic: string,
): Promise<{ messages: KafkaMessage[]; stop(): Promise<void> }> {
  const consumer = kafka.consumer({ groupId: uniqueId('reader') });
  const messages: KafkaMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void messages.push(message) });
  return { messages, stop: () => consumer.disconnect() };
}
