// GraphQL subscriptions on the gateway: graphql-ws on the gateway's own port and path, fed by one
// Kafka consumer per gateway process. A subscription is answered by re-reading the entity it is
// about through the gateway's own query planner (`orderStatusChanged(orderId)` is `order(id)`,
// `stockChanged(productId)` is `stock(productId)`, `notificationReceived` is `notification(id)`
// of the event's notification), so a selection may reach into every subgraph and every read is
// authorised by the subgraphs and services exactly like the equivalent query.
import type { ApolloServer } from '@apollo/server';
import {
  bearerToken,
  createKafka,
  ensureTopics,
  runConsumer,
  unpackPayload,
  type Caller,
  type IncomingEvent,
  type Logger,
  type RunningConsumer,
} from '@shop/platform';
import { notificationEvents } from '@shop/proto';
import {
  GraphQLError,
  Kind,
  OperationTypeNode,
  getOperationAST,
  parse,
  print,
  specifiedRules,
  validate,
  type DocumentNode,
  type FieldNode,
  type FormattedExecutionResult,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValidationRule,
} from 'graphql';
import { getArgumentValues, getVariableValues } from 'graphql/execution/values';
import { type Context, type ExecutionResult } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import type { IncomingHttpHeaders, IncomingMessage, Server } from 'node:http';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { WebSocketServer, type WebSocket } from 'ws';
import type { GatewayContext } from './gateway';

/** Close codes of the gateway's graphql-ws connections (besides graphql-ws's own 44xx codes). */
export const SUBSCRIPTION_CLOSE_CODES = {
  /** The `connection_init` credentials were refused (graphql-ws's Forbidden). */
  forbidden: 4403,
  /** The connection's token expired: reconnect with a fresh token. */
  tokenExpired: 4401,
  /** The client did not read its messages fast enough; its buffers hit their limits. */
  slowConsumer: 4008,
  /** The gateway is shutting down: reconnect (to another replica). */
  goingAway: 1001,
} as const;

/** Settings of the subscription server (see the gateway config). */
export interface SubscriptionSettings {
  kafkaBrokers: readonly string[];
  topics: { orderEvents: string; inventoryUpdates: string; userNotifications: string };
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
  /** Closes every connection (1001) and stops the consumer. */
  stop(): Promise<void>;
}

type Mode = 'state' | 'stream';

/** How a subscription field is answered: which query re-reads its entity, and which events wake it. */
interface Trigger {
  readonly queryField: string;
  /** Subscription argument → query argument. */
  readonly args: Readonly<Record<string, string>>;
  /** `state`: current state first, then the state after every change; `stream`: each event once. */
  readonly mode: Mode;
  /** `public`: shared by every non-operator subscriber; `owner`: read with the subscriber's token. */
  readonly access: 'public' | 'owner';
  routingKey(args: Record<string, unknown>, caller: Caller): string;
}

const EVENT_ID_VARIABLE = '__shopEventEntityId';

const TRIGGERS: Readonly<Record<string, Trigger>> = {
  orderStatusChanged: {
    queryField: 'order',
    args: { orderId: 'id' },
    mode: 'state',
    access: 'owner',
    routingKey: (args) => `order:${String(args.orderId)}`,
  },
  stockChanged: {
    queryField: 'stock',
    args: { productId: 'productId' },
    mode: 'state',
    access: 'public',
    routingKey: (args) => `stock:${String(args.productId)}`,
  },
  notificationReceived: {
    queryField: 'notification',
    args: {},
    mode: 'stream',
    access: 'owner',
    routingKey: (_args, caller) => `user:${caller.kind === 'anonymous' ? '' : caller.subject}`,
  },
};

/** Error codes after which a subscription ends (retrying on the next event cannot help). */
const TERMINAL_CODES = new Set(['NOT_FOUND', 'UNAUTHENTICATED', 'FORBIDDEN', 'BAD_USER_INPUT']);

/** The credentials an execution runs with. */
interface Credentials {
  readonly caller: Caller;
  readonly authorization?: string;
}

/** One graphql-ws subscription: a bounded queue the socket drains. */
class Subscriber implements AsyncIterableIterator<ExecutionResult> {
  private readonly queue: ExecutionResult[] = [];
  private waiting: ((r: IteratorResult<ExecutionResult>) => void) | undefined;
  private done = false;
  /** Set when the subscriber still has to receive the entity's current state. */
  needsInitial: boolean;

  constructor(
    readonly feed: Feed,
    readonly credentials: Credentials,
    /** Run (state) or event (stream) sequence at joining; only later ones reach this subscriber. */
    readonly joinedAt: number,
    private readonly connection: Connection,
  ) {
    this.needsInitial = feed.mode === 'state';
  }

  /** Queues a result; it is already formatted by the gateway and sent as is (see `onNext`). */
  push(formatted: FormattedExecutionResult): void {
    if (this.done) return;
    const result = formatted as unknown as ExecutionResult;
    if (this.waiting !== undefined) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value: result, done: false });
    } else {
      this.queue.push(result);
    }
    this.connection.checkBackpressure(this.queue.length);
  }

  /** Ends the subscription after what is queued (graphql-ws then sends `complete`). */
  end(): void {
    if (this.done) return;
    this.done = true;
    this.feed.remove(this);
    if (this.waiting !== undefined && this.queue.length === 0) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<ExecutionResult>> {
    const value = this.queue.shift();
    if (value !== undefined) return Promise.resolve({ value, done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<IteratorResult<ExecutionResult>> {
    this.queue.length = 0;
    this.end();
    this.connection.release(this);
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/**
 * Subscribers of one entity with the same selection, variables and identity: one execution per
 * event serves them all. State feeds coalesce events (at most one execution in flight and one
 * queued) and send only what changed; stream feeds execute once per event, in order.
 */
class Feed {
  readonly subscribers = new Set<Subscriber>();
  private running = false;
  private dirty = false;
  /** State feeds: number of executions started; stream feeds: number of events seen. */
  seq = 0;
  private lastJson: string | undefined;
  private readonly pending: Array<{ seq: number; entityId: string; at: number }> = [];
  private pendingSince: number | undefined;

  constructor(
    readonly id: string,
    readonly routingKey: string,
    readonly field: string,
    readonly mode: Mode,
    private readonly execute: (
      credentials: Credentials,
      entityId: string | undefined,
    ) => Promise<FormattedExecutionResult>,
    private readonly onEmpty: (feed: Feed) => void,
    private readonly observe: (field: string, eventAt: number | undefined) => void,
  ) {}

  /** Someone's credentials that are still connected (expired connections are closed). */
  private credentials(): Credentials | undefined {
    for (const s of this.subscribers) return s.credentials;
    return undefined;
  }

  add(sub: Subscriber): void {
    this.subscribers.add(sub);
    if (this.mode === 'state') this.schedule(undefined);
  }

  remove(sub: Subscriber): void {
    if (this.subscribers.delete(sub) && this.subscribers.size === 0) this.onEmpty(this);
  }

  /** An event about this feed's entity arrived (`entityId` for stream feeds). */
  wake(entityId: string | undefined, at: number): void {
    if (this.mode === 'stream') {
      this.seq += 1;
      if (entityId !== undefined) this.pending.push({ seq: this.seq, entityId, at });
      if (!this.running) void this.drain();
      return;
    }
    this.schedule(at);
  }

  private schedule(at: number | undefined): void {
    if (at !== undefined) this.pendingSince ??= at;
    if (this.running) {
      this.dirty = true;
      return;
    }
    void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      if (this.mode === 'state') {
        do {
          this.dirty = false;
          const credentials = this.credentials();
          if (credentials === undefined) return;
          this.seq += 1;
          const started = this.seq;
          const eventAt = this.pendingSince;
          this.pendingSince = undefined;
          const result = await this.execute(credentials, undefined);
          this.deliverState(result, started);
          this.observe(this.field, eventAt);
        } while (this.dirty);
      } else {
        for (let next = this.pending.shift(); next; next = this.pending.shift()) {
          const credentials = this.credentials();
          if (credentials === undefined) return;
          const result = await this.execute(credentials, next.entityId);
          for (const sub of this.subscribers) if (sub.joinedAt < next.seq) sub.push(result);
          this.observe(this.field, next.at);
        }
      }
    } finally {
      this.running = false;
    }
  }

  private deliverState(result: FormattedExecutionResult, started: number): void {
    const data = result.data;
    const value = data === null || data === undefined ? null : Object.values(data)[0];
    if (value === null || value === undefined) {
      // No state: an error (delivered as the query would report it), or no record yet (nothing
      // to deliver until one exists).
      if (result.errors === undefined || result.errors.length === 0) return;
      const terminal = result.errors.some((e) => TERMINAL_CODES.has(String(e.extensions?.code)));
      const payload: FormattedExecutionResult = { data: null, errors: result.errors };
      for (const sub of [...this.subscribers]) {
        if (sub.joinedAt >= started) continue;
        sub.push(payload);
        sub.needsInitial = false;
        if (terminal) sub.end();
      }
      this.lastJson = undefined;
      return;
    }
    const json = JSON.stringify(result);
    const changed = json !== this.lastJson;
    this.lastJson = json;
    for (const sub of this.subscribers) {
      if (sub.joinedAt >= started) continue;
      if (changed || sub.needsInitial) {
        sub.needsInitial = false;
        sub.push(result);
      }
    }
  }
}

/** Per-connection state. */
class Connection {
  readonly subscribers = new Set<Subscriber>();
  /** Subscriptions accepted by `onSubscribe` and not yet released (counts towards the limit). */
  reserved = 0;
  credentials: Credentials = { caller: { kind: 'anonymous' } };
  private expiry: NodeJS.Timeout | undefined;
  closed = false;

  constructor(
    readonly socket: WebSocket,
    private readonly settings: SubscriptionSettings,
    private readonly hooks: {
      closing(reason: string): void;
      added(sub: Subscriber): void;
      released(sub: Subscriber): void;
    },
  ) {}

  add(sub: Subscriber): void {
    this.subscribers.add(sub);
    this.hooks.added(sub);
  }

  authenticated(credentials: Credentials): void {
    this.credentials = credentials;
    const exp = credentials.caller.kind === 'anonymous' ? undefined : credentials.caller.expiresAt;
    if (exp !== undefined) {
      const ms = Math.max(0, Math.min(exp * 1000 - Date.now(), 2 ** 31 - 1));
      this.expiry = setTimeout(
        () => this.close(SUBSCRIPTION_CLOSE_CODES.tokenExpired, 'Token expired', 'token_expired'),
        ms,
      );
      this.expiry.unref();
    }
  }

  checkBackpressure(queued: number): void {
    if (
      queued > this.settings.maxQueued ||
      this.socket.bufferedAmount > this.settings.maxBufferedBytes
    ) {
      this.close(SUBSCRIPTION_CLOSE_CODES.slowConsumer, 'Subscriber too slow', 'slow_consumer');
    }
  }

  release(sub: Subscriber): void {
    if (this.subscribers.delete(sub)) {
      this.reserved -= 1;
      this.hooks.released(sub);
    }
  }

  /** Closes with a code; a client too slow to read the close frame is cut off after 1 s. */
  close(code: number, reason: string, metricReason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.hooks.closing(metricReason);
    this.socket.close(code, reason);
    setTimeout(() => this.socket.terminate(), 1_000).unref();
  }

  dispose(): void {
    this.closed = true;
    if (this.expiry !== undefined) clearTimeout(this.expiry);
    for (const sub of [...this.subscribers]) void sub.return();
  }
}

type Extra = { socket: WebSocket; request: IncomingMessage; connection?: Connection };

/** The plan graphql-ws hands from `onSubscribe` to `subscribe` or `execute`. */
interface Plan {
  readonly connection: Connection;
  readonly field?: string;
  readonly trigger?: Trigger;
  readonly routingKey?: string;
  readonly query: DocumentNode;
  readonly variables: Record<string, unknown>;
}

const clientError = (code: string, message: string, extensions: Record<string, unknown> = {}) =>
  new GraphQLError(message, { extensions: { ...extensions, code } });

/** Connection params as headers: `authorization` (a bearer token) and, in trusted test mode, x-shop-*. */
function paramsAsHeaders(params: Readonly<Record<string, unknown>> | undefined) {
  const headers: IncomingHttpHeaders = {};
  for (const [key, value] of Object.entries(params ?? {})) {
    if (typeof value === 'string') headers[key.toLowerCase()] = value;
  }
  return headers;
}

/** Rewrites the subscription into the query that re-reads its entity. */
function rewrite(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  field: FieldNode,
  trigger: Trigger,
): DocumentNode {
  const args = (field.arguments ?? []).map((arg) => ({
    ...arg,
    name: { kind: Kind.NAME as const, value: trigger.args[arg.name.value] ?? arg.name.value },
  }));
  const variableDefinitions = [...(operation.variableDefinitions ?? [])];
  if (trigger.mode === 'stream') {
    args.push({
      kind: Kind.ARGUMENT,
      name: { kind: Kind.NAME as const, value: 'id' },
      value: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: EVENT_ID_VARIABLE } },
    });
    variableDefinitions.push({
      kind: Kind.VARIABLE_DEFINITION,
      variable: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: EVENT_ID_VARIABLE } },
      type: {
        kind: Kind.NON_NULL_TYPE,
        type: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: 'ID' } },
      },
    });
  }
  const query: OperationDefinitionNode = {
    ...operation,
    operation: OperationTypeNode.QUERY,
    variableDefinitions,
    selectionSet: {
      kind: Kind.SELECTION_SET,
      selections: [
        {
          ...field,
          alias: { kind: Kind.NAME, value: field.alias?.value ?? field.name.value },
          name: { kind: Kind.NAME, value: trigger.queryField },
          arguments: args,
        },
      ],
    },
  };
  return {
    kind: Kind.DOCUMENT,
    definitions: [
      query,
      ...document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION),
    ],
  };
}

/** Which feed an event wakes, from its topic and envelope. */
interface Wake {
  routingKey: string;
  entityId?: string;
}

/** Starts graphql-ws on the gateway's server and the Kafka consumer that feeds it. */
export async function startSubscriptions(
  settings: SubscriptionSettings,
  deps: SubscriptionDeps,
): Promise<SubscriptionServer> {
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
  const eventLatency = new Histogram({
    name: 'gateway_subscription_event_latency_seconds',
    help: 'From an event occurring to its re-read being handed to subscribers, by field.',
    labelNames: ['field'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  const feedsByKey = new Map<string, Set<Feed>>();
  const feeds = new Map<string, Feed>();
  const connections = new Set<Connection>();

  const executeQuery = async (
    plan: Pick<Plan, 'query' | 'variables'>,
    credentials: Credentials,
    extraVariables: Record<string, unknown> = {},
  ): Promise<FormattedExecutionResult> => {
    const response = await deps.apollo.executeOperation(
      { query: plan.query, variables: { ...plan.variables, ...extraVariables } },
      {
        contextValue:
          credentials.authorization === undefined
            ? { caller: credentials.caller }
            : { caller: credentials.caller, authorization: credentials.authorization },
      },
    );
    if (response.body.kind !== 'single') {
      return { errors: [{ message: 'Incremental delivery is not supported over graphql-ws' }] };
    }
    return response.body.singleResult;
  };

  const feedFor = (plan: Plan, identity: string): Feed => {
    const trigger = plan.trigger!;
    const routingKey = plan.routingKey!;
    const id = `${routingKey}\n${identity}\n${print(plan.query)}\n${JSON.stringify(plan.variables)}`;
    let feed = feeds.get(id);
    if (feed === undefined) {
      const field = plan.field!;
      feed = new Feed(
        id,
        routingKey,
        field,
        trigger.mode,
        async (creds, entityId) => {
          try {
            const result = await executeQuery(
              plan,
              creds,
              entityId === undefined ? {} : { [EVENT_ID_VARIABLE]: entityId },
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
        (empty) => {
          feeds.delete(empty.id);
          const set = feedsByKey.get(empty.routingKey);
          set?.delete(empty);
          if (set?.size === 0) feedsByKey.delete(empty.routingKey);
          feedsGauge.set(feeds.size);
        },
        (f, at) => {
          if (at !== undefined) eventLatency.observe({ field: f }, (Date.now() - at) / 1000);
        },
      );
      feeds.set(id, feed);
      let set = feedsByKey.get(routingKey);
      if (set === undefined) feedsByKey.set(routingKey, (set = new Set()));
      set.add(feed);
      feedsGauge.set(feeds.size);
    }
    return feed;
  };

  const wsServer = new WebSocketServer({
    server: deps.server,
    path: deps.path,
    maxPayload: settings.maxMessageBytes,
  });

  const connectionOf = (ctx: Context<Record<string, unknown>, Extra>): Connection => {
    const extra = ctx.extra;
    extra.connection ??= new Connection(extra.socket, settings, {
      closing: (reason) => disconnects.inc({ reason }),
      added: (sub) => subscriptionsGauge.inc({ field: sub.feed.field }),
      released: (sub) => subscriptionsGauge.dec({ field: sub.feed.field }),
    });
    return extra.connection;
  };

  const disposable = useServer<Record<string, unknown>, Extra>(
    {
      connectionInitWaitTimeout: settings.connectionInitTimeoutMs,
      onConnect: async (ctx) => {
        const connection = connectionOf(ctx);
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
          log.warn({ remote: ctx.extra.request.socket.remoteAddress }, 'refused connection_init');
          return false;
        }
        connections.add(connection);
        connectionsGauge.set(connections.size);
        return true;
      },
      onClose: (ctx) => {
        const connection = ctx.extra.connection;
        if (connection === undefined) return;
        connection.dispose();
        connections.delete(connection);
        connectionsGauge.set(connections.size);
      },
      onSubscribe: (ctx, _id, payload) => {
        const connection = connectionOf(ctx);
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
        let document: DocumentNode;
        try {
          document = parse(payload.query, { maxTokens: 50_000 });
        } catch (err) {
          return [clientError('GRAPHQL_PARSE_FAILED', (err as Error).message)];
        }
        const invalid = validate(schema, document, [...specifiedRules, ...deps.validationRules]);
        if (invalid.length > 0) {
          return invalid.map((e) => {
            const code = e.extensions?.limitCode ?? 'GRAPHQL_VALIDATION_FAILED';
            return new GraphQLError(e.message, {
              nodes: e.nodes,
              extensions: { ...e.extensions, code },
            });
          });
        }
        const operation = getOperationAST(document, payload.operationName);
        if (!operation) return [clientError('BAD_REQUEST', 'Unable to identify the operation')];
        const coerced = getVariableValues(
          schema,
          operation.variableDefinitions ?? [],
          payload.variables ?? {},
        );
        if (coerced.errors) {
          return coerced.errors.map(
            (e) => new GraphQLError(e.message, { extensions: { code: 'BAD_USER_INPUT' } }),
          );
        }
        const variables = payload.variables ?? {};
        const contextValue = { connection, query: document, variables } satisfies Plan;
        if (operation.operation !== OperationTypeNode.SUBSCRIPTION) {
          return { schema, document, variableValues: variables, contextValue };
        }
        const root = operation.selectionSet.selections[0];
        const fieldName = root?.kind === Kind.FIELD ? root.name.value : undefined;
        const trigger = fieldName === undefined ? undefined : TRIGGERS[fieldName];
        const fieldDef =
          fieldName === undefined
            ? undefined
            : schema.getSubscriptionType()?.getFields()[fieldName];
        if (root?.kind !== Kind.FIELD || trigger === undefined || fieldDef === undefined) {
          return [clientError('BAD_REQUEST', 'Select one subscription field directly at the root')];
        }
        const args = getArgumentValues(fieldDef, root, coerced.coerced);
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
        if (trigger.access === 'owner' && caller.kind === 'anonymous') {
          return [clientError('UNAUTHENTICATED', 'Sign in to subscribe to this')];
        }
        const plan: Plan = {
          connection,
          field: fieldName,
          trigger,
          routingKey: trigger.routingKey(args, caller),
          query: rewrite(document, operation, root, trigger),
          variables,
        };
        // Reserved now: several subscribe messages may be in flight before any is registered.
        connection.reserved += 1;
        return { schema, document, variableValues: variables, contextValue: plan };
      },
      execute: async (args) => {
        const plan = args.contextValue as Plan;
        return (await executeQuery(plan, plan.connection.credentials)) as ExecutionResult;
      },
      subscribe: (args) => {
        const plan = args.contextValue as Plan;
        const { connection } = plan;
        const trigger = plan.trigger!;
        const { caller } = connection.credentials;
        const operator = caller.kind !== 'anonymous' && caller.roles.includes('admin');
        // Public entities read the same for every non-operator: one anonymous read serves all.
        const shared = trigger.access === 'public' && !operator;
        const credentials: Credentials = shared
          ? { caller: { kind: 'anonymous' } }
          : connection.credentials;
        const identity = shared
          ? 'anonymous'
          : caller.kind === 'anonymous'
            ? 'anonymous'
            : `${caller.kind}:${caller.subject}`;
        const feed = feedFor(plan, identity);
        const sub = new Subscriber(feed, credentials, feed.seq, connection);
        connection.add(sub);
        feed.add(sub);
        return sub;
      },
      // Results are already formatted by the gateway (codes, masking): send them as they are.
      onNext: (_ctx, _id, _payload, _args, result) => result,
    },
    wsServer,
    settings.keepAliveMs,
  );

  // One consumer per gateway process, in a group of its own: every replica sees every event.
  const kafka = createKafka({
    brokers: settings.kafkaBrokers,
    clientId: deps.serviceName,
    logger,
  });
  const { topics } = settings;
  await ensureTopics(kafka, [
    { name: topics.orderEvents },
    { name: topics.inventoryUpdates },
    { name: topics.userNotifications },
  ]);
  const wakeOf = (topic: string, envelope: IncomingEvent['envelope']): Wake | undefined => {
    if (topic === topics.orderEvents && envelope.aggregateType === 'order') {
      return { routingKey: `order:${envelope.aggregateId}` };
    }
    if (topic === topics.inventoryUpdates && envelope.aggregateType === 'stock') {
      return { routingKey: `stock:${envelope.aggregateId}` };
    }
    if (
      topic === topics.userNotifications &&
      envelope.eventType === notificationEvents.NotificationSent.$type
    ) {
      const sent = unpackPayload(envelope, notificationEvents.NotificationSent);
      return { routingKey: `user:${sent.userId}`, entityId: sent.notificationId };
    }
    return undefined;
  };
  const consumer: RunningConsumer = await runConsumer({
    kafka,
    groupId: `${deps.serviceName}-subscriptions-${process.pid}-${Date.now().toString(36)}`,
    topics: [topics.orderEvents, topics.inventoryUpdates, topics.userNotifications],
    logger,
    registry,
    ephemeral: true,
    maxAttempts: 1,
    handle: (event) => {
      const wake = wakeOf(event.topic, event.envelope);
      const targets = wake === undefined ? undefined : feedsByKey.get(wake.routingKey);
      eventsSeen.inc({ topic: event.topic, matched: targets === undefined ? 'false' : 'true' });
      if (targets !== undefined) {
        const at = event.envelope.occurredAt?.getTime() ?? Date.now();
        for (const feed of targets) feed.wake(wake?.entityId, at);
      }
      return Promise.resolve();
    },
  });
  await consumer.ready;
  log.info({ topics: Object.values(topics) }, 'subscriptions ready');

  return {
    stats: () => ({
      connections: connections.size,
      subscriptions: [...connections].reduce((n, c) => n + c.subscribers.size, 0),
      feeds: feeds.size,
    }),
    async stop() {
      for (const connection of connections) connection.closed = true;
      await disposable.dispose();
      await consumer.stop();
    },
  };
}
