// GraphQL subscriptions on the gateway: graphql-ws on the gateway's own port and path, fed by one
// Kafka consumer per gateway process. A subscription is answered by re-reading the entity it is
// about through the gateway's own query planner, with the query its owning subgraph declares
// (see @shop/graphql/subscriptions), so a selection may reach into every subgraph and every read
// is authorised by the subgraphs and services exactly like the equivalent query.
//
// subscriptions/declared.ts lists the subgraphs' declarations, subscriptions/operations.ts
// prepares operations, subscriptions/feed.ts shares one execution and one serialisation per event
// among a feed's subscribers, subscriptions/events.ts reads the declared topics and
// subscriptions/transport.ts runs graphql-ws on the sockets.
import type { ApolloServer } from '@apollo/server';
import type { SubscriptionDeclaration } from '@shop/graphql/subscriptions';
import { bearerToken, type Caller, type Logger } from '@shop/platform';
import {
  GraphQLError,
  type DocumentNode,
  type FormattedExecutionResult,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
import { getArgumentValues, getVariableValues } from 'graphql/execution/values';
import type { ExecutionResult, ServerOptions } from 'graphql-ws';
import type { IncomingHttpHeaders, Server } from 'node:http';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { GatewayContext } from './context';
import { routingKey, startEventConsumer } from './subscriptions/events';
import {
  ANONYMOUS,
  Feed,
  Subscriber,
  type Credentials,
  type FeedHooks,
} from './subscriptions/feed';
import {
  EVENT_ID_VARIABLE,
  OperationCache,
  clientError,
  type PreparedSubscription,
} from './subscriptions/operations';
import {
  SUBSCRIPTION_CLOSE_CODES,
  serveGraphQLWs,
  type Connection,
  type ConnectionEvents,
} from './subscriptions/transport';

export { SUBSCRIPTION_CLOSE_CODES };

/** Settings of the subscription server (see the gateway config). */
export interface SubscriptionSettings {
  kafkaBrokers: readonly string[];
  /** The Subscription fields served, as their subgraphs declare them. */
  declarations: readonly SubscriptionDeclaration[];
  /** Declared topic (a declaration's `topic`) → the topic read. */
  topics: Readonly<Record<string, string>>;
  /** Active subscriptions one connection may hold. */
  perConnection: number;
  /** Messages waiting to be written per subscription before the client counts as too slow. */
  maxQueued: number;
  /** Bytes the socket may have waiting in its send buffer before the client counts as too slow. */
  maxBufferedBytes: number;
  /** Interval of WebSocket pings; a client that does not answer within it is dropped. */
  keepAliveMs: number;
  /** Time a client has to send `connection_init`. */
  connectionInitTimeoutMs: number;
  /** Largest incoming message accepted. */
  maxMessageBytes: number;
}

/** What the subscription server needs from the gateway. */
export interface SubscriptionDeps {
  server: Server;
  path: string;
  apollo: ApolloServer<GatewayContext>;
  /** The API schema, once the gateway loaded the supergraph. */
  schema: () => GraphQLSchema;
  /** Extra validation rules applied to every operation (the gateway's query limits). */
  validationRules: readonly ValidationRule[];
  /** Resolves the caller from `connection_init` params presented as headers. */
  authenticate: (headers: IncomingHttpHeaders) => Promise<Caller>;
  logger: Logger;
  registry: Registry;
  serviceName: string;
}

/** A running subscription server. */
export interface SubscriptionServer {
  /** Open connections and active subscriptions, for health and tests. */
  stats(): { connections: number; subscriptions: number; feeds: number };
  /** Settles once the event consumer has joined (or the server was stopped first). */
  readonly started: Promise<void>;
  /** Closes every connection (1001) and stops the consumer. */
  stop(): Promise<void>;
}

/** Distinct operation texts whose parsed and rewritten documents are kept. */
const OPERATION_CACHE_SIZE = 1_000;

/** What `onSubscribe` hands graphql-ws for `subscribe` or `execute`. */
type Plan =
  | { readonly kind: 'execute'; readonly connection: Connection; readonly query: DocumentNode }
  | {
      readonly kind: 'subscribe';
      readonly connection: Connection;
      readonly id: string;
      readonly prepared: PreparedSubscription;
      readonly routingKey: string;
    };

/** Connection params as headers: `authorization` (a bearer token) and, in trusted test mode, x-shop-*. */
function paramsAsHeaders(params: Readonly<Record<string, unknown>> | undefined) {
  const headers: IncomingHttpHeaders = {};
  for (const [key, value] of Object.entries(params ?? {})) {
    if (typeof value === 'string') headers[key.toLowerCase()] = value;
  }
  return headers;
}

/**
 * Starts graphql-ws on the gateway's server and, in the background (retried until the broker
 * answers), the Kafka consumer that feeds it.
 */
export function startSubscriptions(
  settings: SubscriptionSettings,
  deps: SubscriptionDeps,
): SubscriptionServer {
  const { logger, registry } = deps;
  const log = logger.child({ component: 'subscriptions' });
  const connectionsGauge = new Gauge({
    name: 'gateway_ws_connections',
    help: 'Open graphql-ws connections.',
    registers: [registry],
  });
  const subscriptionsGauge = new Gauge({
    name: 'gateway_subscriptions',
    help: 'Active subscriptions, by field.',
    labelNames: ['field'],
    registers: [registry],
  });
  const feedsGauge = new Gauge({
    name: 'gateway_subscription_feeds',
    help: 'Distinct (entity, selection, identity) feeds; one execution per event serves each.',
    registers: [registry],
  });
  const disconnects = new Counter({
    name: 'gateway_ws_disconnects_total',
    help: 'graphql-ws connections closed by the gateway, by reason.',
    labelNames: ['reason'],
    registers: [registry],
  });
  const eventsSeen = new Counter({
    name: 'gateway_subscription_events_total',
    help: 'Kafka events read by the subscription feed, by topic and whether any feed wanted them.',
    labelNames: ['topic', 'matched'],
    registers: [registry],
  });
  const executions = new Counter({
    name: 'gateway_subscription_executions_total',
    help: 'Re-reads of a subscribed entity, by field and outcome.',
    labelNames: ['field', 'outcome'],
    registers: [registry],
  });
  const serialisations = new Counter({
    name: 'gateway_subscription_serialisations_total',
    help: 'Re-read results serialised for fan-out, by field: once per feed event, whatever the number of subscribers.',
    labelNames: ['field'],
    registers: [registry],
  });
  const messages = new Counter({
    name: 'gateway_subscription_messages_total',
    help: '`next` messages written to subscribers, by field.',
    labelNames: ['field'],
    registers: [registry],
  });
  const eventLatency = new Histogram({
    name: 'gateway_subscription_event_latency_seconds',
    help: 'From an event occurring to its re-read being written to every subscriber, by field.',
    labelNames: ['field'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  const feedsByKey = new Map<string, Set<Feed>>();
  const feeds = new Map<string, Feed>();
  const connections = new Set<Connection>();
  const operations = new OperationCache(
    OPERATION_CACHE_SIZE,
    deps.validationRules,
    new Map(settings.declarations.map((d) => [d.field, d])),
  );

  const executeQuery = async (
    query: DocumentNode,
    variables: Record<string, unknown> | undefined,
    credentials: Credentials,
    fresh: boolean,
  ): Promise<FormattedExecutionResult> => {
    const contextValue: GatewayContext = {
      caller: credentials.caller,
      ...(credentials.authorization === undefined
        ? {}
        : { authorization: credentials.authorization }),
      ...(fresh ? { fresh } : {}),
    };
    const response = await deps.apollo.executeOperation({ query, variables }, { contextValue });
    if (response.body.kind !== 'single') {
      return { errors: [{ message: 'Incremental delivery is not supported over graphql-ws' }] };
    }
    return response.body.singleResult;
  };

  const feedHooks: FeedHooks = {
    empty: (empty) => {
      feeds.delete(empty.id);
      const set = feedsByKey.get(empty.routingKey);
      set?.delete(empty);
      if (set?.size === 0) feedsByKey.delete(empty.routingKey);
      feedsGauge.set(feeds.size);
    },
    serialised: (field) => serialisations.inc({ field }),
    delivered: (field, sent, eventAt) => {
      if (sent > 0) messages.inc({ field }, sent);
      if (eventAt !== undefined) eventLatency.observe({ field }, (Date.now() - eventAt) / 1000);
    },
  };

  const feedFor = (
    prepared: PreparedSubscription,
    routingKey: string,
    variables: Record<string, unknown>,
    identity: string,
  ): Feed => {
    const id = `${routingKey}\n${identity}\n${prepared.queryText}\n${JSON.stringify(variables)}`;
    let feed = feeds.get(id);
    if (feed !== undefined) return feed;
    const field = prepared.fieldName;
    feed = new Feed(
      id,
      routingKey,
      field,
      prepared.declaration.mode,
      async (credentials, entityId) => {
        try {
          // Event-driven reads go past the gateway's entity cache and in-flight sharing: they
          // must see the change the event announced.
          const result = await executeQuery(
            prepared.query,
            entityId === undefined ? variables : { ...variables, [EVENT_ID_VARIABLE]: entityId },
            credentials,
            true,
          );
          executions.inc({ field, outcome: result.errors ? 'error' : 'ok' });
          return result;
        } catch (err) {
          executions.inc({ field, outcome: 'failed' });
          log.error({ err, field }, 'subscription re-read failed');
          return {
            errors: [
              {
                message: 'The update could not be read; it will be retried on the next change',
                extensions: { code: 'SERVICE_UNAVAILABLE' },
              },
            ],
          };
        }
      },
      feedHooks,
    );
    feeds.set(id, feed);
    let set = feedsByKey.get(routingKey);
    if (set === undefined) feedsByKey.set(routingKey, (set = new Set()));
    set.add(feed);
    feedsGauge.set(feeds.size);
    return feed;
  };

  const connectionEvents: ConnectionEvents = {
    closing: (reason) => disconnects.inc({ reason }),
    added: (sub) => subscriptionsGauge.inc({ field: sub.feed.field }),
    released: (sub) => subscriptionsGauge.dec({ field: sub.feed.field }),
  };

  const options: ServerOptions<Record<string, unknown>, Connection> = {
    onConnect: async (ctx) => {
      const connection = ctx.extra;
      const headers = paramsAsHeaders(ctx.connectionParams);
      try {
        const caller = await deps.authenticate(headers);
        const authorization =
          typeof headers.authorization === 'string' && bearerToken(headers.authorization)
            ? headers.authorization
            : undefined;
        connection.authenticated(
          authorization === undefined ? { caller } : { caller, authorization },
        );
      } catch {
        disconnects.inc({ reason: 'forbidden' });
        log.warn({ remote: connection.remoteAddress }, 'refused connection_init');
        return false;
      }
      connections.add(connection);
      connectionsGauge.set(connections.size);
      return true;
    },
    onClose: (ctx) => {
      const connection = ctx.extra;
      connection.dispose();
      if (connections.delete(connection)) connectionsGauge.set(connections.size);
    },
    onSubscribe: (ctx, id, payload) => {
      const connection = ctx.extra;
      if (connection.reserved >= settings.perConnection) {
        return [
          clientError(
            'RATE_LIMITED',
            `A connection may hold at most ${settings.perConnection} subscriptions`,
            { limit: settings.perConnection },
          ),
        ];
      }
      const schema = deps.schema();
      const prepared = operations.prepare(schema, payload.query, payload.operationName);
      if (Array.isArray(prepared)) return prepared;
      const coerced = getVariableValues(
        schema,
        prepared.operation.variableDefinitions ?? [],
        payload.variables ?? {},
      );
      if (coerced.errors) {
        return coerced.errors.map(
          (e) => new GraphQLError(e.message, { extensions: { code: 'BAD_USER_INPUT' } }),
        );
      }
      const variables = payload.variables ?? {};
      const { document } = prepared;
      if (prepared.kind === 'execute') {
        const plan: Plan = { kind: 'execute', connection, query: document };
        return { schema, document, variableValues: variables, contextValue: plan };
      }
      const args = getArgumentValues(prepared.fieldDef, prepared.root, coerced.coerced);
      for (const [name, value] of Object.entries(args)) {
        if (typeof value === 'string' && value.trim() === '') {
          return [
            clientError('BAD_USER_INPUT', `${name} is required`, {
              fieldViolations: [{ field: name, description: 'is required' }],
            }),
          ];
        }
      }
      const { caller } = connection.credentials;
      const { declaration } = prepared;
      if (declaration.access === 'owner' && caller.kind === 'anonymous') {
        return [clientError('UNAUTHENTICATED', 'Sign in to subscribe to this')];
      }
      const plan: Plan = {
        kind: 'subscribe',
        connection,
        id,
        prepared,
        routingKey: routingKey(declaration.field, declaration.key(args, caller)),
      };
      // Reserved now: several subscribe messages may be in flight before any is registered.
      connection.reserved += 1;
      return { schema, document, variableValues: variables, contextValue: plan };
    },
    execute: async (args) => {
      const plan = args.contextValue as Plan;
      const variables = args.variableValues as Record<string, unknown> | undefined;
      const { credentials } = plan.connection;
      return (await executeQuery(args.document, variables, credentials, false)) as ExecutionResult;
    },
    subscribe: (args) => {
      const plan = args.contextValue as Plan & { kind: 'subscribe' };
      const { connection, prepared } = plan;
      const { caller } = connection.credentials;
      const operator = caller.kind !== 'anonymous' && caller.roles.includes('admin');
      // Public entities read the same for every non-operator: one anonymous read serves all.
      const shared = prepared.declaration.access === 'public' && !operator;
      const credentials = shared ? ANONYMOUS : connection.credentials;
      const identity = shared
        ? 'anonymous'
        : caller.kind === 'anonymous'
          ? 'anonymous'
          : `${caller.kind}:${caller.subject}`;
      const variables = (args.variableValues ?? {}) as Record<string, unknown>;
      const feed = feedFor(prepared, plan.routingKey, variables, identity);
      const sub = new Subscriber(plan.id, feed, credentials, feed.seq, connection);
      connection.add(sub);
      feed.add(sub);
      return sub;
    },
    // Query and mutation results are already formatted by the gateway (codes, masking): send
    // them as they are. Subscription results never pass here: feeds write them pre-serialised.
    onNext: (_ctx, _id, _payload, _args, result) => result,
  };
  const transport = serveGraphQLWs({
    server: deps.server,
    path: deps.path,
    settings,
    options,
    events: connectionEvents,
    logger: log,
  });

  const running = startEventConsumer({
    kafkaBrokers: settings.kafkaBrokers,
    topics: settings.topics,
    declarations: settings.declarations,
    serviceName: deps.serviceName,
    logger,
    registry,
    eventsSeen,
    wake: (key, entityId, at, cause) => {
      const targets = feedsByKey.get(key);
      if (targets === undefined) return false;
      for (const feed of targets) feed.wake(entityId, at, cause);
      return true;
    },
    // Ephemeral: a (re)joined consumer starts at the end of the log, so events between the last
    // fetch and the join were skipped; every state feed re-reads its entity.
    joined: () => {
      const now = Date.now();
      for (const feed of feeds.values()) if (feed.mode === 'state') feed.wake(undefined, now);
    },
  });

  return {
    stats: () => ({
      connections: connections.size,
      subscriptions: [...connections].reduce((n, c) => n + c.subscribers.size, 0),
      feeds: feeds.size,
    }),
    started: running.settled,
    async stop() {
      await transport.dispose();
      await running.stop();
    },
  };
}
