import {
  parsers,
  readAuthConfig,
  readConfig,
  readServiceAccountConfig,
  type AuthConfig,
  type ServiceAccountConfig,
} from '@shop/platform/config';
import { localGrpcAddress } from '@shop/platform/topology';

/** Configuration of the seed command. */
export interface SeedConfig {
  productAddress: string;
  categoryAddress: string;
  inventoryAddress: string;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  /** How the services authenticate callers, and the account the seed calls them with. */
  auth: AuthConfig;
  serviceAccount: ServiceAccountConfig;
}

/** Reads the service addresses (the same variables every caller uses). */
export function loadSeedConfig(env: Readonly<Record<string, string | undefined>>): SeedConfig {
  return readConfig(env, (reader) => ({
    productAddress: reader.optional(
      'PRODUCT_GRPC_URL',
      parsers.string,
      localGrpcAddress('product'),
    ),
    categoryAddress: reader.optional(
      'CATEGORY_GRPC_URL',
      parsers.string,
      localGrpcAddress('category'),
    ),
    inventoryAddress: reader.optional(
      'INVENTORY_GRPC_URL',
      parsers.string,
      localGrpcAddress('inventory'),
    ),
    logLevel: reader.optional(
      'LOG_LEVEL',
      parsers.oneOf('trace', 'debug', 'info', 'warn', 'error', 'fatal'),
      'info',
    ),
    auth: readAuthConfig(reader),
    serviceAccount: readServiceAccountConfig(reader),
  }));
}
