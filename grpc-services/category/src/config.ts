import {
  parsers,
  readBaseServiceConfig,
  readConfig,
  type BaseServiceConfig,
} from '@shop/platform/config';
import { localGrpcAddress, servicePorts } from '@shop/platform/topology';

/** Configuration of the category service process. */
export interface CategoryConfig extends BaseServiceConfig {
  mongoUrl: string;
  mongoDatabase: string;
  kafkaBrokers: string[];
  /** Topic CategoryChanged is published to (shared with the product service's events). */
  catalogEventsTopic: string;
  /** Pause between passes of the relay that republishes CategoryChanged left pending. */
  catalogOutboxIntervalMs: number;
  /** Longest pause of that relay while publishing fails (it doubles from the interval). */
  catalogOutboxMaxBackoffMs: number;
  /** Product service address, asked whether a category still holds products. */
  productServiceUrl: string;
  /** When true, admin-only RPCs (see policy.ts) refuse other callers (default on). */
  enforcePolicy: boolean;
}

/** Reads the category service's configuration; throws a ConfigError naming every bad variable. */
export function loadCategoryConfig(
  env: Readonly<Record<string, string | undefined>>,
): CategoryConfig {
  return readConfig(env, (reader) => ({
    ...readBaseServiceConfig(reader, {
      serviceName: 'category-service',
      ...servicePorts('category'),
    }),
    mongoUrl: reader.required('MONGO_URL', parsers.string),
    mongoDatabase: reader.optional('MONGO_DATABASE', parsers.string, 'shop_category'),
    kafkaBrokers: reader.required('KAFKA_BROKERS', parsers.list),
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
    productServiceUrl: reader.optional(
      'PRODUCT_GRPC_URL',
      parsers.string,
      localGrpcAddress('product'),
    ),
    enforcePolicy: reader.optional('ENFORCE_POLICY', parsers.bool, true),
  }));
}
