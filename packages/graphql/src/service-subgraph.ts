import type { ServiceDefinition } from '@grpc/grpc-js';
import { createAuthenticator } from '@shop/platform/auth';
import { createGrpcClient, type Authenticator, type PromiseClient } from '@shop/platform/grpc';
import { createLogger, type Logger } from '@shop/platform/logging';
import type { BaseSubgraphConfig } from './config';
import {
  loadSubgraphTypeDefs,
  startSubgraph,
  type RunningSubgraph,
  type SubgraphContext,
  type SubgraphResolvers,
} from './server';

/** Replaceable dependencies of a subgraph process, for tests. */
export interface SubgraphOverrides {
  logger?: Logger;
  authenticate?: Authenticator;
}

/**
 * A subgraph that reads through one gRPC service: which service, and what it serves with a
 * client of it. Each subgraph package declares one; {@link startServiceSubgraph} runs it.
 */
export interface ServiceSubgraph<D extends ServiceDefinition, TContext extends SubgraphContext> {
  /** The fully qualified service name (`shop.inventory.v1.InventoryService`), for retry policy. */
  readonly serviceName: string;
  /** The service's generated definition. */
  readonly definition: D;
  /** The resolvers, over a client of the service. */
  resolvers(client: PromiseClient<D>, logger: Logger): SubgraphResolvers<TContext>;
  /** The per-request context (typically the base context plus DataLoaders over the client). */
  context(client: PromiseClient<D>, logger: Logger): (base: SubgraphContext) => TContext;
}

/**
 * Starts a subgraph process's server: its logger, a client of its service at `serviceUrl`, its
 * SDL from `dir` (the package's compiled or source folder), and caller authentication from its
 * config; the client closes when the server stops.
 */
export function startServiceSubgraph<D extends ServiceDefinition, TContext extends SubgraphContext>(
  subgraph: ServiceSubgraph<D, TContext>,
  options: { config: BaseSubgraphConfig; serviceUrl: string; dir: string },
  overrides: SubgraphOverrides = {},
): Promise<RunningSubgraph> {
  const { config } = options;
  const logger =
    overrides.logger ?? createLogger({ service: config.serviceName, level: config.logLevel });
  const client = createGrpcClient(subgraph.serviceName, subgraph.definition, options.serviceUrl, {
    deadlineMs: config.grpcDeadlineMs,
  });
  return startSubgraph({
    name: config.name,
    typeDefs: loadSubgraphTypeDefs(options.dir),
    resolvers: subgraph.resolvers(client, logger),
    createContext: subgraph.context(client, logger),
    host: config.host,
    port: config.port,
    metricsPort: config.metricsPort,
    logStoreUrl: config.logStoreUrl,
    logger,
    authenticate: overrides.authenticate ?? createAuthenticator(config.auth, logger),
    onStop: [() => client.close()],
  });
}
