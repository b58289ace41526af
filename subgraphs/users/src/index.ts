/** The users subgraph: User entity and the signed-in user's profile. */
export { startUsersSubgraph } from './app';
export type { UsersSubgraphOverrides } from './app';
export { loadUsersSubgraphConfig } from './config';
export type { UsersSubgraphConfig } from './config';
