import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { InMemoryLRUCache } from '@apollo/utils.keyvaluecache';
import {
  callerFromHeaders,
  graphqlMetricsPlugin,
  identityFromHeaders,
  serveGraphQL,
  type Route,
} from '@shop/graphql';
import {
  createAuthenticator,
  createMetrics,
  createLogger,
  shipLogs,
  metadataAuthenticator,
  startOpsServer,
  type Caller,
  type Logger,
} from '@shop/platform';
import { GraphQLError, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import type { IncomingHttpHeaders } from 'node:http';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEntityCache, type EntityCache } from './cache/entity-cache';
import { cachePublicOperations } from './cache/operations';
import type { GatewayConfig } from './config';
import type { GatewayContext } from './context';
import { createSubgraphFetching } from './datasource';
import { shareIdenticalOperations } from './dedupe';
import { pollSubgraphHealth } from './health';
import { legacyJsonStatusPlugin } from './http-status';
import { queryLimitsRule } from './limits';
import {
  loadPersistedOperations,
  persistedOnlyPlugin,
  persistedOnlyRule,
} from './persisted-operations';
import { startSubscriptions, type SubscriptionServer } from './subscriptions';

/** Resolves the caller of a request (by default: the verified bearer token, or anonymous). */
export type GatewayAuthenticator = (headers: IncomingHttpHeaders) => Promise<Caller>;

/** Replaceable parts of the gateway. */
export interface GatewayOverrides {
  logger?: Logger;
  authenticate?: GatewayAuthenticator;
}

/** A started gateway. */
export interface RunningGateway {
  readonly url: string;
  readonly port: number;
  readonly metricsPort: number;
  /** Probes every subgraph's health now (instead of waiting for the next poll). */
  probeHealth(): Promise<void>;
  /** The graphql-ws server, when subscriptions are on. */
  readonly subscriptions: SubscriptionServer | undefined;
  /** The entity cache, when it is on. */
  readonly entityCache: EntityCache | undefined;
  stop(): Promise<void>;
}

/** Codes whose message clients may read as is; everything else is masked. */
const CLIENT_CODES = new Set([
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'CONFLICT',
  'FAILED_PRECONDITION',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'OUT_OF_STOCK',
  'PAYMENT_DECLINED',
  'RATE_LIMITED',
  'SERVICE_UNAVAILABLE',
  'DEADLINE_EXCEEDED',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);
const CLIENT_EXTENSIONS = ['fieldViolations', 'reason', 'details', 'argument', 'limit'];

/** Keeps coded client-safe errors (with only safe extensions) and masks everything else. */
export function formatGatewayError(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const ext = formatted.extensions ?? {};
  const code = typeof ext.limitCode === 'string' ? ext.limitCode : ext.code;
  const where = {
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    ...(formatted.path ? { path: formatted.path } : {}),
  };
  if (typeof code !== 'string' || (!CLIENT_CODES.has(code) && ext.limitCode === undefined)) {
    return {
      message: 'Internal server error',
      ...where,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  }
  const extensions: Record<string, unknown> = { code };
  for (const key of CLIENT_EXTENSIONS) if (ext[key] !== undefined) extensions[key] = ext[key];
  return { message: formatted.message, ...where, extensions };
}

/** Serves the committed supergraph through Apollo Gateway with limits, health and metrics. */
export async function startGateway(
  config: GatewayConfig,
  overrides: GatewayOverrides = {},
): Promise<RunningGateway> {
  const logger =
    overrides.logger ?? createLogger({ service: config.serviceName, level: config.logLevel });
  const metrics = createMetrics({ service: config.serviceName });
  const shipper =
    config.logStoreUrl === undefined
      ? undefined
      : shipLogs(logger, { url: config.logStoreUrl, registry: metrics.registry });
  const supergraphSdl = readFileSync(config.supergraphPath, 'utf8');
  const routingUrls: Record<string, string> = {};
  const cache =
    config.entityCache === undefined
      ? undefined
      : startEntityCache(config.entityCache, {
          logger,
          registry: metrics.registry,
          serviceName: config.serviceName,
        });
  const fetching = createSubgraphFetching({
    logger,
    registry: metrics.registry,
    timeoutMs: config.subgraphTimeoutMs,
    dedupe: config.dedupe,
    cache,
  });

  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name, url }) => {
      const target = config.subgraphUrls[name] ?? url;
      if (target === undefined) throw new Error(`subgraph ${name} has no routing URL`);
      routingUrls[name] = target;
      return fetching.dataSource(name, target);
    },
    experimental_approximateQueryPlanStoreMiB: config.queryPlanCacheMiB,
    logger: {
      debug: (m: unknown) => logger.debug(String(m)),
      info: (m: unknown) => logger.info(String(m)),
      warn: (m: unknown) => logger.warn(String(m)),
      error: (m: unknown) => logger.error(String(m)),
    },
  });

  let apiSchema: GraphQLSchema | undefined;
  gateway.onSchemaLoadOrUpdate(({ apiSchema: schema }) => {
    apiSchema = schema;
  });
  const limitsRule = queryLimitsRule({
    maxDepth: config.maxDepth,
    maxAliases: config.maxAliases,
    maxCost: config.maxCost,
    defaultPageSize: 20,
  });
  // Persisted-only mode: HTTP operations and graphql-ws subscriptions must be in a manifest.
  const persisted =
    config.persistedOperationManifests.length > 0
      ? loadPersistedOperations(config.persistedOperationManifests)
      : undefined;

  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    allowBatchedHttpRequests: config.maxBatchSize > 1,
    includeStacktraceInErrorResponses: false,
    introspection: config.introspection,
    parseOptions: { maxTokens: config.maxTokens },
    persistedQueries: {
      cache: new InMemoryLRUCache<string>({ maxSize: 16 * 1024 * 1024 }),
      ttl: 24 * 3600,
    },
    validationRules: [limitsRule],
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      graphqlMetricsPlugin<GatewayContext>(metrics.registry),
      ...(cache?.operations ? [cachePublicOperations<GatewayContext>(cache.operations)] : []),
      ...(config.dedupe
        ? [shareIdenticalOperations<GatewayContext>(metrics.registry, fetching.writes)]
        : []),
      ...(persisted ? [persistedOnlyPlugin<GatewayContext>(persisted)] : []),
      legacyJsonStatusPlugin<GatewayContext>(),
    ],
    formatError: (formatted, error) => {
      const masked = formatGatewayError(formatted);
      if (masked.extensions?.code === 'INTERNAL_SERVER_ERROR') {
        logger.error({ err: error, original: formatted.message }, 'internal error masked');
      }
      return masked;
    },
    logger: {
      debug: (m) => logger.debug(m),
      info: (m) => logger.info(m),
      warn: (m) => logger.warn(m),
      error: (m) => logger.error(m),
    },
  });
  await apollo.start();
  const health = pollSubgraphHealth(routingUrls);

  // Bearer tokens are verified here (jose against the realm's JWKS) and again by every subgraph
  // and service; no token is an anonymous caller, which the schema allows for browsing only.
  const verifyToken = createAuthenticator(config.auth, logger);
  const authenticate: GatewayAuthenticator =
    overrides.authenticate ??
    (config.trustIdentityHeaders
      ? (headers) => callerFromHeaders(headers, metadataAuthenticator)
      : (headers) =>
          verifyToken(identityFromHeaders({ authorization: headers.authorization })).catch(() => {
            throw new GraphQLError('Invalid or expired credentials', {
              extensions: {
                code: 'UNAUTHENTICATED',
                // RFC 6750 §3: a rejected bearer token is answered with its challenge.
                http: {
                  status: 401,
                  headers: new HeaderMap([
                    [
                      'www-authenticate',
                      'Bearer realm="shop", error="invalid_token", ' +
                        'error_description="The access token is invalid or expired"',
                    ],
                  ]),
                },
              },
            });
          }));

  let serving = true;
  const healthRoute: Route = (_req, res) => {
    const subgraphs = health.snapshot();
    const status = !serving ? 'stopping' : health.allUp() ? 'ok' : 'degraded';
    res.writeHead(serving ? 200 : 503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status, subgraphs }));
  };
  const readyRoute: Route = (_req, res) => {
    const ready = serving && health.allUp();
    res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ready, subgraphs: health.snapshot() }));
  };
  const metricsRoute: Route = (_req, res) => {
    metrics.registry.metrics().then(
      (body) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(body);
      },
      () => res.writeHead(500).end(),
    );
  };
  const http = await serveGraphQL({
    server: apollo,
    host: config.host,
    port: config.port,
    maxBodyBytes: config.maxBodyBytes,
    maxBatchSize: config.maxBatchSize,
    corsOrigins: config.corsOrigins,
    context: async (req) => {
      const caller = await authenticate(req.headers);
      const authorization = req.headers.authorization;
      return authorization === undefined ? { caller } : { caller, authorization };
    },
    routes: { '/healthz': healthRoute, '/readyz': readyRoute, '/metrics': metricsRoute },
  });
  // Subscriptions share the GraphQL port and path (graphql-ws upgrades the connection).
  const subscriptions =
    config.subscriptions === undefined
      ? undefined
      : startSubscriptions(config.subscriptions, {
          server: http.server,
          path: new URL(http.url).pathname,
          apollo,
          schema: () => {
            if (apiSchema === undefined) throw new Error('the supergraph is not loaded yet');
            return apiSchema;
          },
          validationRules: [limitsRule, ...(persisted ? [persistedOnlyRule(persisted)] : [])],
          authenticate,
          logger,
          registry: metrics.registry,
          serviceName: config.serviceName,
        });
  // Kafka consumers start in the background so a broker outage does not keep the gateway from
  // serving (uncached, without live updates). With a broker that answers, the gateway waits for
  // them as it always did, so what starts next sees events from the first moment.
  await Promise.race([
    Promise.all([cache?.started, subscriptions?.started]),
    sleep(config.kafkaStartGraceMs, undefined, { ref: false }),
  ]);
  const ops = await startOpsServer({
    registry: metrics.registry,
    host: config.host,
    port: config.metricsPort,
    healthy: () => serving,
  });
  logger.info({ url: http.url, subgraphs: routingUrls }, 'gateway listening');
  let stopping: Promise<void> | undefined;
  return {
    url: http.url,
    port: http.port,
    metricsPort: ops.port,
    probeHealth: () => health.probe(),
    subscriptions,
    entityCache: cache,
    stop() {
      stopping ??= (async () => {
        serving = false;
        health.stop();
        await subscriptions?.stop();
        await http.close();
        await apollo.stop();
        await fetching.close();
        await cache?.stop();
        await ops.close();
        await shipper?.close();
      })();
      return stopping;
    },
  };
}
