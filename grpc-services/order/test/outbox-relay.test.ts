import { createEventPublisher, createKafka } from '@shop/platform';
import { events } from '@shop/proto';
import { testEnv, waitFor } from '@shop/testing';
import { createOutboxRelay } from '../src/outbox';
import { createOrderStore } from '../src/store';
import {
  alice,
  as,
  placeOrderRequest,
  quietLogger,
  recordTopic,
  startOrderHarness,
  type OrderHarness,
} from './support';

describe('outbox relay', () => {
  let h: OrderHarness;

  beforeAll(async () => {
    // The service's own relay points at a broker that does not exist: Kafka is "down".
    const deadKafka = createKafka({
      brokers: ['127.0.0.1:1'],
      clientId: 'dead',
      logger: quietLogger,
    });
    h = await startOrderHarness('order-outbox', {
      overrides: {
        connectPublisher: () => createEventPublisher(deadKafka, { producerName: 'order-service' }),
      },
    });
  });

  afterAll(async () => {
    await h.stop();
  });

  it('keeps accepting orders while Kafka is unreachable and publishes them, in order, once it is back', async () => {
    const placed = [];
    for (let i = 0; i < 3; i += 1) {
      placed.push((await h.client.placeOrder(placeOrderRequest(), as(alice))).order!);
    }
    const orders = h.db.collection('orders');
    await new Promise((r) => setTimeout(r, 500));
    expect(await orders.countDocuments({ outboxPendingSince: { $ne: null } })).toBe(3);
    const metrics = await (await fetch(`http://127.0.0.1:${h.service.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(
      /order_outbox_oldest_unpublished_age_seconds\{[^}]*\} (0\.[1-9]|[1-9])/,
    );

    // A relay on a reachable broker (as the service's own one would after the outage).
    const live = createKafka({
      brokers: testEnv().kafkaBrokers,
      clientId: 'live',
      logger: quietLogger,
    });
    const recorder = await recordTopic(live, h.config.topics.orderEvents);
    const relay = createOutboxRelay({
      store: createOrderStore(h.db),
      topic: h.config.topics.orderEvents,
      connect: () => createEventPublisher(live, { producerName: 'order-service' }),
      logger: quietLogger,
      pollIntervalMs: 50,
    });
    relay.start();
    try {
      await waitFor('all six events', () => (recorder.messages.length >= 6 ? true : undefined), {
        timeoutMs: 30_000,
      });
      for (const o of placed) {
        const types = recorder.messages
          .map((m) => events.EventEnvelope.decode(m.value!))
          .filter((e) => e.aggregateId === o.id)
          .map((e) => e.eventType);
        expect(types).toEqual(['shop.order.v1.OrderCreated', 'shop.order.v1.OrderStatusChanged']);
      }
      await waitFor('the outbox to be marked published', async () =>
        (await orders.countDocuments({ outboxPendingSince: { $ne: null } })) === 0
          ? true
          : undefined,
      );
      const docs = await orders.find({}).toArray();
      expect(docs.map((d) => d['outboxSent'] as number)).toEqual([2, 2, 2]);
    } finally {
      await relay.stop();
      await recorder.stop();
    }
  });
});
