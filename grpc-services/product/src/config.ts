import {
  parsers,
  readBaseServiceConfig,
  readConfig,
  type BaseServiceConfig,
} from '@shop/platform/config';

/** Configuration of the product service process. */
export interface ProductConfig extends BaseServiceConfig {
  mongoUrl: string;
  mongoDatabase: string;
  kafkaBrokers: string[];
  /** Topic the inventory service publishes StockLevelChanged to (the in-stock projection). */
  inventoryUpdatesTopic: string;
  /** Consumer group of the in-stock projection. */
  stockConsumerGroup: string;
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
      grpcPort: 50051,
      metricsPort: 9451,
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
    categoryServiceUrl: reader.optional('CATEGORY_GRPC_URL', parsers.string, '127.0.0.1:50052'),
    enforcePolicy: reader.optional('ENFORCE_POLICY', parsers.bool, true),
  }));
}
