import {
  parsers,
  readBaseServiceConfig,
  readConfig,
  type BaseServiceConfig,
} from '@shop/platform/config';
import { localGrpcAddress, servicePorts } from '@shop/platform/topology';

/** Configuration of the product service process. */
export interface ProductConfig extends BaseServiceConfig {
  mongoUrl: string;
  mongoDatabase: string;
  kafkaBrokers: string[];
  /** Topic the inventory service publishes StockLevelChanged to (the in-stock projection). */
  inventoryUpdatesTopic: string;
  /** Consumer group of the in-stock projection. */
  stockConsumerGroup: string;
  /** Topic ProductChanged is published to (shared with the category service's events). */
  catalogEventsTopic: string;
  /** Pause between passes of the relay that republishes ProductChanged left pending. */
  catalogOutboxIntervalMs: number;
  /** Longest pause of that relay while publishing fails (it doubles from the interval). */
  catalogOutboxMaxBackoffMs: number;
  /** Category service address: category existence checks and subtree filters. */
  categoryServiceUrl: string;
  /** When true, admin-only RPCs (see policy.ts) refuse other callers (default on). */
  enforcePolicy: boolean;
}

/** Reads the product service's configuration; throws a ConfigError naming every bad variable. */
export function loadProductConfig(
  env: Readonly<Record<string, string | undefined>>,
): ProductConfig {
  return readConfig(env, (reader) => ({
    ...readBaseServiceConfig(reader, {
      serviceName: 'product-service',
      ...servicePorts('product'),
    }),
    mongoUrl: reader.required('MONGO_URL', parsers.string),
    mongoDatabase: reader.optional('MONGO_DATABASE', parsers.string, 'shop_product'),
    kafkaBrokers: reader.required('KAFKA_BROKERS', parsers.list),
    inventoryUpdatesTopic: reader.optional(
      'INVENTORY_UPDATES_TOPIC',
      parsers.string,
      'inventory-updates',
    ),
    stockConsumerGroup: reader.optional(
      'STOCK_CONSUMER_GROUP',
      parsers.string,
      'product-service.stock-projection',
    ),
    catalogEventsTopic: reader.optional('CATALOG_EVENTS_TOPIC', parsers.string, 'catalog-events'),
    catalogOutboxIntervalMs: reader.optional(
      'CATALOG_OUTBOX_INTERVAL_MS',
      parsers.int(10, 60_000),
      2_000,
    ),
    catalogOutboxMaxBackoffMs: reader.optional(
      'CATALOG_OUTBOX_MAX_BACKOFF_MS',
      parsers.int(10, 600_000),
      10_000,
    ),
    categoryServiceUrl: reader.optional(
      'CATEGORY_GRPC_URL',
      parsers.string,
      localGrpcAddress('category'),
    ),
    enforcePolicy: reader.optional('ENFORCE_POLICY', parsers.bool, true),
  }));
}
