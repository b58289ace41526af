import { readBaseSubgraphConfig, type BaseSubgraphConfig } from '@shop/graphql/config';
import { parsers, readConfig } from '@shop/platform/config';

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
    ...readBaseSubgraphConfig(reader, { name: 'inventory', port: 4003, metricsPort: 9463 }),
    inventoryServiceUrl: reader.optional('INVENTORY_GRPC_URL', parsers.string, '127.0.0.1:50053'),
  }));
}
