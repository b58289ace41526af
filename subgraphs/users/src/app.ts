import { startServiceSubgraph, type RunningSubgraph, type SubgraphOverrides } from '@shop/graphql';
import { user } from '@shop/proto';
import type { UsersSubgraphConfig } from './config';
import { usersContext, usersResolvers } from './resolvers';

/** Replaceable dependencies, for tests. */
export type UsersSubgraphOverrides = SubgraphOverrides;

/** Connects to the user service and serves the users subgraph. */
export function startUsersSubgraph(
  config: UsersSubgraphConfig,
  overrides: UsersSubgraphOverrides = {},
): Promise<RunningSubgraph> {
  const subgraph = {
    serviceName: 'shop.user.v1.UserService',
    definition: user.UserServiceService,
    resolvers: usersResolvers,
    context: usersContext,
  };
  const where = { config, serviceUrl: config.userServiceUrl, dir: __dirname };
  return startServiceSubgraph(subgraph, where, overrides);
}
