import { parsers, readAuthConfig, type AuthConfig, type EnvReader } from '@shop/platform/config';

/** Settings every subgraph process shares. */
export interface BaseSubgraphConfig {
  /** Subgraph name as in supergraph.yaml, e.g. `products`. */
  name: string;
  /** Service name in logs, metrics and traces, e.g. `products-subgraph`. */
  serviceName: string;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  host: string;
  /** GraphQL HTTP port (also answers `/healthz`). */
  port: number;
  /** `/metrics` and `/healthz` port. */
  metricsPort: number;
  /** Deadline of each gRPC call. */
  grpcDeadlineMs: number;
  otlpTracesUrl: string | undefined;
  /** The Elasticsearch-API log store the logs are also shipped to; stdout only when unset. */
  logStoreUrl: string | undefined;
  /** How callers (the gateway, forwarding the user's token) are authenticated. */
  auth: AuthConfig;
}

/** Reads the shared subgraph settings (`SUBGRAPH_HOST`, `SUBGRAPH_PORT`, `METRICS_PORT`, ...). */
export function readBaseSubgraphConfig(
  env: EnvReader,
  defaults: { name: string; port: number; metricsPort: number },
): BaseSubgraphConfig {
  return {
    name: defaults.name,
    serviceName: `${defaults.name}-subgraph`,
    logLevel: env.optional(
      'LOG_LEVEL',
      parsers.oneOf('trace', 'debug', 'info', 'warn', 'error', 'fatal'),
      'info',
    ),
    host: env.optional('SUBGRAPH_HOST', parsers.string, '127.0.0.1'),
    port: env.optional('SUBGRAPH_PORT', parsers.port, defaults.port),
    metricsPort: env.optional('METRICS_PORT', parsers.port, defaults.metricsPort),
    grpcDeadlineMs: env.optional('GRPC_DEADLINE_MS', parsers.int(50, 60_000), 3_000),
    otlpTracesUrl: env.maybe('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', parsers.url),
    logStoreUrl: env.maybe('LOG_STORE_URL', parsers.url),
    auth: readAuthConfig(env),
  };
}
