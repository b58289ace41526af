// The domain services of the in-process stack: each started from its own config, on a port
// reserved up front so every service can be told the others' addresses before any starts.
import { loadCategoryConfig, startCategoryService } from '@shop/category-service';
import { loadInventoryConfig, startInventoryService } from '@shop/inventory-service';
import { loadNotificationConfig, startNotificationService } from '@shop/notification-service';
import {
  createDeterministicPaymentProvider,
  loadOrderConfig,
  startOrderService,
} from '@shop/order-service';
import type { Logger, RunningService } from '@shop/platform';
import { loadProductConfig, startProductService } from '@shop/product-service';
import { freePort, quietLogger, testEnv, uniqueId } from '@shop/testing';
import { loadUserConfig, startUserService } from '@shop/user-service';

/** The six domain services, in the order the stack starts them. */
export const SERVICE_NAMES = [
  'category',
  'product',
  'inventory',
  'user',
  'order',
  'notification',
] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** Where the shared dependencies are; unset fields come from the Jest run's {@link testEnv}. */
export interface Dependencies {
  mongoUrl: string;
  /** Comma-separated. */
  kafkaBrokers: string;
  /** Needed with `tokens`. */
  oidcIssuerUrl: string;
  /** Needed when the notification service runs. */
  smtpUrl: string;
}

/** The stack's Kafka topics (unique per stack). */
export interface Topics {
  orderEvents: string;
  inventoryUpdates: string;
  userNotifications: string;
  catalogEvents: string;
}

/** What {@link startServices} runs and how. */
export interface ServicesOptions {
  /** The services to run, started in {@link SERVICE_NAMES} order; the others' ports stay closed. */
  services: readonly ServiceName[];
  /** The store, broker, realm and SMTP server (default: the test run's shared ones). */
  dependencies?: Partial<Dependencies>;
  /** Verify real bearer tokens against the realm instead of trusting identity metadata. */
  tokens?: boolean;
  /** Logger of every service (default: one that drops everything). */
  logger?: Logger;
  /** LOG_LEVEL of every service (default `fatal`). */
  logLevel?: string;
  /** Environment every service gets on top of the stack's (e.g. `ENFORCE_POLICY=false`). */
  env?: Record<string, string>;
  /** Environment of one service, on top of everything else. */
  envOf?: Partial<Record<ServiceName, Record<string, string>>>;
  /** Database names instead of `<unique id>_<service>` (e.g. a benchmark's fixed ones). */
  databases?: Partial<Record<ServiceName, string>>;
  /** Whether inventory consumes order events (default: when the order service runs). */
  inventoryConsumes?: boolean;
}

/** The running services of one stack. */
export interface RunningServices {
  /** The services running now, by name (a restart replaces the entry). */
  readonly running: Partial<Record<ServiceName, RunningService>>;
  /** The gRPC port of every service, running or not. */
  readonly ports: Record<ServiceName, number>;
  readonly databases: Record<ServiceName, string>;
  readonly topics: Topics;
  readonly dependencies: Dependencies;
  readonly tokens: boolean;
  readonly logger: Logger;
  readonly logLevel: string;
  /** `127.0.0.1:<port>` of a service. */
  readonly address: (name: ServiceName) => string;
  /** Metrics ports of the running services, by name. */
  metricsPorts(): Record<string, number>;
  /** Stops one service; its port stays reserved for {@link restart}. */
  stopService(name: ServiceName): Promise<void>;
  /** Starts a stopped service again with the same configuration. */
  restart(name: ServiceName): Promise<void>;
  /** Stops every running service, newest first. */
  stop(): Promise<void>;
}

/** The identity settings of every process: real tokens, or trusted identity metadata. */
export function authEnv(tokens: boolean, oidcIssuerUrl: string): Record<string, string> {
  return tokens ? { OIDC_ISSUER_URL: oidcIssuerUrl } : { AUTH_TRUST_IDENTITY_METADATA: 'true' };
}

/** Fills what the caller did not give from the test run's environment (read only if needed). */
function resolveDependencies(
  given: Partial<Dependencies> = {},
  needs: { tokens: boolean; smtp: boolean },
): Dependencies {
  const complete =
    given.mongoUrl !== undefined &&
    given.kafkaBrokers !== undefined &&
    (!needs.tokens || given.oidcIssuerUrl !== undefined) &&
    (!needs.smtp || given.smtpUrl !== undefined);
  if (complete) {
    return { oidcIssuerUrl: '', smtpUrl: '', ...given } as Dependencies;
  }
  const env = testEnv();
  return {
    mongoUrl: env.mongoUrl,
    kafkaBrokers: env.kafkaBrokers.join(','),
    oidcIssuerUrl: env.oidcIssuerUrl,
    smtpUrl: env.smtpUrl,
    ...given,
  };
}

/**
 * Starts the chosen services against the shared MongoDB and Kafka, each on its own unique
 * database, with unique topics and consumer groups; a failed start stops those already running.
 */
export async function startServices(
  prefix: string,
  options: ServicesOptions,
): Promise<RunningServices> {
  const wanted = new Set(options.services);
  const tokens = options.tokens === true;
  const deps = resolveDependencies(options.dependencies, {
    tokens,
    smtp: wanted.has('notification'),
  });
  const logger = options.logger ?? quietLogger;
  const logLevel = options.logLevel ?? 'fatal';
  const id = uniqueId(prefix).replace(/-/g, '_');
  const ports = {} as Record<ServiceName, number>;
  // Every port is reserved, so a subgraph of a service that does not run reads it as unavailable.
  for (const name of SERVICE_NAMES) ports[name] = await freePort();
  const address = (name: ServiceName): string => `127.0.0.1:${ports[name]}`;
  const databases = Object.fromEntries(
    SERVICE_NAMES.map((name) => [name, options.databases?.[name] ?? `${id}_${name}`]),
  ) as Record<ServiceName, string>;
  const topics: Topics = {
    inventoryUpdates: uniqueId(`${prefix}-inventory-updates`),
    catalogEvents: uniqueId(`${prefix}-catalog-events`),
    orderEvents: uniqueId(`${prefix}-order-events`),
    userNotifications: uniqueId(`${prefix}-user-notifications`),
  };
  const common = {
    ...authEnv(tokens, deps.oidcIssuerUrl),
    MONGO_URL: deps.mongoUrl,
    METRICS_PORT: '0',
    LOG_LEVEL: logLevel,
  };
  const kafka = { KAFKA_BROKERS: deps.kafkaBrokers };
  const envOf = (name: ServiceName, own: Record<string, string>): Record<string, string> => ({
    ...common,
    GRPC_PORT: String(ports[name]),
    MONGO_DATABASE: databases[name],
    ...own,
    ...options.env,
    ...options.envOf?.[name],
  });
  const inventoryConsumes = options.inventoryConsumes ?? wanted.has('order');
  // Named once, so a restarted service rejoins its group where it left off.
  const groups = {
    stock: uniqueId(`${prefix}-stock`),
    inventory: uniqueId(`${prefix}-inventory`),
    order: uniqueId(`${prefix}-order`),
    notification: uniqueId(`${prefix}-notification`),
  };
  const starters: Record<ServiceName, () => Promise<RunningService>> = {
    category: () =>
      startCategoryService(
        loadCategoryConfig(
          envOf('category', {
            ...kafka,
            CATALOG_EVENTS_TOPIC: topics.catalogEvents,
            PRODUCT_GRPC_URL: address('product'),
          }),
        ),
        { logger },
      ),
    product: () =>
      startProductService(
        loadProductConfig(
          envOf('product', {
            ...kafka,
            INVENTORY_UPDATES_TOPIC: topics.inventoryUpdates,
            CATALOG_EVENTS_TOPIC: topics.catalogEvents,
            STOCK_CONSUMER_GROUP: groups.stock,
            CATEGORY_GRPC_URL: address('category'),
          }),
        ),
        { logger },
      ),
    inventory: () =>
      startInventoryService(
        loadInventoryConfig(
          envOf('inventory', {
            ...kafka,
            ORDER_EVENTS_TOPIC: topics.orderEvents,
            INVENTORY_UPDATES_TOPIC: topics.inventoryUpdates,
            INVENTORY_CONSUMER_GROUP: groups.inventory,
            KAFKA_TOPIC_PARTITIONS: '1',
            OUTBOX_RELAY_INTERVAL_MS: '50',
          }),
        ),
        { logger, consume: inventoryConsumes },
      ),
    user: () => startUserService(loadUserConfig(envOf('user', {})), { logger }),
    order: () =>
      startOrderService(
        loadOrderConfig(
          envOf('order', {
            ...kafka,
            ORDER_EVENTS_TOPIC: topics.orderEvents,
            INVENTORY_UPDATES_TOPIC: topics.inventoryUpdates,
            ORDER_CONSUMER_GROUP: groups.order,
            PRODUCT_GRPC_URL: address('product'),
            OUTBOX_POLL_INTERVAL_MS: '50',
            PAYMENT_PROVIDER: 'fake',
          }),
        ),
        { logger, payments: createDeterministicPaymentProvider() },
      ),
    notification: () =>
      startNotificationService(
        loadNotificationConfig(
          envOf('notification', {
            ...kafka,
            SMTP_URL: deps.smtpUrl,
            ORDER_EVENTS_TOPIC: topics.orderEvents,
            USER_NOTIFICATIONS_TOPIC: topics.userNotifications,
            NOTIFICATION_CONSUMER_GROUP: groups.notification,
            USER_GRPC_URL: address('user'),
          }),
        ),
        { logger },
      ),
  };
  const running: Partial<Record<ServiceName, RunningService>> = {};
  const stop = async (): Promise<void> => {
    for (const name of [...SERVICE_NAMES].reverse()) {
      const service = running[name];
      delete running[name];
      await service?.stop();
    }
  };
  try {
    for (const name of SERVICE_NAMES) if (wanted.has(name)) running[name] = await starters[name]();
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    running,
    ports,
    databases,
    topics,
    dependencies: deps,
    tokens,
    logger,
    logLevel,
    address,
    metricsPorts: () =>
      Object.fromEntries(Object.entries(running).map(([name, s]) => [name, s.metricsPort])),
    async stopService(name) {
      const service = running[name];
      delete running[name];
      await service?.stop();
    },
    async restart(name) {
      running[name] = await starters[name]();
    },
    stop,
  };
}
