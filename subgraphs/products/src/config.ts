import { readBaseSubgraphConfig, type BaseSubgraphConfig } from '@shop/graphql/config';
import { parsers, readConfig } from '@shop/platform/config';

/** Configuration of the products subgraph process. */
export interface ProductsSubgraphConfig extends BaseSubgraphConfig {
  /** Product service address. */
  productServiceUrl: string;
}

/** Reads the products subgraph's configuration; throws a ConfigError naming every bad variable. */
export function loadProductsSubgraphConfig(
  env: Readonly<Record<string, string | undefined>>,
): ProductsSubgraphConfig {
  return readConfig(env, (reader) => ({
    ...readBaseSubgraphConfig(reader, { name: 'products', port: 4001, metricsPort: 9461 }),
    productServiceUrl: reader.optional('PRODUCT_GRPC_URL', parsers.string, '127.0.0.1:50051'),
  }));
}
