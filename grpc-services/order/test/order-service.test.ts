import { status } from '@grpc/grpc-js';
import { order, orderEvents, events } from '@shop/proto';
import { uniqueId, waitFor } from '@shop/testing';
import {
  admin,
  alice,
  as,
  bob,
  failure,
  grpcCode,
  kettle,
  mug,
  placeOrderRequest,
  recordTopic,
  retired,
  startOrderHarness,
  teaInDollars,
  type OrderHarness,
} from './support';

const S = order.OrderStatus;

describe('OrderService RPCs', () => {
  let h: OrderHarness;

  beforeAll(async () => {
    h = await startOrderHarness('order-rpc');
  });

  afterAll(async () => {
    await h.stop();
  });

  it('places a PENDING order priced by the product service, not by the caller', async () => {
    const { order: placed, replayed } = await h.client.placeOrder(placeOrderRequest(), as(alice));
    expect(replayed).toBe(false);
    expect(placed).toMatchObject({
      customerId: 'alice',
      status: S.ORDER_STATUS_PENDING,
      currency: 'EUR',
      total: { amount: kettle.price!.amount + 2 * mug.price!.amount, currency: 'EUR' },
      version: 1,
    });
    expect(placed!.lines).toEqual([
      expect.objectContaining({
        productId: kettle.id,
        sku: 'KET-1',
        productName: 'Kettle',
        quantity: 1,
        unitPrice: { amount: 2_499, currency: 'EUR' },
        lineTotal: { amount: 2_499, currency: 'EUR' },
      }),
      expect.objectContaining({
        productId: mug.id,
        quantity: 2,
        lineTotal: { amount: 1_798, currency: 'EUR' },
      }),
    ]);
    expect(placed!.statusHistory.map((c) => c.status)).toEqual([S.ORDER_STATUS_PENDING]);
    expect(placed!.expiresAt!.getTime()).toBeGreaterThan(Date.now());
    expect(placed!.payment).toMatchObject({
      provider: 'fake',
      status: order.PaymentStatus.PAYMENT_STATUS_PENDING,
    });
  });

  it('returns the same order for the same idempotency key sent 10 times concurrently', async () => {
    const request = placeOrderRequest({ idempotencyKey: uniqueId('same-key') });
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => h.client.placeOrder(request, as(alice))),
    );
    const ids = new Set(responses.map((r) => r.order!.id));
    expect(ids.size).toBe(1);
    expect(responses.filter((r) => !r.replayed)).toHaveLength(1);
    const stored = await h.db
      .collection('orders')
      .countDocuments({ customerId: 'alice', idempotencyKey: request.idempotencyKey });
    expect(stored).toBe(1);
  });

  it('treats the same key from another customer as another order', async () => {
    const request = placeOrderRequest({ idempotencyKey: uniqueId('shared-key') });
    const a = await h.client.placeOrder(request, as(alice));
    const b = await h.client.placeOrder(request, as(bob));
    expect(a.order!.id).not.toBe(b.order!.id);
  });

  it('refuses to reuse an idempotency key for a different order', async () => {
    const key = uniqueId('reused');
    await h.client.placeOrder(placeOrderRequest({ idempotencyKey: key }), as(alice));
    const err = await failure(
      h.client.placeOrder(
        placeOrderRequest({ idempotencyKey: key, lines: [{ productId: kettle.id, quantity: 5 }] }),
        as(alice),
      ),
    );
    expect(err).toMatchObject({
      code: status.FAILED_PRECONDITION,
      reason: 'IDEMPOTENCY_KEY_REUSED',
    });
  });

  it.each([
    ['an unknown product', 'p-nope'],
    ['a deleted product', retired.id],
  ])('refuses %s, naming the line', async (_case, productId) => {
    const err = await failure(
      h.client.placeOrder(
        placeOrderRequest({
          lines: [
            { productId: kettle.id, quantity: 1 },
            { productId, quantity: 1 },
          ],
        }),
        as(alice),
      ),
    );
    expect(err).toMatchObject({
      code: status.INVALID_ARGUMENT,
      reason: 'PRODUCT_NOT_FOUND',
      fieldViolations: [{ field: 'lines[1].product_id', description: 'no such product' }],
    });
  });

  it('refuses products priced in different currencies', async () => {
    const err = await failure(
      h.client.placeOrder(
        placeOrderRequest({
          lines: [
            { productId: kettle.id, quantity: 1 },
            { productId: teaInDollars.id, quantity: 1 },
          ],
        }),
        as(alice),
      ),
    );
    expect(err).toMatchObject({ code: status.FAILED_PRECONDITION, reason: 'MIXED_CURRENCIES' });
  });

  it('refuses invalid requests with field violations and anonymous callers', async () => {
    const err = await failure(h.client.placeOrder(placeOrderRequest({ lines: [] }), as(alice)));
    expect(err).toMatchObject({
      code: status.INVALID_ARGUMENT,
      fieldViolations: [{ field: 'lines' }],
    });
    expect(await grpcCode(h.client.placeOrder(placeOrderRequest()))).toBe(status.UNAUTHENTICATED);
  });

  it("hides other customers' orders but shows every order to operators", async () => {
    const { order: placed } = await h.client.placeOrder(placeOrderRequest(), as(alice));
    expect((await h.client.getOrder({ id: placed!.id }, as(alice))).order!.id).toBe(placed!.id);
    expect((await h.client.getOrder({ id: placed!.id }, as(admin))).order!.id).toBe(placed!.id);
    expect(await grpcCode(h.client.getOrder({ id: placed!.id }, as(bob)))).toBe(status.NOT_FOUND);
    const batch = await h.client.batchGetOrders({ ids: [placed!.id, 'nope', placed!.id] }, as(bob));
    expect(batch).toEqual({ orders: [], notFoundIds: [placed!.id, 'nope'] });
  });

  it("lists a customer's orders newest first across pages; operators list everyone's", async () => {
    const carol = { kind: 'user' as const, subject: uniqueId('carol'), roles: [] };
    const placed: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      placed.push((await h.client.placeOrder(placeOrderRequest(), as(carol))).order!.id);
    }
    const seen: string[] = [];
    let pageToken = '';
    do {
      const page = await h.client.listOrders(
        { customerId: '', statuses: [], page: { pageSize: 2, pageToken } },
        as(carol),
      );
      expect(page.orders.length).toBeLessThanOrEqual(2);
      seen.push(...page.orders.map((o) => o.id));
      pageToken = page.page!.nextPageToken;
    } while (pageToken);
    expect(seen).toEqual([...placed].reverse());

    // A customer asking for someone else's orders still gets their own.
    const sneaky = await h.client.listOrders(
      { customerId: 'alice', statuses: [], page: undefined },
      as(carol),
    );
    expect(sneaky.orders.every((o) => o.customerId === carol.subject)).toBe(true);
    const asAdmin = await h.client.listOrders(
      { customerId: carol.subject, statuses: [], page: undefined },
      as(admin),
    );
    expect(asAdmin.orders.map((o) => o.id)).toEqual([...placed].reverse());
    const all = await h.client.listOrders(
      {
        customerId: '',
        statuses: [S.ORDER_STATUS_PENDING],
        page: { pageSize: 100, pageToken: '' },
      },
      as(admin),
    );
    expect(new Set(all.orders.map((o) => o.customerId))).toEqual(
      new Set(['alice', 'bob', carol.subject]),
    );
    expect(
      await grpcCode(
        h.client.listOrders(
          { customerId: '', statuses: [], page: { pageSize: 2, pageToken: 'garbage!' } },
          as(carol),
        ),
      ),
    ).toBe(status.INVALID_ARGUMENT);
  });

  it('stores OrderCreated with the order and relays it to order-events, keyed by order id', async () => {
    const recorder = await recordTopic(h.kafka, h.config.topics.orderEvents);
    try {
      const { order: placed } = await h.client.placeOrder(placeOrderRequest(), as(alice));
      const record = await waitFor(
        'OrderCreated on order-events',
        () =>
          recorder.messages.find((m) => {
            const e = events.EventEnvelope.decode(m.value!);
            return e.aggregateId === placed!.id && e.eventType === orderEvents.OrderCreated.$type;
          }),
        { timeoutMs: 30_000 },
      );
      expect(record.key!.toString()).toBe(placed!.id);
      const envelope = events.EventEnvelope.decode(record.value!);
      const created = orderEvents.OrderCreated.decode(envelope.payload!.value);
      expect(created).toMatchObject({
        orderId: placed!.id,
        customerId: 'alice',
        customerEmail: 'alice@shop.local',
        total: placed!.total,
      });
      expect(envelope).toMatchObject({
        aggregateType: 'order',
        aggregateVersion: 1,
        producer: 'order-service',
      });
      await waitFor('the outbox to drain', async () => {
        const doc = await h.db.collection('orders').findOne({ _id: placed!.id as never });
        return doc?.['outboxPendingSince'] === null ? true : undefined;
      });
    } finally {
      await recorder.stop();
    }
  });

  it('lets operators ship and deliver only confirmed orders', async () => {
    const { order: placed } = await h.client.placeOrder(placeOrderRequest(), as(alice));
    expect(
      await grpcCode(
        h.client.markOrderShipped({ id: placed!.id, trackingReference: 'T1' }, as(alice)),
      ),
    ).toBe(status.PERMISSION_DENIED);
    const err = await failure(
      h.client.markOrderShipped({ id: placed!.id, trackingReference: 'T1' }, as(admin)),
    );
    expect(err).toMatchObject({ code: status.FAILED_PRECONDITION, reason: 'INVALID_TRANSITION' });
  });

  it('exposes orders by status and outbox age on /metrics', async () => {
    const body = await (await fetch(`http://127.0.0.1:${h.service.metricsPort}/metrics`)).text();
    expect(body).toMatch(/orders_by_status\{status="pending"[^}]*\} [1-9]/);
    expect(body).toMatch(/order_outbox_oldest_unpublished_age_seconds\{[^}]*\} \d/);
    expect(body).toMatch(/order_status_changes_total\{status="pending"/);
  });
});
