// GraphQL subscriptions on the gateway: graphql-ws on the gateway's own port and path, fed by one
// Kafka consumer per gateway process. A subscription is answered by re-reading the entity it is
// about through the gateway's own query planner, with the query its owning subgraph declares
// (see @shop/graphql/subscriptions), so a selection may reach into every subgraph and every read
// is authorised by the subgraphs and services exactly like the equivalent query.
//
// This file wires graphql-ws's callbacks. In subscriptions/: declared.ts lists the subgraphs'
// declarations, operations.ts prepares operations, feed.ts shares one execution and one
// serialisation per event among a feed's subscribers, registry.ts finds feeds by id and routing
// key, events.ts reads the declared topics, transport.ts runs graphql-ws on the sockets and
// metrics.ts counts it all.
import type { ApolloServer } from '@apollo/server';
import { bearerToken, type Caller, type Logger } from '@shop/platform';
import { GraphQLError, type DocumentNode, type GraphQLSchema, type ValidationRule } from 'graphql';
import { getArgumentValues, getVariableValues } from 'graphql/execution/values';
import type { ExecutionResult, ServerOptions } from 'graphql-ws';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { GatewayContext } from './context';
import { DECLARED_SUBSCRIPTIONS, topicsRead } from './subscriptions/declared';
import { routingKey, startEventConsumer } from './subscriptions/events';
import { ANONYMOUS, Subscriber } from './subscriptions/feed';
import { createSubscriptionMetrics } from './subscriptions/metrics';
import { OperationCache, clientError, type PreparedSubscription } from './subscriptions/operations';
import { FeedRegistry, type ExecuteQuery } from './subscriptions/registry';
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
  /**
   * The `<NAME>_TOPIC` variables set, by name: each renames the declared topic it is named after
   * (`order-events` → ORDER_EVENTS_TOPIC); a declared topic without one keeps its own name.
   */
  topicVariables: Readonly<Record<string, string>>;
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
  const metrics = createSubscriptionMetrics(registry);
  const connections = new Set<Connection>();
  const operations = new OperationCache(
    OPERATION_CACHE_SIZE,
    deps.validationRules,
    new Map(DECLARED_SUBSCRIPTIONS.map((d) => [d.field, d])),
  );

  const executeQuery: ExecuteQuery = async (query, variables, credentials, fresh) => {
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
  const feeds = new FeedRegistry(executeQuery, metrics, log);

  const connectionEvents: ConnectionEvents = {
    closing: (reason) => metrics.disconnects.inc({ reason }),
    added: (sub) => metrics.subscriptions.inc({ field: sub.feed.field }),
    released: (sub) => metrics.subscriptions.dec({ field: sub.feed.field }),
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
        metrics.disconnects.inc({ reason: 'forbidden' });
        log.warn({ remote: connection.remoteAddress }, 'refused connection_init');
        return false;
      }
      connections.add(connection);
      metrics.connections.set(connections.size);
      return true;
    },
    onClose: (ctx) => {
      const connection = ctx.extra;
      connection.dispose();
      if (connections.delete(connection)) metrics.connections.set(connections.size);
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
      const feed = feeds.feedFor(prepared, plan.routingKey, variables, identity);
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
    topics: topicsRead(DECLARED_SUBSCRIPTIONS, settings.topicVariables),
    declarations: DECLARED_SUBSCRIPTIONS,
    serviceName: deps.serviceName,
    logger,
    registry,
    eventsSeen: metrics.eventsSeen,
    wake: (key, entityId, at, cause) => feeds.wake(key, entityId, at, cause),
    // Ephemeral: a (re)joined consumer starts at the end of the log, so events between the last
    // fetch and the join were skipped; every state feed re-reads its entity.
    joined: () => feeds.refreshStates(Date.now()),
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
