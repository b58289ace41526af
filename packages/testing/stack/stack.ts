// The whole in-process stack: services, their subgraphs and the gateway, on free ports against
// the shared MongoDB and Kafka, as the supergraph, storefront tests and benchmarks run it.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { loadCategoriesSubgraphConfig, startCategoriesSubgraph } from '@shop/categories-subgraph';
import type { RunningSubgraph } from '@shop/graphql';
import { loadInventorySubgraphConfig, startInventorySubgraph } from '@shop/inventory-subgraph';
import {
  loadNotificationsSubgraphConfig,
  startNotificationsSubgraph,
} from '@shop/notifications-subgraph';
import { loadOrdersSubgraphConfig, startOrdersSubgraph } from '@shop/orders-subgraph';
import { loadProductsSubgraphConfig, startProductsSubgraph } from '@shop/products-subgraph';
import { loadGatewayConfig, startGateway, type RunningGateway } from '@shop/supergraph';
import { freePort, waitFor } from '@shop/testing';
import { loadUsersSubgraphConfig, startUsersSubgraph } from '@shop/users-subgraph';
import { print } from 'graphql';
import {
  authEnv,
  startServices,
  type RunningServices,
  type ServiceName,
  type ServicesOptions,
  type Topics,
} from './services';

/** The six subgraphs, in the order the stack starts them. */
export const SUBGRAPH_NAMES = [
  'products',
  'categories',
  'inventory',
  'users',
  'orders',
  'notifications',
] as const;
export type SubgraphName = (typeof SUBGRAPH_NAMES)[number];

/** Where a subgraph the stack does not run is routed: a closed port. */
const CLOSED = 'http://127.0.0.1:9/graphql';

/** What every subgraph of the stack is started with besides its config. */
type Overrides = { logger: RunningServices['logger'] };

/** Starts one subgraph against its service's address. */
const subgraphStarters: Record<
  SubgraphName,
  (
    env: Record<string, string>,
    address: (s: ServiceName) => string,
    o: Overrides,
  ) => Promise<RunningSubgraph>
> = {
  products: (env, at, o) =>
    startProductsSubgraph(
      loadProductsSubgraphConfig({ ...env, PRODUCT_GRPC_URL: at('product') }),
      o,
    ),
  categories: (env, at, o) =>
    startCategoriesSubgraph(
      loadCategoriesSubgraphConfig({ ...env, CATEGORY_GRPC_URL: at('category') }),
      o,
    ),
  inventory: (env, at, o) =>
    startInventorySubgraph(
      loadInventorySubgraphConfig({ ...env, INVENTORY_GRPC_URL: at('inventory') }),
      o,
    ),
  users: (env, at, o) =>
    startUsersSubgraph(loadUsersSubgraphConfig({ ...env, USER_GRPC_URL: at('user') }), o),
  orders: (env, at, o) =>
    startOrdersSubgraph(loadOrdersSubgraphConfig({ ...env, ORDER_GRPC_URL: at('order') }), o),
  notifications: (env, at, o) =>
    startNotificationsSubgraph(
      loadNotificationsSubgraphConfig({ ...env, NOTIFICATION_GRPC_URL: at('notification') }),
      o,
    ),
};

/** What {@link startSubgraphs} runs. */
export interface SubgraphsOptions {
  /** The subgraphs to run (default all six; a subgraph of a stopped service answers UNAVAILABLE). */
  subgraphs?: readonly SubgraphName[];
  /** Allow slow calls to the services (the order path writes several documents per call). */
  slowCalls?: boolean;
}

/** Starts subgraphs in-process on port 0, each pointed at its service in `services`. */
export async function startSubgraphs(
  services: RunningServices,
  options: SubgraphsOptions = {},
): Promise<Partial<Record<SubgraphName, RunningSubgraph>>> {
  const env: Record<string, string> = {
    ...authEnv(services.tokens, services.dependencies.oidcIssuerUrl),
    SUBGRAPH_PORT: '0',
    METRICS_PORT: '0',
    LOG_LEVEL: services.logLevel,
  };
  // On the shared test database under load (other suites, benchmarks) an order call takes
  // seconds, so a stack with orders allows longer calls.
  if (options.slowCalls) env.GRPC_DEADLINE_MS = '15000';
  const started: Partial<Record<SubgraphName, RunningSubgraph>> = {};
  try {
    for (const name of options.subgraphs ?? SUBGRAPH_NAMES) {
      started[name] = await subgraphStarters[name](env, services.address, {
        logger: services.logger,
      });
    }
  } catch (err) {
    for (const s of Object.values(started)) await s.stop();
    throw err;
  }
  return started;
}

/** How the gateway of a stack runs. */
export interface GatewayOptions {
  /** Serve graphql-ws subscriptions, fed from the stack's topics. */
  subscriptions?: boolean;
  /** Run the entity cache, fed from the stack's topics. */
  cache?: boolean;
  /**
   * Give the gateway the stack's broker and topics and leave subscriptions and the cache at
   * the gateway's defaults (both on), as a deployed gateway runs.
   */
  events?: boolean;
  /** Allow slow subgraph calls (see {@link SubgraphsOptions.slowCalls}). */
  slowCalls?: boolean;
  /** LOG_LEVEL of the gateway (default: the services'). */
  logLevel?: string;
  /** Extra gateway environment, applied last (e.g. subscription limits). */
  env?: Record<string, string>;
}

/** The gateway environment of a stack, for `startGateway` here or a gateway process of its own. */
export function gatewayEnv(
  port: number,
  services: RunningServices,
  subgraphs: Partial<Record<SubgraphName, RunningSubgraph>>,
  options: GatewayOptions = {},
): Record<string, string> {
  const fed = options.subscriptions === true || options.cache === true;
  const urls = Object.fromEntries(
    SUBGRAPH_NAMES.map((name) => [
      `${name.toUpperCase()}_SUBGRAPH_URL`,
      subgraphs[name]?.url ?? CLOSED,
    ]),
  );
  const { topics } = services;
  return {
    GATEWAY_PORT: String(port),
    METRICS_PORT: '0',
    LOG_LEVEL: options.logLevel ?? services.logLevel,
    ...(services.tokens
      ? { OIDC_ISSUER_URL: services.dependencies.oidcIssuerUrl }
      : { GATEWAY_TRUST_IDENTITY_HEADERS: 'true' }),
    ...(options.slowCalls ? { SUBGRAPH_TIMEOUT_MS: '30000' } : {}),
    ...urls,
    ...(fed || options.events === true
      ? {
          KAFKA_BROKERS: services.dependencies.kafkaBrokers,
          ORDER_EVENTS_TOPIC: topics.orderEvents,
          INVENTORY_UPDATES_TOPIC: topics.inventoryUpdates,
          USER_NOTIFICATIONS_TOPIC: topics.userNotifications,
          CATALOG_EVENTS_TOPIC: topics.catalogEvents,
        }
      : {}),
    ...(fed
      ? {
          SUBSCRIPTIONS_ENABLED: String(options.subscriptions === true),
          ENTITY_CACHE_ENABLED: String(options.cache === true),
        }
      : {}),
    ...options.env,
  };
}

/** A GraphQL response as clients see it. */
export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; path?: unknown[]; extensions?: Record<string, unknown> }>;
}

/** What {@link startStack} runs besides the catalog services. */
export interface StackOptions {
  /**
   * Also run the order pipeline: the order service (deterministic test payment provider), the
   * notification service and inventory's order-event consumer. Without it the orders and
   * notifications subgraphs run against closed service ports (up, answering UNAVAILABLE).
   */
  orders?: boolean;
  /**
   * Verify real bearer tokens everywhere (gateway, subgraphs, services) against the realm, as in
   * production, instead of trusting the `x-shop-*` identity headers tests usually send.
   */
  tokens?: boolean;
  /** Serve graphql-ws subscriptions on the gateway, fed from this stack's topics. */
  subscriptions?: boolean;
  /** Run the gateway's entity cache, fed from this stack's topics (subscriptions stay off). */
  cache?: boolean;
  /** Kafka brokers of this stack instead of the shared ones (e.g. a throwaway broker). */
  kafkaBrokers?: string;
  /** Extra gateway environment (e.g. subscription limits). */
  gatewayEnv?: Record<string, string>;
  /**
   * The services to run (default: category, product, inventory and user, plus order and
   * notification with `orders`); see {@link ServicesOptions.services}.
   */
  services?: readonly ServiceName[];
  /** The subgraphs to run (default all six); the gateway routes the others to a closed port. */
  subgraphs?: readonly SubgraphName[];
  /** Store, broker, logger and naming of the services (e.g. a benchmark's own). */
  servicesOptions?: Omit<ServicesOptions, 'services' | 'tokens'>;
}

/** The services, their subgraphs and a gateway, all in-process on free ports. */
export interface Stack {
  gatewayUrl: string;
  /** The gateway's graphql-ws URL (same port and path). */
  wsUrl: string;
  gateway: RunningGateway;
  /** Stops the gateway and starts a new one on the same port (subgraphs keep running). */
  restartGateway(): Promise<void>;
  /** The stack's Kafka topics. */
  topics: Topics;
  /** Metrics ports of the gRPC services, by name, for counting RPCs. */
  serviceMetrics: Record<string, number>;
  /** gRPC ports of the services, by name, for calls that skip the gateway. */
  grpcPorts: Record<string, number>;
  /** The running subgraphs, by name. */
  subgraphs: Record<string, RunningSubgraph>;
  /** The running services and their settings. */
  services: RunningServices;
  /** Stops the inventory service (its port stays reserved for restartInventory). */
  stopInventory(): Promise<void>;
  restartInventory(): Promise<void>;
  query<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<GraphQLResponse<T>>;
  /** Sends an operation typed by codegen. */
  operation<TResult, TVariables extends Record<string, unknown>>(
    document: TypedDocumentNode<TResult, TVariables>,
    variables: TVariables,
    headers?: Record<string, string>,
  ): Promise<GraphQLResponse<TResult>>;
  stop(): Promise<void>;
}

/** Starts the real stack against the shared MongoDB and Kafka. */
export async function startStack(prefix: string, options: StackOptions = {}): Promise<Stack> {
  const orders = options.orders === true;
  const services = await startServices(prefix, {
    ...options.servicesOptions,
    services: options.services ?? [
      'category',
      'product',
      'inventory',
      'user',
      ...(orders ? (['order', 'notification'] as const) : []),
    ],
    tokens: options.tokens === true,
    dependencies: {
      ...options.servicesOptions?.dependencies,
      ...(options.kafkaBrokers !== undefined ? { kafkaBrokers: options.kafkaBrokers } : {}),
    },
  });
  let subgraphs: Partial<Record<SubgraphName, RunningSubgraph>> = {};
  let gateway: RunningGateway;
  const envFor = (port: number): Record<string, string> =>
    gatewayEnv(port, services, subgraphs, {
      subscriptions: options.subscriptions,
      cache: options.cache,
      slowCalls: orders,
      env: options.gatewayEnv,
    });
  try {
    subgraphs = await startSubgraphs(services, { subgraphs: options.subgraphs, slowCalls: orders });
    gateway = await startGateway(loadGatewayConfig(envFor(await freePort())), {
      logger: services.logger,
    });
  } catch (err) {
    for (const s of Object.values(subgraphs)) await s.stop();
    await services.stop();
    throw err;
  }
  const gatewayUrl = gateway.url;
  const gatewayPort = gateway.port;
  const stack: Stack = {
    gatewayUrl,
    wsUrl: gatewayUrl.replace(/^http/, 'ws'),
    get gateway() {
      return gateway;
    },
    topics: services.topics,
    async restartGateway() {
      await gateway.stop();
      gateway = await startGateway(loadGatewayConfig(envFor(gatewayPort)), {
        logger: services.logger,
      });
    },
    serviceMetrics: services.metricsPorts(),
    grpcPorts: services.ports,
    subgraphs,
    services,
    stopInventory: () => services.stopService('inventory'),
    async restartInventory() {
      await services.restart('inventory');
      stack.serviceMetrics = services.metricsPorts();
      // Clients retry a server that was down on their reconnect backoff (at most 2 s): back
      // once the gateway reaches it again, as callers would find it.
      await waitFor(
        'the inventory service to be reachable through the gateway again',
        async () => {
          const probe = await stack.query('{ stock(productId: "restart-probe") { available } }');
          return probe.errors === undefined ? true : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 100 },
      );
    },
    async query<T>(
      query: string,
      variables: Record<string, unknown> = {},
      headers: Record<string, string> = {},
    ): Promise<GraphQLResponse<T>> {
      const res = await fetch(gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as Omit<GraphQLResponse<T>, 'status'>;
      return { status: res.status, ...body };
    },
    operation(document, variables, headers) {
      return stack.query(print(document), variables, headers);
    },
    async stop() {
      await gateway.stop();
      for (const s of Object.values(subgraphs)) await s.stop();
      await services.stop();
    },
  };
  return stack;
}
