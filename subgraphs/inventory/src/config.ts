import { readBaseSubgraphConfig, type BaseSubgraphConfig } from '@shop/graphql/config';
import { parsers, readConfig } from '@shop/platform/config';
import { localGrpcAddress, subgraphPorts } from '@shop/platform/topology';

/** Configuration of the inventory subgraph process. */
export interface InventorySubgraphConfig extends BaseSubgraphConfig {
  /** Inventory service address. */
  inventoryServiceUrl: string;
}

/** Reads the inventory subgraph's configuration; throws a ConfigError naming every bad variable. */
export function loadInventorySubgraphConfig(
  env: Readonly<Record<string, string | undefined>>,
): InventorySubgraphConfig {
  return readConfig(env, (reader) => ({
    ...readBaseSubgraphConfig(reader, { name: 'inventory', ...subgraphPorts('inventory') }),
    inventoryServiceUrl: reader.optional(
      'INVENTORY_GRPC_URL',
      parsers.string,
      localGrpcAddress('inventory'),
    ),
  }));
}
