import {
  connectMongo,
  createKafka,
  createLogger,
  createMetrics,
  ensureIndexes,
  ensureTopics,
  markerPublisher,
  runConsumer,
  startService,
  startWithRollback,
  type EventPublisher,
  type Logger,
  type RunningService,
} from '@shop/platform';
import { order, orderEvents } from '@shop/proto';
import type { Kafka } from 'kafkajs';
import type { OrderConfig } from './config';
import { createInventoryUpdatesHandler, topicSpecs } from './events';
import { createOutboxRelay } from './outbox';
import { registerOrderMetrics } from './metrics';
import { createDeterministicPaymentProvider, type PaymentProvider } from './payments';
import { createGrpcProductCatalog, type ProductCatalog } from './products';
import { createOrderService } from './service';
import { ORDER_INDEXES, createOrderStore } from './store';
import { createStripePaymentProvider } from './stripe';
import { createOrderWorkflow, systemClock, type Clock } from './workflow';

/** Replaceable collaborators, for tests and embedding. */
export interface OrderServiceOverrides {
  logger?: Logger;
  payments?: PaymentProvider;
  products?: ProductCatalog;
  clock?: Clock;
  /** Publisher factory of the outbox relay (default: a producer on the configured brokers). */
  connectPublisher?: () => Promise<EventPublisher>;
}

/** A running order service. */
export interface RunningOrderService extends RunningService {
  /** Runs one expiry sweep now (the loop also runs on its interval). */
  expireNow(): Promise<number>;
}

function paymentProvider(config: OrderConfig): PaymentProvider {
  if (config.payments.provider === 'fake') {
    return createDeterministicPaymentProvider({ timeoutMs: config.payments.timeoutMs });
  }
  return createStripePaymentProvider({
    apiKey: config.payments.stripeApiKey,
    apiBase: config.payments.stripeApiBase,
    timeoutMs: config.payments.timeoutMs,
  });
}

/**
 * Starts the order service: MongoDB (indexes), Kafka topics, the outbox relay, the
 * inventory-updates consumer, the expiry sweeper, and the gRPC server with `/metrics`; stop()
 * drains calls, then releases what start-up opened, newest first (which a failed start-up does
 * at once).
 */
export async function startOrderService(
  config: OrderConfig,
  overrides: OrderServiceOverrides = {},
): Promise<RunningOrderService> {
  const logger =
    overrides.logger ?? createLogger({ service: config.serviceName, level: config.logLevel });
  const metrics = createMetrics({ service: config.serviceName });
  return startWithRollback(logger, async (opened) => {
    const mongo = opened.add(
      await connectMongo({ url: config.mongoUrl, database: config.mongoDatabase, logger }),
      (m) => m.close(),
    );
    await ensureIndexes(mongo.db, ORDER_INDEXES);
    const store = createOrderStore(mongo.db);

    const kafka: Kafka = createKafka({
      brokers: config.kafkaBrokers,
      clientId: config.serviceName,
      logger,
    });
    await ensureTopics(kafka, topicSpecs(config.topics));

    const orderMetrics = registerOrderMetrics(metrics.registry, store);
    const relay = createOutboxRelay({
      store,
      topic: config.topics.orderEvents,
      // Backed by the outbox: a send fails fast while Kafka is away and the loop retries.
      connect: overrides.connectPublisher ?? markerPublisher(kafka, config.serviceName),
      logger,
      pollIntervalMs: config.outboxPollIntervalMs,
      onPublished: (events) => {
        const now = Date.now();
        for (const e of events) {
          if (e.eventType !== orderEvents.OrderConfirmed.$type || !e.occurredAt) continue;
          orderMetrics.stage('confirmed_to_published', (now - e.occurredAt.getTime()) / 1000);
        }
      },
    });
    const payments = overrides.payments ?? paymentProvider(config);
    const workflow = createOrderWorkflow({
      store,
      payments,
      clock: overrides.clock ?? systemClock,
      logger,
      pendingTtlMs: config.pendingTtlMs,
      paymentMaxAttempts: config.payments.maxAttempts,
      onEventsStored: (doc) => relay.publishSoon(doc),
      onTransition: (to, reason) => orderMetrics.transition(to, reason),
      onStage: (stage, seconds) => orderMetrics.stage(stage, seconds),
    });
    relay.start();
    opened.add(relay, (r) => r.stop());

    const consumer = await runConsumer({
      kafka,
      groupId: config.consumerGroup,
      topics: [config.topics.inventoryUpdates],
      logger,
      registry: metrics.registry,
      maxAttempts: config.consumerMaxAttempts,
      initialBackoffMs: config.consumerInitialBackoffMs,
      // Orders are independent: the orders of a fetched batch are paid for side by side.
      keyConcurrency: config.consumerKeyConcurrency,
      handle: createInventoryUpdatesHandler({ store, workflow }),
    });
    opened.add(consumer, (c) => c.stop());

    let sweeping = Promise.resolve(0);
    const sweep = (): Promise<number> => {
      sweeping = sweeping
        .catch(() => 0)
        .then(() => workflow.expireDue())
        .catch((err: unknown) => {
          logger.warn({ err }, 'expiry sweep failed');
          return 0;
        });
      return sweeping;
    };
    const sweeper = setInterval(() => void sweep(), config.expirySweepIntervalMs);
    sweeper.unref();
    opened.add(sweeper, async (timer) => {
      clearInterval(timer);
      await sweeping;
    });

    // The platform's client metrics interceptor breaks calls (grpc-js passes no `next` to its
    // onReceiveStatus); reported to the platform owner, left out until fixed.
    const products = opened.add(
      overrides.products ?? createGrpcProductCatalog(config.productServiceUrl),
      (p) => p.close(),
    );

    const running = await startService({
      config,
      logger,
      registry: metrics.registry,
      interceptors: [metrics.grpcServerInterceptor],
      register: (server) =>
        server.addService(
          'shop.order.v1.OrderService',
          order.OrderServiceService,
          createOrderService({ store, workflow, products, paymentProvider: payments.name }),
        ),
      // After the drain: the catalog client, the sweeper, the consumer, the relay, the store.
      onStop: [() => opened.releaseAll()],
    });
    return { ...running, stop: () => running.stop(), expireNow: sweep };
  });
}
