import {
  parsers,
  readBaseServiceConfig,
  readConfig,
  type BaseServiceConfig,
} from '@shop/platform/config';
import { servicePorts } from '@shop/platform/topology';

/** Everything the inventory service reads from its environment. */
export interface InventoryConfig extends BaseServiceConfig {
  mongoUrl: string;
  mongoDatabase: string;
  kafkaBrokers: string[];
  /** Topic the reservation consumer reads (OrderCreated, OrderConfirmed, OrderCancelled). */
  orderEventsTopic: string;
  /** Topic stock levels and reservation outcomes are published to. */
  inventoryUpdatesTopic: string;
  /** Consumer group of the reservation consumer; every instance shares it. */
  consumerGroup: string;
  /**
   * How often the outbox relay scans for StockLevelChanged events the fast path left behind
   * (a crash or a Kafka outage); every write is published at once without waiting for it.
   */
  relayIntervalMs: number;
  /** Orders of one fetched batch the reservation consumer handles at the same time. */
  consumerKeyConcurrency: number;
  /** Partitions of the topics this service creates when they are missing. */
  topicPartitions: number;
  /** Enforce the access policy (policy.ts); off until the auth issue lands. */
  enforcePolicy: boolean;
}

/** Parses the inventory service's configuration once, failing fast on every problem. */
export function loadInventoryConfig(
  env: Readonly<Record<string, string | undefined>>,
): InventoryConfig {
  return readConfig(env, (e) => ({
    ...readBaseServiceConfig(e, { serviceName: 'inventory', ...servicePorts('inventory') }),
    mongoUrl: e.required('MONGO_URL', parsers.string),
    mongoDatabase: e.optional('MONGO_DATABASE', parsers.string, 'shop_inventory'),
    kafkaBrokers: e.required('KAFKA_BROKERS', parsers.list),
    orderEventsTopic: e.optional('ORDER_EVENTS_TOPIC', parsers.string, 'order-events'),
    inventoryUpdatesTopic: e.optional(
      'INVENTORY_UPDATES_TOPIC',
      parsers.string,
      'inventory-updates',
    ),
    consumerGroup: e.optional('INVENTORY_CONSUMER_GROUP', parsers.string, 'inventory-service'),
    relayIntervalMs: e.optional('OUTBOX_RELAY_INTERVAL_MS', parsers.int(10, 60_000), 1_000),
    consumerKeyConcurrency: e.optional(
      'INVENTORY_CONSUMER_KEY_CONCURRENCY',
      parsers.int(1, 1_000),
      64,
    ),
    topicPartitions: e.optional('KAFKA_TOPIC_PARTITIONS', parsers.int(1, 1_000), 6),
    enforcePolicy: e.optional('ENFORCE_POLICY', parsers.bool, true),
  }));
}
