import {
  parsers,
  readBaseServiceConfig,
  readConfig,
  type BaseServiceConfig,
} from '@shop/platform/config';
import { localGrpcAddress, servicePorts } from '@shop/platform/topology';

/** Kafka topics the order service writes and reads; overridable so tests can isolate runs. */
export interface OrderTopics {
  /** Where order events are published (outbox relay). */
  orderEvents: string;
  /** Where reservation outcomes arrive from the inventory service. */
  inventoryUpdates: string;
}

/** Which payment provider adapter the process uses. */
export type PaymentProviderKind = 'stripe' | 'fake';

/** Configuration of the order service process. */
export interface OrderConfig extends BaseServiceConfig {
  mongoUrl: string;
  mongoDatabase: string;
  kafkaBrokers: string[];
  topics: OrderTopics;
  /** Consumer group of the reservation-outcome consumer. */
  consumerGroup: string;
  /** Attempts the consumer makes on one event before dead-lettering it. */
  consumerMaxAttempts: number;
  consumerInitialBackoffMs: number;
  /** Orders of one fetched batch the consumer handles at the same time. */
  consumerKeyConcurrency: number;
  /** Product service address, asked for prices when an order is placed. */
  productServiceUrl: string;
  /** How long an order may stay PENDING before the sweeper cancels it as EXPIRED. */
  pendingTtlMs: number;
  /** How often the expiry sweeper looks for overdue PENDING orders. */
  expirySweepIntervalMs: number;
  /** How often the outbox relay scans for events every write's fast path left unpublished. */
  outboxPollIntervalMs: number;
  payments: {
    provider: PaymentProviderKind;
    /** Technical payment failures (timeouts, provider errors) tolerated before PAYMENT_FAILED. */
    maxAttempts: number;
    /** Deadline of one call to the provider. */
    timeoutMs: number;
    stripeApiBase: string;
    stripeApiKey: string;
  };
}

/** Reads the order service's configuration; throws a ConfigError naming every bad variable. */
export function loadOrderConfig(env: Readonly<Record<string, string | undefined>>): OrderConfig {
  return readConfig(env, (reader) => ({
    ...readBaseServiceConfig(reader, {
      serviceName: 'order-service',
      ...servicePorts('order'),
    }),
    mongoUrl: reader.required('MONGO_URL', parsers.string),
    mongoDatabase: reader.optional('MONGO_DATABASE', parsers.string, 'shop_order'),
    kafkaBrokers: reader.required('KAFKA_BROKERS', parsers.list),
    topics: {
      orderEvents: reader.optional('ORDER_EVENTS_TOPIC', parsers.string, 'order-events'),
      inventoryUpdates: reader.optional(
        'INVENTORY_UPDATES_TOPIC',
        parsers.string,
        'inventory-updates',
      ),
    },
    consumerGroup: reader.optional('ORDER_CONSUMER_GROUP', parsers.string, 'order-service'),
    consumerMaxAttempts: reader.optional('CONSUMER_MAX_ATTEMPTS', parsers.int(1, 100), 8),
    consumerInitialBackoffMs: reader.optional(
      'CONSUMER_INITIAL_BACKOFF_MS',
      parsers.int(1, 60_000),
      200,
    ),
    consumerKeyConcurrency: reader.optional(
      'ORDER_CONSUMER_KEY_CONCURRENCY',
      parsers.int(1, 1_000),
      64,
    ),
    productServiceUrl: reader.optional(
      'PRODUCT_GRPC_URL',
      parsers.string,
      localGrpcAddress('product'),
    ),
    pendingTtlMs: reader.optional('ORDER_PENDING_TTL_MS', parsers.int(1_000), 15 * 60_000),
    expirySweepIntervalMs: reader.optional(
      'ORDER_EXPIRY_SWEEP_INTERVAL_MS',
      parsers.int(50, 3_600_000),
      10_000,
    ),
    outboxPollIntervalMs: reader.optional(
      'OUTBOX_POLL_INTERVAL_MS',
      parsers.int(10, 60_000),
      1_000,
    ),
    payments: {
      provider: reader.optional(
        'PAYMENT_PROVIDER',
        parsers.oneOf<PaymentProviderKind>('stripe', 'fake'),
        'stripe',
      ),
      maxAttempts: reader.optional('PAYMENT_MAX_ATTEMPTS', parsers.int(1, 20), 3),
      timeoutMs: reader.optional('PAYMENT_TIMEOUT_MS', parsers.int(100, 120_000), 10_000),
      stripeApiBase: reader.optional('STRIPE_API_BASE', parsers.url, 'http://127.0.0.1:12111'),
      stripeApiKey: reader.optional('STRIPE_API_KEY', parsers.string, 'sk_test_123'),
    },
  }));
}
