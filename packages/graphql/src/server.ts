import type { Metadata } from '@grpc/grpc-js';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { metadataAuthenticator, type Authenticator, type Caller } from '@shop/platform/grpc';
import { shipLogs, type Logger } from '@shop/platform/logging';
import { createMetrics, startOpsServer } from '@shop/platform/metrics';
import { GraphQLScalarType, parse, type DocumentNode, type GraphQLFormattedError } from 'graphql';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Registry } from 'prom-client';
import { createGraphQLHandler } from './handler';
import { serveHttp } from './http';
import { callerFromHeaders, grpcMetadata } from './identity';
import { createGraphQLMetrics } from './metrics';
import { scalarResolvers } from './scalars';

/** What every subgraph resolver sees: the caller, and metadata to call gRPC on its behalf. */
export interface SubgraphContext {
  readonly caller: Caller;
  /** Fresh gRPC metadata carrying the caller's identity (and token). */
  metadata(): Metadata;
}

/** Resolvers of a subgraph, including `__resolveReference`. */
export type SubgraphResolvers<TContext> = GraphQLResolverMap<TContext>;

/** Options for {@link startSubgraph}. */
export interface SubgraphOptions<TContext extends SubgraphContext> {
  /** Subgraph name as in supergraph.yaml, e.g. `products`. */
  name: string;
  typeDefs: DocumentNode;
  resolvers: SubgraphResolvers<TContext> | Array<SubgraphResolvers<TContext>>;
  /** Per-request context: typically the base context plus fresh DataLoaders. */
  createContext: (base: SubgraphContext) => TContext;
  host: string;
  port: number;
  /** Port of `/metrics` and `/healthz` for Prometheus and probes. */
  metricsPort: number;
  logger: Logger;
  /** Also ship the logger's lines to this Elasticsearch-API store (`LOG_STORE_URL`). */
  logStoreUrl?: string | undefined;
  /** Resolves the caller from the gateway's headers; defaults to trusting identity headers. */
  authenticate?: Authenticator;
  /** Cleanup after the server closed (gRPC clients). */
  onStop?: Array<() => void | Promise<void>>;
}

/** A started subgraph. */
export interface RunningSubgraph {
  readonly url: string;
  readonly port: number;
  readonly metricsPort: number;
  readonly registry: Registry;
  stop(): Promise<void>;
}

/**
 * Reads a subgraph's SDL (`generated/subgraph.graphql`: the hand-written federation layer plus
 * the proto-derived types) from the package root, from `src/` under ts-jest or `dist/src/`.
 */
export function loadSubgraphTypeDefs(srcDir: string): DocumentNode {
  const root = path.resolve(
    srcDir,
    path.basename(path.dirname(srcDir)) === 'dist' ? '../..' : '..',
  );
  return parse(readFileSync(path.join(root, 'generated', 'subgraph.graphql'), 'utf8'));
}

/** Hides everything but coded, client-safe errors. */
export function maskError(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  if (code === undefined || code === 'INTERNAL_SERVER_ERROR') {
    return {
      message: 'Internal server error',
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  }
  return formatted;
}

/** Merges resolver maps type by type (later maps win per field); scalars are kept whole. */
export function mergeResolvers<TContext>(
  maps: ReadonlyArray<SubgraphResolvers<TContext>>,
): SubgraphResolvers<unknown> {
  const merged: Record<string, unknown> = {};
  for (const map of maps) {
    for (const [type, value] of Object.entries(map)) {
      const existing = merged[type];
      merged[type] =
        value instanceof GraphQLScalarType || existing === undefined
          ? value
          : { ...(existing as object), ...(value as object) };
    }
  }
  return merged as SubgraphResolvers<unknown>;
}

/**
 * One subgraph's resolver maps, merged type by type (later maps win per field), as the map
 * `buildSubgraphSchema` takes. The hand-written map is typed with the resolver types
 * `@graphql-codegen/typescript-resolvers` generates into the subgraph's `generated/graphql.ts`;
 * codegen types `__resolveReference` as (reference, context, info), which the field-resolver
 * index signature of `GraphQLResolverMap` cannot express, so the maps are taken as objects here.
 */
export function subgraphResolvers<TContext>(...maps: object[]): SubgraphResolvers<TContext> {
  return mergeResolvers(maps as Array<SubgraphResolvers<TContext>>);
}

/**
 * Builds the federated schema and serves it (a lean graphql-js handler, see
 * {@link createGraphQLHandler}) with health and metrics endpoints.
 */
export async function startSubgraph<TContext extends SubgraphContext>(
  options: SubgraphOptions<TContext>,
): Promise<RunningSubgraph> {
  const { logger } = options;
  const metrics = createMetrics({ service: `${options.name}-subgraph` });
  const shipper =
    options.logStoreUrl === undefined
      ? undefined
      : shipLogs(logger, { url: options.logStoreUrl, registry: metrics.registry });
  const schema = buildSubgraphSchema({
    typeDefs: options.typeDefs,
    resolvers: mergeResolvers<TContext>([
      scalarResolvers,
      ...(Array.isArray(options.resolvers) ? options.resolvers : [options.resolvers]),
    ]),
  });
  const authenticate = options.authenticate ?? metadataAuthenticator;
  let serving = true;
  const http = await serveHttp(
    {
      host: options.host,
      port: options.port,
      routes: {
        '/healthz': (_req, res) => {
          res.writeHead(serving ? 200 : 503, { 'content-type': 'text/plain' });
          res.end(serving ? 'ok' : 'stopping');
        },
      },
    },
    createGraphQLHandler<TContext>({
      schema,
      logger,
      metrics: createGraphQLMetrics(metrics.registry),
      context: async (req) => {
        const caller = await callerFromHeaders(req.headers, authenticate);
        return options.createContext({ caller, metadata: () => grpcMetadata(caller) });
      },
      formatError: (formatted, error) => {
        const masked = maskError(formatted);
        if (masked !== formatted) logger.error({ err: error }, 'internal error masked');
        return masked;
      },
    }),
  );
  const ops = await startOpsServer({
    registry: metrics.registry,
    host: options.host,
    port: options.metricsPort,
    healthy: () => serving,
  });
  logger.info({ url: http.url, metricsPort: ops.port }, 'subgraph listening');
  let stopping: Promise<void> | undefined;
  return {
    url: http.url,
    port: http.port,
    metricsPort: ops.port,
    registry: metrics.registry,
    stop() {
      stopping ??= (async () => {
        serving = false;
        await http.close();
        for (const hook of options.onStop ?? []) await hook();
        await ops.close();
        await shipper?.close();
      })();
      return stopping;
    },
  };
}
