/**
 * The federated GraphQL layer's shared runtime: subgraph server, DataLoader over batch RPCs,
 * gRPC → GraphQL error mapping, scalars, identity forwarding and connections. The proto → SDL
 * generator is `@shop/graphql/generator` (CLI: `proto-graphql`).
 */
export { DEFAULT_FIRST, MAX_FIRST, paginate } from './connection';
export type { Connection, Page } from './connection';
export { codedError, present, rpc, toGraphQLError } from './errors';
export { fromGraphQLInput, graphqlFieldPath } from './inputs';
export type { InputField, InputShapes } from './inputs';
export { createGraphQLHandler } from './handler';
export type { GraphQLHandlerOptions } from './handler';
export { sendError, serveGraphQL, serveHttp } from './http';
export type {
  GraphQLEndpoint,
  GraphQLHttpServer,
  HttpServeOptions,
  Route,
  ServeOptions,
} from './http';
export {
  callerFromHeaders,
  grpcMetadata,
  identityFromHeaders,
  identityHeaders,
  signedInCaller,
} from './identity';
export type { HeaderSource } from './identity';
export { MAX_BATCH, batchLoader } from './loader';
export { createGraphQLMetrics, graphqlMetricsPlugin } from './metrics';
export type { GraphQLMetrics, RecordRequest } from './metrics';
export { DateTimeScalar, LongScalar, scalarResolvers } from './scalars';
export {
  loadSubgraphTypeDefs,
  maskError,
  mergeResolvers,
  startSubgraph,
  subgraphResolvers,
} from './server';
export type {
  RunningSubgraph,
  SubgraphContext,
  SubgraphOptions,
  SubgraphResolvers,
} from './server';
export { startServiceSubgraph } from './service-subgraph';
export type { ServiceSubgraph, SubgraphOverrides } from './service-subgraph';
export { readBaseSubgraphConfig } from './config';
export type { BaseSubgraphConfig } from './config';
