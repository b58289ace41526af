import { parsers, readAuthConfig, readConfig, type AuthConfig } from '@shop/platform/config';
import path from 'node:path';
import { GATEWAY_PORTS, SUBGRAPH_NAMES } from '@shop/platform/topology';
import type { EntityCacheSettings } from './cache/entity-cache';
import type { SubscriptionSettings } from './subscriptions';

/** Configuration of the gateway process. */
export interface GatewayConfig {
  serviceName: string;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  host: string;
  /** Public GraphQL port (also `/healthz`, `/readyz`, `/metrics`). */
  port: number;
  /** Prometheus `/metrics` and `/healthz` port, like every other process. */
  metricsPort: number;
  /** The composed supergraph SDL (`npm run supergraph:compose`). */
  supergraphPath: string;
  /** Routing URL overrides by subgraph name (`<NAME>_SUBGRAPH_URL`). */
  subgraphUrls: Record<string, string>;
  subgraphTimeoutMs: number;
  maxDepth: number;
  maxAliases: number;
  maxCost: number;
  maxBatchSize: number;
  maxBodyBytes: number;
  maxTokens: number;
  corsOrigins: string[];
  introspection: boolean;
  /**
   * Trust `x-shop-*` identity headers from clients instead of verifying bearer tokens. For tests
   * only; never in a deployment.
   */
  trustIdentityHeaders: boolean;
  /** Token verification for everyone else (`OIDC_ISSUER_URL`, `OIDC_AUDIENCE`). */
  auth: AuthConfig;
  queryPlanCacheMiB: number;
  otlpTracesUrl: string | undefined;
  /** The Elasticsearch-API log store the logs are also shipped to; stdout only when unset. */
  logStoreUrl: string | undefined;
  /**
   * graphql-ws subscriptions on the GraphQL path, fed from Kafka; on whenever `KAFKA_BROKERS` is
   * set (unless `SUBSCRIPTIONS_ENABLED=false`).
   */
  subscriptions: SubscriptionSettings | undefined;
  /**
   * The entity cache of public catalog data, invalidated by the change events on Kafka; on by
   * default whenever `KAFKA_BROKERS` is set (`ENTITY_CACHE_ENABLED=false` turns it off).
   */
  entityCache: EntityCacheSettings | undefined;
  /** Identical concurrent subgraph fetches of one identity share one call (`GATEWAY_DEDUPE`). */
  dedupe: boolean;
  /**
   * How long start-up waits for the Kafka consumers (entity cache feed, subscriptions) to join
   * before serving without them (`KAFKA_START_GRACE_MS`, default 10 s); they keep retrying.
   */
  kafkaStartGraceMs: number;
  /**
   * Persisted-only mode (`PERSISTED_OPERATIONS_MANIFESTS`, comma-separated paths; off when
   * unset): only operations of these client manifests run, anything else is refused.
   */
  persistedOperationManifests: string[];
}

// Works from src/ (ts-jest) and dist/src/ (compiled): the SDL sits at the package root.
const packageRoot = path.resolve(
  __dirname,
  path.basename(path.dirname(__dirname)) === 'dist' ? '../..' : '..',
);

/** Reads the gateway's configuration; throws a ConfigError naming every bad variable. */
export function loadGatewayConfig(
  env: Readonly<Record<string, string | undefined>>,
): GatewayConfig {
  return readConfig(env, (r) => {
    const subgraphUrls: Record<string, string> = {};
    const maxBodyBytes = r.optional(
      'GRAPHQL_MAX_BODY_BYTES',
      parsers.int(1_024, 50_000_000),
      1_000_000,
    );
    const kafkaBrokers = r.maybe('KAFKA_BROKERS', parsers.list);
    const subscriptionsEnabled = r.optional('SUBSCRIPTIONS_ENABLED', parsers.bool, true);
    const entityCacheEnabled = r.optional('ENTITY_CACHE_ENABLED', parsers.bool, true);
    const inventoryUpdatesTopic = r.optional(
      'INVENTORY_UPDATES_TOPIC',
      parsers.string,
      'inventory-updates',
    );
    for (const name of SUBGRAPH_NAMES) {
      const url = r.maybe(`${name.toUpperCase()}_SUBGRAPH_URL`, parsers.url);
      if (url !== undefined) subgraphUrls[name] = url;
    }
    return {
      serviceName: 'gateway',
      logLevel: r.optional(
        'LOG_LEVEL',
        parsers.oneOf('trace', 'debug', 'info', 'warn', 'error', 'fatal'),
        'info',
      ),
      host: r.optional('GATEWAY_HOST', parsers.string, '127.0.0.1'),
      port: r.optional('GATEWAY_PORT', parsers.port, GATEWAY_PORTS.http),
      metricsPort: r.optional('METRICS_PORT', parsers.port, GATEWAY_PORTS.metrics),
      supergraphPath: r.optional(
        'SUPERGRAPH_PATH',
        parsers.string,
        path.join(packageRoot, 'supergraph.graphql'),
      ),
      subgraphUrls,
      subgraphTimeoutMs: r.optional('SUBGRAPH_TIMEOUT_MS', parsers.int(100, 120_000), 10_000),
      maxDepth: r.optional('GRAPHQL_MAX_DEPTH', parsers.int(1, 100), 12),
      maxAliases: r.optional('GRAPHQL_MAX_ALIASES', parsers.int(0, 10_000), 30),
      maxCost: r.optional('GRAPHQL_MAX_COST', parsers.int(1, 10_000_000), 5_000),
      maxBatchSize: r.optional('GRAPHQL_MAX_BATCH', parsers.int(1, 100), 10),
      maxBodyBytes,
      maxTokens: r.optional('GRAPHQL_MAX_TOKENS', parsers.int(100, 1_000_000), 50_000),
      corsOrigins: r.optional('CORS_ORIGINS', parsers.list, [
        'http://localhost:3000',
        'http://127.0.0.1:3000',
      ]),
      introspection: r.optional('GRAPHQL_INTROSPECTION', parsers.bool, true),
      trustIdentityHeaders: r.optional('GATEWAY_TRUST_IDENTITY_HEADERS', parsers.bool, false),
      auth: readAuthConfig(r),
      queryPlanCacheMiB: r.optional('QUERY_PLAN_CACHE_MIB', parsers.int(1, 4_096), 64),
      otlpTracesUrl: r.maybe('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', parsers.url),
      logStoreUrl: r.maybe('LOG_STORE_URL', parsers.url),
      subscriptions:
        kafkaBrokers === undefined || !subscriptionsEnabled
          ? undefined
          : {
              kafkaBrokers,
              // The declarations themselves load with the gateway, after tracing started: they
              // decode events with the contracts, which a config must not load (see main.ts).
              topicVariables: Object.fromEntries(
                Object.entries(env).flatMap(([name, value]) =>
                  name.endsWith('_TOPIC') && value !== undefined && value.trim() !== ''
                    ? [[name, value.trim()]]
                    : [],
                ),
              ),
              perConnection: r.optional('SUBSCRIPTIONS_PER_CONNECTION', parsers.int(1, 1_000), 25),
              maxQueued: r.optional('SUBSCRIPTION_MAX_QUEUED', parsers.int(1, 100_000), 100),
              maxBufferedBytes: r.optional(
                'SUBSCRIPTION_MAX_BUFFERED_BYTES',
                parsers.int(1_024, 1_073_741_824),
                1_048_576,
              ),
              keepAliveMs: r.optional('WS_KEEPALIVE_MS', parsers.int(1_000, 600_000), 12_000),
              connectionInitTimeoutMs: r.optional(
                'WS_CONNECTION_INIT_TIMEOUT_MS',
                parsers.int(100, 60_000),
                3_000,
              ),
              maxMessageBytes: maxBodyBytes,
            },
      entityCache:
        kafkaBrokers === undefined || !entityCacheEnabled
          ? undefined
          : {
              maxBytes: r.optional(
                'ENTITY_CACHE_MAX_BYTES',
                parsers.int(1_048_576, 68_719_476_736),
                128 * 1_048_576,
              ),
              operationMaxBytes: r.optional(
                'OPERATION_CACHE_MAX_BYTES',
                parsers.int(0, 68_719_476_736),
                32 * 1_048_576,
              ),
              feed: {
                kafkaBrokers,
                topics: [
                  inventoryUpdatesTopic,
                  r.optional('CATALOG_EVENTS_TOPIC', parsers.string, 'catalog-events'),
                ],
                staleAfterMs: r.optional(
                  'ENTITY_CACHE_FEED_STALE_MS',
                  parsers.int(100, 60_000),
                  2_000,
                ),
              },
            },
      dedupe: r.optional('GATEWAY_DEDUPE', parsers.bool, true),
      kafkaStartGraceMs: r.optional('KAFKA_START_GRACE_MS', parsers.int(0, 600_000), 10_000),
      persistedOperationManifests: r.optional('PERSISTED_OPERATIONS_MANIFESTS', parsers.list, []),
    };
  });
}
