import {
  outgoingEvent,
  unpackPayload,
  type EventPublisher,
  type PromiseClient,
} from '@shop/platform';
import { events, inventory, inventoryEvents, order, orderEvents } from '@shop/proto';
import { uniqueId, waitFor } from '@shop/testing';
import type { RunningInventoryService } from '@shop/inventory-service';
import type { Kafka, KafkaMessage } from 'kafkajs';
import {
  adminMetadata,
  collect,
  sandbox,
  startInventory,
  testKafka,
  type Sandbox,
} from './harness';

type Client = PromiseClient<typeof inventory.InventoryServiceService>;

const created = (orderId: string, lines: Array<[string, number]>): orderEvents.OrderCreated =>
  orderEvents.OrderCreated.fromPartial({
    orderId,
    customerId: 'alice',
    lines: lines.map(([productId, quantity]) => ({
      productId,
      quantity,
      unitPrice: { amount: 100, currency: 'EUR' },
    })),
    total: { amount: 100, currency: 'EUR' },
    idempotencyKey: `key-${orderId}`,
  });

const orderEvent = <T>(
  type: Parameters<typeof outgoingEvent<T>>[0],
  payload: T,
  orderId: string,
  eventId = uniqueId('evt'),
) => outgoingEvent(type, payload, { aggregateType: 'order', aggregateId: orderId, eventId });

/** Decodes outcome events (StockReserved/StockRejected/...) of an order from collected records. */
const outcomesOf = (messages: KafkaMessage[], orderId: string): events.EventEnvelope[] =>
  messages
    .filter((m) => m.key?.toString() === orderId)
    .map((m) => events.EventEnvelope.decode(m.value!));

describe('inventory reservations from order events', () => {
  let box: Sandbox;
  let service: RunningInventoryService;
  let client: Client;
  let kafka: Kafka;
  let publisher: EventPublisher;
  let reader: { messages: KafkaMessage[]; stop(): Promise<void> };
  const md = { metadata: adminMetadata() };

  const newProduct = async (onHand: number): Promise<string> => {
    const productId = uniqueId('p');
    await client.setInitialStock({ productId, onHand }, md);
    return productId;
  };
  const stockOf = async (productId: string) => (await client.getStock({ productId })).stock!;
  const outcome = (orderId: string, count = 1) =>
    waitFor(
      `${count} outcome event(s) for ${orderId}`,
      () => {
        const found = outcomesOf(reader.messages, orderId);
        return found.length >= count ? found : undefined;
      },
      { timeoutMs: 30_000 },
    );

  beforeAll(async () => {
    box = sandbox('rsv');
    ({ service, client } = await startInventory(box));
    ({ kafka, publisher } = await testKafka());
    reader = await collect(kafka, box.inventoryUpdatesTopic);
  });

  afterAll(async () => {
    await reader.stop();
    await publisher.disconnect();
    client.close();
    await service.stop();
  });

  it('reserves every line of an order and publishes StockReserved keyed by the order id', async () => {
    const [a, b] = [await newProduct(5), await newProduct(5)];
    const orderId = uniqueId('o');
    await publisher.publish(box.orderEventsTopic, [
      orderEvent(
        orderEvents.OrderCreated,
        created(orderId, [
          [a, 2],
          [b, 3],
        ]),
        orderId,
      ),
    ]);
    const [envelope] = await outcome(orderId);
    expect(envelope.eventType).toBe('shop.inventory.v1.StockReserved');
    expect(unpackPayload(envelope, inventoryEvents.StockReserved).lines).toEqual(
      [
        { productId: a, quantity: 2 },
        { productId: b, quantity: 3 },
      ].sort((x, y) => (x.productId < y.productId ? -1 : 1)),
    );
    expect(await stockOf(a)).toMatchObject({ onHand: 5, reserved: 2, available: 3 });
    expect(await stockOf(b)).toMatchObject({ onHand: 5, reserved: 3, available: 2 });
  });

  it('reserves nothing when one of two lines is short, and says which line and why', async () => {
    const plenty = await newProduct(10);
    const scarce = await newProduct(1);
    const orderId = uniqueId('o');
    await publisher.publish(box.orderEventsTopic, [
      orderEvent(
        orderEvents.OrderCreated,
        created(orderId, [
          [plenty, 4],
          [scarce, 2],
        ]),
        orderId,
      ),
    ]);
    const [envelope] = await outcome(orderId);
    expect(envelope.eventType).toBe('shop.inventory.v1.StockRejected');
    expect(unpackPayload(envelope, inventoryEvents.StockRejected)).toEqual({
      orderId,
      lines: [{ productId: scarce, requested: 2, available: 1 }],
    });
    await waitFor('compensation', async () =>
      (await stockOf(plenty)).reserved === 0 ? true : undefined,
    );
    expect(await stockOf(plenty)).toMatchObject({ onHand: 10, reserved: 0, available: 10 });
    expect(await stockOf(scarce)).toMatchObject({ onHand: 1, reserved: 0, available: 1 });
  });

  it('has one effect when the same OrderCreated is delivered twice', async () => {
    const productId = await newProduct(5);
    const orderId = uniqueId('o');
    const event = orderEvent(orderEvents.OrderCreated, created(orderId, [[productId, 2]]), orderId);
    await publisher.publish(box.orderEventsTopic, [event]);
    await publisher.publish(box.orderEventsTopic, [event]);
    // A redelivery under a new event id (e.g. replayed from the DLQ) must not double-reserve either.
    await publisher.publish(box.orderEventsTopic, [
      orderEvent(orderEvents.OrderCreated, created(orderId, [[productId, 2]]), orderId),
    ]);
    const envelopes = await outcome(orderId, 2);
    // The re-published outcome keeps its event id, so the order service drops the repeat.
    expect(new Set(envelopes.map((e) => e.eventId)).size).toBe(1);
    const marker = uniqueId('o');
    await publisher.publish(box.orderEventsTopic, [
      orderEvent(orderEvents.OrderCreated, created(marker, [[productId, 1]]), marker),
    ]);
    await outcome(marker);
    expect(await stockOf(productId)).toMatchObject({ reserved: 3, available: 2 });
    const { movements } = await client.listMovements({ productId, orderId }, md);
    expect(movements.map((m) => m.kind)).toEqual([
      inventory.MovementKind.MOVEMENT_KIND_RESERVATION,
    ]);
  });

  it('releases a cancelled order once, and commits a confirmed one as sold', async () => {
    const productId = await newProduct(10);
    const [cancelledId, confirmedId] = [uniqueId('o'), uniqueId('o')];
    await publisher.publish(box.orderEventsTopic, [
      orderEvent(orderEvents.OrderCreated, created(cancelledId, [[productId, 3]]), cancelledId),
    ]);
    await publisher.publish(box.orderEventsTopic, [
      orderEvent(orderEvents.OrderCreated, created(confirmedId, [[productId, 4]]), confirmedId),
    ]);
    await outcome(cancelledId);
    await outcome(confirmedId);
    expect(await stockOf(productId)).toMatchObject({ onHand: 10, reserved: 7, available: 3 });

    const cancel = orderEvent(
      orderEvents.OrderCancelled,
      orderEvents.OrderCancelled.fromPartial({
        orderId: cancelledId,
        reason: order.CancellationReason.CANCELLATION_REASON_EXPIRED,
      }),
      cancelledId,
    );
    await publisher.publish(box.orderEventsTopic, [cancel, cancel]);
    await publisher.publish(box.orderEventsTopic, [
      orderEvent(
        orderEvents.OrderConfirmed,
        orderEvents.OrderConfirmed.fromPartial({ orderId: confirmedId }),
        confirmedId,
      ),
    ]);
    const released = await outcome(cancelledId, 2);
    expect(released[1].eventType).toBe('shop.inventory.v1.StockReleased');
    const committed = await outcome(confirmedId, 2);
    expect(committed[1].eventType).toBe('shop.inventory.v1.StockCommitted');
    expect(await stockOf(productId)).toMatchObject({ onHand: 6, reserved: 0, available: 6 });

    // A late cancellation of the confirmed order cannot release what was sold.
    await publisher.publish(box.orderEventsTopic, [
      orderEvent(
        orderEvents.OrderCancelled,
        orderEvents.OrderCancelled.fromPartial({ orderId: confirmedId }),
        confirmedId,
      ),
    ]);
    const marker = uniqueId('o');
    await publisher.publish(box.orderEventsTopic, [
      orderEvent(orderEvents.OrderCreated, created(marker, [[productId, 1]]), marker),
    ]);
    await outcome(marker);
    expect(await stockOf(productId)).toMatchObject({ onHand: 6, reserved: 1, available: 5 });
    const kinds = (
      await client.listMovements({ productId, orderId: cancelledId }, md)
    ).movements.map((m) => m.kind);
    expect(kinds).toEqual([
      inventory.MovementKind.MOVEMENT_KIND_RELEASE,
      inventory.MovementKind.MOVEMENT_KIND_RESERVATION,
    ]);
  });

  it('reserves nothing for an order cancelled before its creation was processed', async () => {
    const productId = await newProduct(3);
    const orderId = uniqueId('o');
    await service.reservations.release(orderId, uniqueId('e'), 'cancelled early');
    const result = await service.reservations.reserve(
      orderId,
      [{ productId, quantity: 1 }],
      uniqueId('e'),
    );
    expect(result.kind).toBe('cancelled');
    expect(await stockOf(productId)).toMatchObject({ reserved: 0, available: 3 });
  });

  it('counts rejected reservations in the metrics', async () => {
    expect(await service.registry.metrics()).toMatch(
      /inventory_reservations_rejected_total\{[^}]*\} [1-9]/,
    );
  });
});

describe('200 concurrent orders for 10 units', () => {
  let box: Sandbox;
  const instances: Array<{ service: RunningInventoryService; client: Client }> = [];
  let kafka: Kafka;
  let publisher: EventPublisher;

  beforeAll(async () => {
    box = sandbox('race');
    // Three instances in one consumer group: partitions (and so orders) spread across them.
    for (let i = 0; i < 3; i += 1) instances.push(await startInventory(box));
    ({ kafka, publisher } = await testKafka());
  });

  afterAll(async () => {
    await publisher.disconnect();
    for (const { service, client } of instances) {
      client.close();
      await service.stop();
    }
  });

  /** Audits the ledger of a product: it sums to the level and never went below zero. */
  const audit = async (client: Client, productId: string) => {
    const stock = (await client.getStock({ productId })).stock!;
    const movements: inventory.Movement[] = [];
    let pageToken = '';
    do {
      const res = await client.listMovements(
        { productId, orderId: '', page: { pageSize: 100, pageToken } },
        { metadata: adminMetadata() },
      );
      movements.push(...res.movements);
      pageToken = res.page?.nextPageToken ?? '';
    } while (pageToken);
    expect(movements).toHaveLength(stock.version);
    expect(movements.reduce((n, m) => n + m.deltaOnHand, 0)).toBe(stock.onHand);
    expect(movements.reduce((n, m) => n + m.deltaReserved, 0)).toBe(stock.reserved);
    for (const m of movements) expect(m.after!.available).toBeGreaterThanOrEqual(0);
    return { stock, movements };
  };

  it('reserves exactly 10 when the reservation runs concurrently in three instances', async () => {
    const { client } = instances[0];
    const productId = uniqueId('p');
    await client.setInitialStock({ productId, onHand: 10 }, { metadata: adminMetadata() });
    let minAvailable = 10;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        minAvailable = Math.min(
          minAvailable,
          (await client.getStock({ productId })).stock!.available,
        );
      }
    })();
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        instances[i % instances.length].service.reservations.reserve(
          `race-${productId}-${i}`,
          [{ productId, quantity: 1 }],
          uniqueId('e'),
        ),
      ),
    );
    watching = false;
    await watcher;
    expect(results.filter((r) => r.kind === 'reserved')).toHaveLength(10);
    expect(results.filter((r) => r.kind === 'rejected')).toHaveLength(190);
    expect(minAvailable).toBeGreaterThanOrEqual(0);
    const { stock } = await audit(client, productId);
    expect(stock).toMatchObject({ onHand: 10, reserved: 10, available: 0 });
  });

  it('reserves exactly 10 from 200 OrderCreated events consumed by three instances', async () => {
    const { client } = instances[0];
    const productId = uniqueId('p');
    await client.setInitialStock({ productId, onHand: 10 }, { metadata: adminMetadata() });
    const reader = await collect(kafka, box.inventoryUpdatesTopic);
    try {
      const orderIds = Array.from({ length: 200 }, (_, i) => `kafka-race-${productId}-${i}`);
      await Promise.all(
        orderIds.map((orderId) =>
          publisher.publish(box.orderEventsTopic, [
            orderEvent(orderEvents.OrderCreated, created(orderId, [[productId, 1]]), orderId),
          ]),
        ),
      );
      const wanted = new Set(orderIds);
      const outcomes = await waitFor(
        '200 reservation outcomes',
        () => {
          const found = reader.messages
            .filter((m) => wanted.has(m.key?.toString() ?? ''))
            .map((m) => events.EventEnvelope.decode(m.value!).eventType);
          return found.length >= 200 ? found : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 250 },
      );
      expect(outcomes.filter((t) => t === 'shop.inventory.v1.StockReserved')).toHaveLength(10);
      expect(outcomes.filter((t) => t === 'shop.inventory.v1.StockRejected')).toHaveLength(190);
      const { stock } = await audit(client, productId);
      expect(stock).toMatchObject({ onHand: 10, reserved: 10, available: 0 });
    } finally {
      await reader.stop();
    }
  }, 180_000);
});
