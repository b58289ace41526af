import {
  coalescingPublisher,
  connectMongo,
  createEventPublisher,
  createKafka,
  createLogger,
  createMetrics,
  ensureIndexes,
  ensureTopics,
  runConsumer,
  startService,
  startWithRollback,
  type Logger,
  type RunningService,
  withPolicy,
} from '@shop/platform';
import { inventory } from '@shop/proto';
import type { Registry } from 'prom-client';
import type { InventoryConfig } from './config';
import {
  createInventoryMetrics,
  createOrderEventHandler,
  oversold,
  startOutboxRelay,
  type OutboxRelay,
} from './events';
import { createReservations, type Reservations } from './reservations';
import { inventoryPolicy } from './policy';
import { createInventoryService } from './service';
import { createInventoryStore, inventoryIndexes, type InventoryStore } from './store';

/** Replaceable parts, for tests and embedding. */
export interface InventoryOverrides {
  logger?: Logger;
  /** Run the reservation consumer (default true). */
  consume?: boolean;
}

/** A started inventory service with handles tests and tools need. */
export interface RunningInventoryService extends RunningService {
  readonly store: InventoryStore;
  readonly reservations: Reservations;
  readonly relay: OutboxRelay;
  readonly registry: Registry;
}

/**
 * Wires the store, Kafka publisher, outbox relay, reservation consumer and gRPC server; stop()
 * drains calls, then releases what start-up opened, newest first (which a failed start-up does
 * at once).
 */
export async function startInventoryService(
  config: InventoryConfig,
  overrides: InventoryOverrides = {},
): Promise<RunningInventoryService> {
  const logger =
    overrides.logger ?? createLogger({ service: config.serviceName, level: config.logLevel });
  const metrics = createMetrics({ service: config.serviceName });
  const inventoryMetrics = createInventoryMetrics(metrics.registry);

  return startWithRollback(logger, async (opened) => {
    const mongo = opened.add(
      await connectMongo({ url: config.mongoUrl, database: config.mongoDatabase, logger }),
      (m) => m.close(),
    );
    // One index per call: FerretDB 1.24 drops the connection when one createIndexes re-declares
    // several existing indexes (a second instance starting on the same database).
    for (const [collection, specs] of Object.entries(inventoryIndexes)) {
      for (const spec of specs) await ensureIndexes(mongo.db, { [collection]: [spec] });
    }
    // The relay needs the store and the store hands the relay what it wrote: bound once both exist.
    const bound: { relay?: OutboxRelay } = {};
    const store = createInventoryStore(mongo.db, {
      onMoved: (movement) => {
        if (oversold(movement.after)) {
          inventoryMetrics.oversold.inc();
          logger.error(
            { productId: movement.productId, movementId: movement.id, levels: movement.after },
            'stock movement left the product oversold',
          );
        }
        bound.relay?.publishSoon([movement]);
      },
    });
    const reservations = createReservations({ store });

    const kafka = createKafka({
      brokers: config.kafkaBrokers,
      clientId: config.serviceName,
      logger,
    });
    await ensureTopics(kafka, [
      { name: config.orderEventsTopic, partitions: config.topicPartitions },
      { name: config.inventoryUpdatesTopic, partitions: config.topicPartitions },
    ]);
    // Outcomes of concurrent reservations and the stock changes they wrote share produce requests.
    const publisher = opened.add(
      coalescingPublisher(await createEventPublisher(kafka, { producerName: 'inventory-service' })),
      (p) => p.disconnect(),
    );
    const relay = opened.add(
      startOutboxRelay({
        store,
        publisher,
        topic: config.inventoryUpdatesTopic,
        intervalMs: config.relayIntervalMs,
        logger,
        metrics: inventoryMetrics,
      }),
      (r) => r.stop(),
    );
    bound.relay = relay;
    if (overrides.consume !== false) {
      opened.add(
        await runConsumer({
          kafka,
          groupId: config.consumerGroup,
          topics: [config.orderEventsTopic],
          logger,
          registry: metrics.registry,
          // Orders are independent of each other: a batch's orders are reserved side by side,
          // so the reservations of a hot product meet in its writer and share one write.
          keyConcurrency: config.consumerKeyConcurrency,
          handle: createOrderEventHandler({
            store,
            reservations,
            publisher,
            topics: {
              orderEvents: config.orderEventsTopic,
              inventoryUpdates: config.inventoryUpdatesTopic,
            },
            metrics: inventoryMetrics,
            logger,
          }),
        }),
        (c) => c.stop(),
      );
    }

    const running = await startService({
      config,
      logger,
      registry: metrics.registry,
      interceptors: [metrics.grpcServerInterceptor],
      register: (server) =>
        server.addService(
          'shop.inventory.v1.InventoryService',
          inventory.InventoryServiceService,
          withPolicy(createInventoryService({ store }), inventoryPolicy, config.enforcePolicy),
        ),
      // After the drain: the consumer, the relay, the publisher, then the store.
      onStop: [() => opened.releaseAll()],
    });
    return { ...running, store, reservations, relay, registry: metrics.registry };
  });
}
