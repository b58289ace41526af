import { readBaseSubgraphConfig, type BaseSubgraphConfig } from '@shop/graphql/config';
import { parsers, readConfig } from '@shop/platform/config';
import { localGrpcAddress, subgraphPorts } from '@shop/platform/topology';

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
    ...readBaseSubgraphConfig(reader, { name: 'products', ...subgraphPorts('products') }),
    productServiceUrl: reader.optional(
      'PRODUCT_GRPC_URL',
      parsers.string,
      localGrpcAddress('product'),
    ),
  }));
}
