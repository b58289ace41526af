import {
  parsers,
  readBaseServiceConfig,
  readConfig,
  type BaseServiceConfig,
} from '@shop/platform/config';

/** Configuration of the category service process. */
export interface CategoryConfig extends BaseServiceConfig {
  mongoUrl: string;
  mongoDatabase: string;
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
      grpcPort: 50052,
      metricsPort: 9452,
    }),
    mongoUrl: reader.required('MONGO_URL', parsers.string),
    mongoDatabase: reader.optional('MONGO_DATABASE', parsers.string, 'shop_category'),
    productServiceUrl: reader.optional('PRODUCT_GRPC_URL', parsers.string, '127.0.0.1:50051'),
    enforcePolicy: reader.optional('ENFORCE_POLICY', parsers.bool, true),
  }));
}
