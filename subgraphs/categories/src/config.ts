import { readBaseSubgraphConfig, type BaseSubgraphConfig } from '@shop/graphql/config';
import { parsers, readConfig } from '@shop/platform/config';
import { localGrpcAddress, subgraphPorts } from '@shop/platform/topology';

/** Configuration of the categories subgraph process. */
export interface CategoriesSubgraphConfig extends BaseSubgraphConfig {
  /** Category service address. */
  categoryServiceUrl: string;
}

/** Reads the categories subgraph's configuration; throws a ConfigError naming every bad variable. */
export function loadCategoriesSubgraphConfig(
  env: Readonly<Record<string, string | undefined>>,
): CategoriesSubgraphConfig {
  return readConfig(env, (reader) => ({
    ...readBaseSubgraphConfig(reader, { name: 'categories', ...subgraphPorts('categories') }),
    categoryServiceUrl: reader.optional(
      'CATEGORY_GRPC_URL',
      parsers.string,
      localGrpcAddress('category'),
    ),
  }));
}
