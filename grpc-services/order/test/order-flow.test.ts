import { deadLetterTopic } from '@shop/platform';
import { events, inventoryEvents, order, orderEvents } from '@shop/proto';
import { waitFor } from '@shop/testing';
import { replayDeadLetters } from '@shop/platform';
import { TEST_TOKENS } from '../src';
import {
  alice,
  as,
  bob,
  admin,
  placeOrderRequest,
  publishInventoryEvent,
  recordTopic,
  reserved,
  startOrderHarness,
  type OrderHarness,
} from './support';

const S = order.OrderStatus;
const R = order.CancellationReason;
const P = order.PaymentStatus;

describe('order lifecycle driven by inventory outcomes', () => {
  let h: OrderHarness;
  let recorder: Awaited<ReturnType<typeof recordTopic>>;

  beforeAll(async () => {
    h = await startOrderHarness('order-flow', {
      env: { PAYMENT_MAX_ATTEMPTS: '3', CONSUMER_MAX_ATTEMPTS: '4', ORDER_PENDING_TTL_MS: '60000' },
    });
    recorder = await recordTopic(h.kafka, h.config.topics.orderEvents);
  });

  afterAll(async () => {
    await recorder.stop();
    await h.stop();
  });

  /** Order events published for one order, as [type name, payload] in publication order. */
  const publishedFor = (orderId: string) =>
    recorder.messages
      .map((m) => events.EventEnvelope.decode(m.value!))
      .filter((e) => e.aggregateId === orderId)
      .map((e) => e.eventType.replace('shop.order.v1.', ''));

  const place = async (token = 'pm_card_visa') =>
    (await h.client.placeOrder(placeOrderRequest({ paymentMethodToken: token }), as(alice))).order!;

  const settled = (id: string, want: order.OrderStatus) =>
    waitFor(
      `order ${id} to become ${order.orderStatusToJSON(want)}`,
      async () => {
        const { order: o } = await h.client.getOrder({ id }, as(alice));
        return o!.status === want ? o! : undefined;
      },
      { timeoutMs: 30_000 },
    );

  it('reserved -> authorized and captured -> CONFIRMED, with every change published', async () => {
    const placed = await place();
    await publishInventoryEvent(h, inventoryEvents.StockReserved, reserved(placed));
    const confirmed = await settled(placed.id, S.ORDER_STATUS_CONFIRMED);
    expect(confirmed.payment).toMatchObject({
      status: P.PAYMENT_STATUS_CAPTURED,
      intentId: `fake_pi_${placed.id}`,
    });
    expect(confirmed.expiresAt).toBeUndefined();
    expect(confirmed.statusHistory.map((c) => c.status)).toEqual([
      S.ORDER_STATUS_PENDING,
      S.ORDER_STATUS_CONFIRMED,
    ]);
    expect(h.payments.calls.filter((c) => c.orderId === placed.id).map((c) => c.op)).toEqual([
      'authorize',
      'capture',
    ]);
    await waitFor('OrderConfirmed published', () =>
      publishedFor(placed.id).includes('OrderConfirmed') ? true : undefined,
    );
    expect(publishedFor(placed.id)).toEqual([
      'OrderCreated',
      'OrderStatusChanged',
      'OrderStatusChanged',
      'OrderConfirmed',
    ]);
  });

  it('rejected -> CANCELLED (OUT_OF_STOCK) naming the product, without touching the payment', async () => {
    const placed = await place();
    await publishInventoryEvent(
      h,
      inventoryEvents.StockRejected,
      inventoryEvents.StockRejected.fromPartial({
        orderId: placed.id,
        lines: [{ productId: placed.lines[0].productId, requested: 1, available: 0 }],
      }),
    );
    const cancelled = await settled(placed.id, S.ORDER_STATUS_CANCELLED);
    expect(cancelled.cancellationReason).toBe(R.CANCELLATION_REASON_OUT_OF_STOCK);
    expect(cancelled.statusHistory.at(-1)!.note).toBe(
      'Out of stock: Kettle (asked 1, 0 available).',
    );
    expect(h.payments.calls.filter((c) => c.orderId === placed.id)).toEqual([]);
  });

  it('declined card -> CANCELLED (PAYMENT_DECLINED) and OrderCancelled, which releases stock', async () => {
    const placed = await place(TEST_TOKENS.decline);
    await publishInventoryEvent(h, inventoryEvents.StockReserved, reserved(placed));
    const cancelled = await settled(placed.id, S.ORDER_STATUS_CANCELLED);
    expect(cancelled).toMatchObject({
      cancellationReason: R.CANCELLATION_REASON_PAYMENT_DECLINED,
      payment: { status: P.PAYMENT_STATUS_DECLINED, failureCode: 'card_declined' },
    });
    const record = await waitFor('OrderCancelled published', () =>
      recorder.messages
        .map((m) => events.EventEnvelope.decode(m.value!))
        .find(
          (e) => e.aggregateId === placed.id && e.eventType === orderEvents.OrderCancelled.$type,
        ),
    );
    expect(orderEvents.OrderCancelled.decode(record.payload!.value)).toMatchObject({
      orderId: placed.id,
      reason: R.CANCELLATION_REASON_PAYMENT_DECLINED,
      fromStatus: S.ORDER_STATUS_PENDING,
      refunded: false,
      lines: placed.lines,
    });
  });

  it('payment timeouts are retried, then the order is CANCELLED (PAYMENT_FAILED), never stuck', async () => {
    const placed = await place(TEST_TOKENS.timeout);
    await publishInventoryEvent(h, inventoryEvents.StockReserved, reserved(placed));
    const cancelled = await settled(placed.id, S.ORDER_STATUS_CANCELLED);
    expect(cancelled).toMatchObject({
      cancellationReason: R.CANCELLATION_REASON_PAYMENT_FAILED,
      payment: { status: P.PAYMENT_STATUS_FAILED, failureCode: 'timeout' },
    });
    expect(
      h.payments.calls.filter((c) => c.orderId === placed.id && c.op === 'authorize'),
    ).toHaveLength(3);
  });

  it('a declined capture voids the hold and cancels as PAYMENT_DECLINED', async () => {
    const placed = await place(TEST_TOKENS.captureDecline);
    await publishInventoryEvent(h, inventoryEvents.StockReserved, reserved(placed));
    await settled(placed.id, S.ORDER_STATUS_CANCELLED);
    expect(h.payments.calls.filter((c) => c.orderId === placed.id).map((c) => c.op)).toEqual([
      'authorize',
      'capture',
      'void',
    ]);
  });

  it('the same StockReserved delivered twice (and a second one with a new id) charges once', async () => {
    const placed = await place();
    const eventId = await publishInventoryEvent(h, inventoryEvents.StockReserved, reserved(placed));
    await publishInventoryEvent(h, inventoryEvents.StockReserved, reserved(placed), eventId);
    await publishInventoryEvent(h, inventoryEvents.StockReserved, reserved(placed));
    await settled(placed.id, S.ORDER_STATUS_CONFIRMED);
    const marker = await place();
    await publishInventoryEvent(h, inventoryEvents.StockReserved, reserved(marker));
    await settled(marker.id, S.ORDER_STATUS_CONFIRMED); // everything before it was consumed
    expect(h.payments.calls.filter((c) => c.orderId === placed.id).map((c) => c.op)).toEqual([
      'authorize',
      'capture',
    ]);
    const { order: after } = await h.client.getOrder({ id: placed.id }, as(alice));
    expect(after!.statusHistory).toHaveLength(2);
    expect(
      await h.db.collection('processed_events').countDocuments({ _id: eventId as never }),
    ).toBe(1);
  });

  it('customer cancellation after confirmation refunds and publishes OrderCancelled(refunded)', async () => {
    const placed = await place();
    await publishInventoryEvent(h, inventoryEvents.StockReserved, reserved(placed));
    await settled(placed.id, S.ORDER_STATUS_CONFIRMED);
    expect(
      await h.client
        .cancelOrder({ id: placed.id, note: 'changed my mind' }, as(bob))
        .catch((e: { code: number }) => e.code),
    ).toBe(5);
    const { order: cancelled } = await h.client.cancelOrder(
      { id: placed.id, note: 'changed my mind' },
      as(alice),
    );
    expect(cancelled).toMatchObject({
      status: S.ORDER_STATUS_CANCELLED,
      cancellationReason: R.CANCELLATION_REASON_CUSTOMER_CANCELLED,
      payment: { status: P.PAYMENT_STATUS_REFUNDED },
    });
    expect(h.payments.calls.filter((c) => c.orderId === placed.id).map((c) => c.op)).toEqual([
      'authorize',
      'capture',
      'refund',
    ]);
    const record = await waitFor('OrderCancelled published', () =>
      recorder.messages
        .map((m) => events.EventEnvelope.decode(m.value!))
        .find(
          (e) => e.aggregateId === placed.id && e.eventType === orderEvents.OrderCancelled.$type,
        ),
    );
    expect(orderEvents.OrderCancelled.decode(record.payload!.value)).toMatchObject({
      reason: R.CANCELLATION_REASON_CUSTOMER_CANCELLED,
      fromStatus: S.ORDER_STATUS_CONFIRMED,
      refunded: true,
    });
    // Once cancelled, it stays cancelled: a late StockReserved has no effect.
    await publishInventoryEvent(h, inventoryEvents.StockReserved, reserved(placed));
    const err = await h.client
      .cancelOrder({ id: placed.id, note: '' }, as(alice))
      .catch((e: { code: number }) => e.code);
    expect(err).toBe(9); // FAILED_PRECONDITION
  });

  it('operators ship and deliver confirmed orders; shipped orders can no longer be cancelled', async () => {
    const placed = await place();
    await publishInventoryEvent(h, inventoryEvents.StockReserved, reserved(placed));
    await settled(placed.id, S.ORDER_STATUS_CONFIRMED);
    await h.client.markOrderShipped({ id: placed.id, trackingReference: 'DHL-1' }, as(admin));
    expect(
      await h.client
        .cancelOrder({ id: placed.id, note: '' }, as(alice))
        .catch((e: { code: number }) => e.code),
    ).toBe(9);
    const { order: delivered } = await h.client.markOrderDelivered({ id: placed.id }, as(admin));
    expect(delivered!.statusHistory.map((c) => [c.status, c.note])).toEqual([
      [S.ORDER_STATUS_PENDING, ''],
      [S.ORDER_STATUS_CONFIRMED, ''],
      [S.ORDER_STATUS_SHIPPED, 'Tracking: DHL-1'],
      [S.ORDER_STATUS_DELIVERED, ''],
    ]);
  });

  it('an event for an order it cannot find goes to the DLQ, and the replay re-drives it', async () => {
    const placed = await place();
    // The order "disappears" (e.g. a lagging replica), so the event exhausts its retries.
    const orders = h.db.collection('orders');
    const stashed = await orders.findOne({ _id: placed.id as never });
    await orders.deleteOne({ _id: placed.id as never });
    const dlq = await recordTopic(h.kafka, deadLetterTopic(h.config.topics.inventoryUpdates));
    try {
      await publishInventoryEvent(h, inventoryEvents.StockReserved, reserved(placed));
      await waitFor('the dead letter', () => (dlq.messages.length > 0 ? true : undefined), {
        timeoutMs: 30_000,
      });
      await orders.insertOne(stashed!);
      expect((await h.client.getOrder({ id: placed.id }, as(alice))).order!.status).toBe(
        S.ORDER_STATUS_PENDING,
      );

      const { replayed } = await replayDeadLetters(h.kafka, h.config.topics.inventoryUpdates, {
        groupId: `${h.config.consumerGroup}-replay`,
      });
      expect(replayed).toBe(1);
      await settled(placed.id, S.ORDER_STATUS_CONFIRMED);
      // Replaying again finds nothing new.
      const again = await replayDeadLetters(h.kafka, h.config.topics.inventoryUpdates, {
        groupId: `${h.config.consumerGroup}-replay`,
      });
      expect(again.replayed).toBe(0);
    } finally {
      await dlq.stop();
    }
  });

  it('a malformed payload is dead-lettered at once without blocking the orders behind it', async () => {
    const producer = h.kafka.producer();
    await producer.connect();
    await producer.send({
      topic: h.config.topics.inventoryUpdates,
      messages: [
        {
          key: 'x',
          value: Buffer.from(
            events.EventEnvelope.encode(
              events.EventEnvelope.fromPartial({
                eventId: 'bad-1',
                eventType: inventoryEvents.StockReserved.$type,
                payload: {
                  typeUrl: 'type.googleapis.com/shop.inventory.v1.StockReserved',
                  value: Buffer.from([0xff, 0xff, 0xff]),
                },
              }),
            ).finish(),
          ),
        },
      ],
    });
    await producer.disconnect();
    const placed = await place();
    await publishInventoryEvent(h, inventoryEvents.StockReserved, reserved(placed));
    await settled(placed.id, S.ORDER_STATUS_CONFIRMED);
  });
});

describe('order expiry', () => {
  let h: OrderHarness;

  beforeAll(async () => {
    h = await startOrderHarness('order-expiry', {
      env: { ORDER_PENDING_TTL_MS: '1000', ORDER_EXPIRY_SWEEP_INTERVAL_MS: '200' },
    });
  });

  afterAll(async () => {
    await h.stop();
  });

  it('cancels orders left PENDING past their expiry as EXPIRED (OrderCancelled releases stock)', async () => {
    const recorder = await recordTopic(h.kafka, h.config.topics.orderEvents);
    try {
      const { order: placed } = await h.client.placeOrder(placeOrderRequest(), as(alice));
      const expired = await waitFor(
        'the order to expire',
        async () => {
          const { order: o } = await h.client.getOrder({ id: placed!.id }, as(alice));
          return o!.status === S.ORDER_STATUS_CANCELLED ? o : undefined;
        },
        { timeoutMs: 20_000 },
      );
      expect(expired.cancellationReason).toBe(R.CANCELLATION_REASON_EXPIRED);
      await waitFor('OrderCancelled published', () =>
        recorder.messages
          .map((m) => events.EventEnvelope.decode(m.value!))
          .find(
            (e) => e.aggregateId === placed!.id && e.eventType === orderEvents.OrderCancelled.$type,
          ),
      );
      // A reservation arriving after expiry changes nothing.
      await publishInventoryEvent(h, inventoryEvents.StockReserved, reserved(placed!));
      await new Promise((r) => setTimeout(r, 500));
      expect((await h.client.getOrder({ id: placed!.id }, as(alice))).order!.status).toBe(
        S.ORDER_STATUS_CANCELLED,
      );
      expect(h.payments.calls.filter((c) => c.orderId === placed!.id)).toEqual([]);
    } finally {
      await recorder.stop();
    }
  });
});
