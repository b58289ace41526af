import { startCategoriesSubgraph, loadCategoriesSubgraphConfig } from '@shop/categories-subgraph';
import { loadCategoryConfig, startCategoryService } from '@shop/category-service';
import type { RunningSubgraph } from '@shop/graphql';
import { loadInventorySubgraphConfig, startInventorySubgraph } from '@shop/inventory-subgraph';
import { loadInventoryConfig, startInventoryService } from '@shop/inventory-service';
import {
  loadNotificationsSubgraphConfig,
  startNotificationsSubgraph,
} from '@shop/notifications-subgraph';
import { loadNotificationConfig, startNotificationService } from '@shop/notification-service';
import {
  createDeterministicPaymentProvider,
  loadOrderConfig,
  startOrderService,
} from '@shop/order-service';
import { loadOrdersSubgraphConfig, startOrdersSubgraph } from '@shop/orders-subgraph';
import { createLogger, type RunningService } from '@shop/platform';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { loadProductConfig, startProductService } from '@shop/product-service';
import { loadProductsSubgraphConfig, startProductsSubgraph } from '@shop/products-subgraph';
import { loadGatewayConfig, startGateway, type RunningGateway } from '@shop/supergraph';
import { freePort, testEnv, uniqueId, waitFor } from '@shop/testing';
import { loadUserConfig, startUserService } from '@shop/user-service';
import { loadUsersSubgraphConfig, startUsersSubgraph } from '@shop/users-subgraph';
import { Writable } from 'node:stream';

/** A logger that drops everything (tests assert on responses, not logs). */
export const quietLogger = createLogger({
  service: 'supergraph-test',
  level: 'fatal',
  stream: new Writable({ write: (_c, _e, done) => done() }),
});

/** A port free right now, so processes can be told each other's address up front. */
export { freePort };

/** A GraphQL response as clients see it. */
export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; path?: unknown[]; extensions?: Record<string, unknown> }>;
}

/** The identity headers of an operator (trusted by the test gateway; see GATEWAY_TRUST_IDENTITY_HEADERS). */
export const adminHeaders = {
  'x-shop-subject': 'admin-1',
  'x-shop-roles': 'admin,customer',
  'x-shop-caller-kind': 'user',
};

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
}

/** The catalog services, their subgraphs and a gateway, all in-process on free ports. */
export interface Stack {
  gatewayUrl: string;
  /** The gateway's graphql-ws URL (same port and path). */
  wsUrl: string;
  gateway: RunningGateway;
  /** Stops the gateway and starts a new one on the same port (subgraphs keep running). */
  restartGateway(): Promise<void>;
  /** The stack's Kafka topics. */
  topics: {
    orderEvents: string;
    inventoryUpdates: string;
    userNotifications: string;
    catalogEvents: string;
  };
  /** Metrics ports of the gRPC services, by name, for counting RPCs. */
  serviceMetrics: Record<string, number>;
  /** gRPC ports of the services, by name, for calls that skip the gateway. */
  grpcPorts: Record<string, number>;
  subgraphs: Record<string, RunningSubgraph>;
  /** Stops the inventory service (its port stays reserved for restartInventory). */
  stopInventory(): Promise<void>;
  restartInventory(): Promise<void>;
  query<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<GraphQLResponse<T>>;
  /** Sends an operation typed by codegen (test/generated/operations.ts). */
  operation<TResult, TVariables extends Record<string, unknown>>(
    document: TypedDocumentNode<TResult, TVariables>,
    variables: TVariables,
    headers?: Record<string, string>,
  ): Promise<GraphQLResponse<TResult>>;
  stop(): Promise<void>;
}

/** Starts the real catalog stack against the shared MongoDB and Kafka. */
export async function startStack(prefix: string, options: StackOptions = {}): Promise<Stack> {
  const env = testEnv();
  const id = uniqueId(prefix).replace(/-/g, '_');
  const ports = {
    product: await freePort(),
    category: await freePort(),
    inventory: await freePort(),
    user: await freePort(),
    // Closed unless `options.orders`: the subgraphs then read the services as unavailable.
    order: await freePort(),
    notification: await freePort(),
  };
  const auth: Record<string, string> = options.tokens
    ? { OIDC_ISSUER_URL: env.oidcIssuerUrl }
    : { AUTH_TRUST_IDENTITY_METADATA: 'true' };
  const common = {
    ...auth,
    MONGO_URL: env.mongoUrl,
    METRICS_PORT: '0',
    LOG_LEVEL: 'fatal',
  };
  const kafka = { KAFKA_BROKERS: options.kafkaBrokers ?? env.kafkaBrokers.join(',') };
  const inventoryUpdates = uniqueId(`${prefix}-inventory-updates`);
  const catalogEvents = uniqueId(`${prefix}-catalog-events`);
  const orderEvents = uniqueId(`${prefix}-order-events`);
  const userNotifications = uniqueId(`${prefix}-user-notifications`);
  const services: Record<string, RunningService> = {};
  services.category = await startCategoryService(
    loadCategoryConfig({
      ...common,
      GRPC_PORT: String(ports.category),
      ...kafka,
      MONGO_DATABASE: `${id}_category`,
      CATALOG_EVENTS_TOPIC: catalogEvents,
      PRODUCT_GRPC_URL: `127.0.0.1:${ports.product}`,
    }),
    { logger: quietLogger },
  );
  services.product = await startProductService(
    loadProductConfig({
      ...common,
      ...kafka,
      GRPC_PORT: String(ports.product),
      MONGO_DATABASE: `${id}_product`,
      INVENTORY_UPDATES_TOPIC: inventoryUpdates,
      CATALOG_EVENTS_TOPIC: catalogEvents,
      STOCK_CONSUMER_GROUP: uniqueId(`${prefix}-stock`),
      CATEGORY_GRPC_URL: `127.0.0.1:${ports.category}`,
    }),
    { logger: quietLogger },
  );
  const inventoryConfig = loadInventoryConfig({
    ...common,
    ...kafka,
    GRPC_PORT: String(ports.inventory),
    MONGO_DATABASE: `${id}_inventory`,
    ORDER_EVENTS_TOPIC: orderEvents,
    INVENTORY_UPDATES_TOPIC: inventoryUpdates,
    INVENTORY_CONSUMER_GROUP: uniqueId(`${prefix}-inventory`),
    KAFKA_TOPIC_PARTITIONS: '1',
    OUTBOX_RELAY_INTERVAL_MS: '50',
  });
  const consume = options.orders === true;
  services.inventory = await startInventoryService(inventoryConfig, {
    logger: quietLogger,
    consume,
  });
  services.user = await startUserService(
    loadUserConfig({ ...common, GRPC_PORT: String(ports.user), MONGO_DATABASE: `${id}_user` }),
    { logger: quietLogger },
  );
  if (options.orders) {
    services.order = await startOrderService(
      loadOrderConfig({
        ...common,
        ...kafka,
        GRPC_PORT: String(ports.order),
        MONGO_DATABASE: `${id}_order`,
        ORDER_EVENTS_TOPIC: orderEvents,
        INVENTORY_UPDATES_TOPIC: inventoryUpdates,
        ORDER_CONSUMER_GROUP: uniqueId(`${prefix}-order`),
        PRODUCT_GRPC_URL: `127.0.0.1:${ports.product}`,
        OUTBOX_POLL_INTERVAL_MS: '50',
        PAYMENT_PROVIDER: 'fake',
      }),
      { logger: quietLogger, payments: createDeterministicPaymentProvider() },
    );
    services.notification = await startNotificationService(
      loadNotificationConfig({
        ...common,
        ...kafka,
        GRPC_PORT: String(ports.notification),
        MONGO_DATABASE: `${id}_notification`,
        SMTP_URL: env.smtpUrl,
        ORDER_EVENTS_TOPIC: orderEvents,
        USER_NOTIFICATIONS_TOPIC: userNotifications,
        NOTIFICATION_CONSUMER_GROUP: uniqueId(`${prefix}-notification`),
        USER_GRPC_URL: `127.0.0.1:${ports.user}`,
      }),
      { logger: quietLogger },
    );
  }

  const sub: Record<string, string> = {
    ...auth,
    SUBGRAPH_PORT: '0',
    METRICS_PORT: '0',
    LOG_LEVEL: 'fatal',
  };
  // The order path writes several documents per call; on the shared test database under load
  // (other suites, benchmarks) that takes seconds, so its stack allows longer calls.
  if (options.orders) sub.GRPC_DEADLINE_MS = '15000';
  const subgraphs: Record<string, RunningSubgraph> = {
    products: await startProductsSubgraph(
      loadProductsSubgraphConfig({ ...sub, PRODUCT_GRPC_URL: `127.0.0.1:${ports.product}` }),
      { logger: quietLogger },
    ),
    categories: await startCategoriesSubgraph(
      loadCategoriesSubgraphConfig({ ...sub, CATEGORY_GRPC_URL: `127.0.0.1:${ports.category}` }),
      { logger: quietLogger },
    ),
    inventory: await startInventorySubgraph(
      loadInventorySubgraphConfig({ ...sub, INVENTORY_GRPC_URL: `127.0.0.1:${ports.inventory}` }),
      { logger: quietLogger },
    ),
    users: await startUsersSubgraph(
      loadUsersSubgraphConfig({ ...sub, USER_GRPC_URL: `127.0.0.1:${ports.user}` }),
      { logger: quietLogger },
    ),
    orders: await startOrdersSubgraph(
      loadOrdersSubgraphConfig({ ...sub, ORDER_GRPC_URL: `127.0.0.1:${ports.order}` }),
      { logger: quietLogger },
    ),
    notifications: await startNotificationsSubgraph(
      loadNotificationsSubgraphConfig({
        ...sub,
        NOTIFICATION_GRPC_URL: `127.0.0.1:${ports.notification}`,
      }),
      { logger: quietLogger },
    ),
  };
  const gatewayEnv = (port: number): Record<string, string> => ({
    GATEWAY_PORT: String(port),
    METRICS_PORT: '0',
    LOG_LEVEL: 'fatal',
    ...(options.tokens
      ? { OIDC_ISSUER_URL: env.oidcIssuerUrl }
      : { GATEWAY_TRUST_IDENTITY_HEADERS: 'true' }),
    ...(options.orders ? { SUBGRAPH_TIMEOUT_MS: '30000' } : {}),
    PRODUCTS_SUBGRAPH_URL: subgraphs.products.url,
    CATEGORIES_SUBGRAPH_URL: subgraphs.categories.url,
    INVENTORY_SUBGRAPH_URL: subgraphs.inventory.url,
    USERS_SUBGRAPH_URL: subgraphs.users.url,
    ORDERS_SUBGRAPH_URL: subgraphs.orders.url,
    NOTIFICATIONS_SUBGRAPH_URL: subgraphs.notifications.url,
    ...(options.subscriptions === true || options.cache === true
      ? {
          ...kafka,
          ORDER_EVENTS_TOPIC: orderEvents,
          INVENTORY_UPDATES_TOPIC: inventoryUpdates,
          USER_NOTIFICATIONS_TOPIC: userNotifications,
          CATALOG_EVENTS_TOPIC: catalogEvents,
          SUBSCRIPTIONS_ENABLED: String(options.subscriptions === true),
          ENTITY_CACHE_ENABLED: String(options.cache === true),
          ...options.gatewayEnv,
        }
      : {}),
  });
  let gateway = await startGateway(loadGatewayConfig(gatewayEnv(await freePort())), {
    logger: quietLogger,
  });
  const gatewayUrl = gateway.url;
  const gatewayPort = gateway.port;
  const metricsOf = (): Record<string, number> =>
    Object.fromEntries(Object.entries(services).map(([k, s]) => [k, s.metricsPort]));
  const stack: Stack = {
    gatewayUrl,
    wsUrl: gatewayUrl.replace(/^http/, 'ws'),
    get gateway() {
      return gateway;
    },
    topics: { orderEvents, inventoryUpdates, userNotifications, catalogEvents },
    async restartGateway() {
      await gateway.stop();
      gateway = await startGateway(loadGatewayConfig(gatewayEnv(gatewayPort)), {
        logger: quietLogger,
      });
    },
    serviceMetrics: metricsOf(),
    grpcPorts: ports,
    subgraphs,
    async stopInventory() {
      await services.inventory.stop();
    },
    async restartInventory() {
      services.inventory = await startInventoryService(inventoryConfig, {
        logger: quietLogger,
        consume,
      });
      stack.serviceMetrics = metricsOf();
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
      for (const s of Object.values(services).reverse()) await s.stop();
    },
  };
  return stack;
}

/** Sum of `grpc_server_handled_total` for one method, scraped from a service's /metrics. */
export async function rpcCount(metricsPort: number, method: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('grpc_server_handled_total{') && line.includes(`grpc_method="${method}"`)) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}
