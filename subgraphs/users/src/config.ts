import { readBaseSubgraphConfig, type BaseSubgraphConfig } from '@shop/graphql/config';
import { parsers, readConfig } from '@shop/platform/config';
import { localGrpcAddress, subgraphPorts } from '@shop/platform/topology';

/** Configuration of the users subgraph process. */
export interface UsersSubgraphConfig extends BaseSubgraphConfig {
  /** User service address. */
  userServiceUrl: string;
}

/** Reads the users subgraph's configuration; throws a ConfigError naming every bad variable. */
export function loadUsersSubgraphConfig(
  env: Readonly<Record<string, string | undefined>>,
): UsersSubgraphConfig {
  return readConfig(env, (reader) => ({
    ...readBaseSubgraphConfig(reader, { name: 'users', ...subgraphPorts('users') }),
    userServiceUrl: reader.optional('USER_GRPC_URL', parsers.string, localGrpcAddress('user')),
  }));
}
