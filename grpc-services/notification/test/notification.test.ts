import { status } from '@grpc/grpc-js';
import { events, notification, notificationEvents, order, orderEvents } from '@shop/proto';
import { uniqueId, waitFor } from '@shop/testing';
import type { KafkaMessage } from 'kafkajs';
import {
  as,
  expectMails,
  mailText,
  mailsTo,
  profile,
  publishOrderEvent,
  startNotificationHarness,
  startTwilioRecorder,
  startUserStub,
  type NotificationHarness,
} from './support';

const C = notification.NotificationChannel;
const NS = notification.NotificationStatus;
const R = order.CancellationReason;

const lines = [
  {
    productId: 'p-kettle',
    sku: 'KET-1',
    productName: 'Kettle',
    quantity: 1,
    unitPrice: { amount: 2_499, currency: 'EUR' },
    lineTotal: { amount: 2_499, currency: 'EUR' },
  },
];
const total = { amount: 2_499, currency: 'EUR' };

describe('notification service', () => {
  const twilioSid = 'AC0123456789abcdef0123456789abcdef';
  let users: Awaited<ReturnType<typeof startUserStub>>;
  let twilio: Awaited<ReturnType<typeof startTwilioRecorder>>;
  let h: NotificationHarness;
  const sent: KafkaMessage[] = [];
  let stopRecorder: () => Promise<void>;

  beforeAll(async () => {
    users = await startUserStub();
    twilio = await startTwilioRecorder();
    h = await startNotificationHarness('notify', {
      USER_GRPC_URL: users.address,
      TWILIO_ACCOUNT_SID: twilioSid,
      TWILIO_AUTH_TOKEN: 'twilio-secret',
      TWILIO_FROM: '+15005550006',
      TWILIO_API_BASE: twilio.url,
    });
    const consumer = h.kafka.consumer({ groupId: uniqueId('sent-recorder') });
    await consumer.connect();
    await consumer.subscribe({ topic: h.config.topics.userNotifications, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void sent.push(message) });
    stopRecorder = () => consumer.disconnect();
  });

  afterAll(async () => {
    await stopRecorder();
    await h.stop();
    await twilio.stop();
    await users.stop();
  });

  const newUser = (
    overrides: Parameters<typeof profile>[0] extends infer P ? Partial<P> : never = {},
  ) => {
    const u = profile({ id: uniqueId('user'), ...overrides });
    users.users.set(u.id, u);
    return u;
  };

  it('emails a readable confirmation for each of placed, confirmed and cancelled', async () => {
    const u = newUser();
    const orderId = uniqueId('order');
    await publishOrderEvent(h, orderEvents.OrderCreated, {
      orderId,
      customerId: u.id,
      lines,
      total,
      idempotencyKey: 'k',
      customerEmail: u.email,
    });
    await publishOrderEvent(h, orderEvents.OrderConfirmed, {
      orderId,
      customerId: u.id,
      total,
      paymentIntentId: 'pi_1',
      customerEmail: u.email,
    });
    await publishOrderEvent(h, orderEvents.OrderCancelled, {
      orderId,
      customerId: u.id,
      reason: R.CANCELLATION_REASON_CUSTOMER_CANCELLED,
      fromStatus: order.OrderStatus.ORDER_STATUS_CONFIRMED,
      note: 'changed my mind',
      refunded: true,
      customerEmail: u.email,
      lines,
      total,
    });
    const mails = await expectMails(u.email, 3);
    const ref = orderId.slice(0, 8).toUpperCase();
    expect(mails.map((m) => m.Subject).sort()).toEqual(
      [
        `We received your order ${ref}`,
        `Your order ${ref} is confirmed`,
        `Your order ${ref} was cancelled`,
      ].sort(),
    );
    const cancelled = mails.find((m) => m.Subject.includes('cancelled'))!;
    const text = await mailText(cancelled.ID);
    expect(text).toContain('was cancelled because you cancelled it.');
    expect(text).toContain('changed my mind');
    expect(text).toContain('Your payment of €24.99 has been refunded.');
    expect(text).toContain('1 × Kettle  €24.99');

    const { notifications } = await h.client.listNotifications(
      { userId: '', page: undefined },
      as({ kind: 'user', subject: u.id, roles: [] }),
    );
    expect(notifications.map((n) => [n.template, n.channel, n.status, n.recipient])).toEqual(
      expect.arrayContaining([
        ['order-placed', C.NOTIFICATION_CHANNEL_EMAIL, NS.NOTIFICATION_STATUS_SENT, u.email],
        ['order-confirmed', C.NOTIFICATION_CHANNEL_EMAIL, NS.NOTIFICATION_STATUS_SENT, u.email],
        ['order-cancelled', C.NOTIFICATION_CHANNEL_EMAIL, NS.NOTIFICATION_STATUS_SENT, u.email],
      ]),
    );
    expect(notifications).toHaveLength(3);

    await waitFor('three NotificationSent events', () =>
      sent.filter((m) => m.key?.toString() === u.id).length >= 3 ? true : undefined,
    );
    const published = sent
      .filter((m) => m.key?.toString() === u.id)
      .map((m) => events.EventEnvelope.decode(m.value!))
      .map((e) => notificationEvents.NotificationSent.decode(e.payload!.value));
    expect(published.map((p) => p.template).sort()).toEqual([
      'order-cancelled',
      'order-confirmed',
      'order-placed',
    ]);
    expect(
      published.every((p) => p.orderId === orderId && p.status === NS.NOTIFICATION_STATUS_SENT),
    ).toBe(true);
  });

  it('sends one email per event even when the event is delivered twice', async () => {
    const u = newUser();
    const orderId = uniqueId('order');
    const payload = {
      orderId,
      customerId: u.id,
      total,
      paymentIntentId: 'pi',
      customerEmail: u.email,
    };
    const eventId = await publishOrderEvent(h, orderEvents.OrderConfirmed, payload);
    await publishOrderEvent(h, orderEvents.OrderConfirmed, payload, eventId);
    await publishOrderEvent(h, orderEvents.OrderConfirmed, payload, eventId);
    // A later event for the same user proves the duplicates were consumed before we count.
    await publishOrderEvent(h, orderEvents.OrderCreated, {
      orderId,
      customerId: u.id,
      lines,
      total,
      idempotencyKey: 'k',
      customerEmail: u.email,
    });
    const mails = await expectMails(u.email, 2);
    expect(mails.filter((m) => m.Subject.includes('confirmed'))).toHaveLength(1);
    expect(mails.find((m) => m.Subject.includes('confirmed'))!.MessageID).toBe(
      `${eventId}.email@shop.local`,
    );
  });

  it('sends an SMS through Twilio to users who opted in, exactly as the Messages API expects', async () => {
    const u = newUser({
      phone: '+4915112345678',
      notificationPreferences: { emailEnabled: true, smsEnabled: true },
    });
    const orderId = uniqueId('order');
    await publishOrderEvent(h, orderEvents.OrderConfirmed, {
      orderId,
      customerId: u.id,
      total,
      paymentIntentId: 'pi',
      customerEmail: u.email,
    });
    const request = await waitFor('the Twilio request', () =>
      twilio.requests.find((r) => new URLSearchParams(r.body).get('To') === u.phone),
    );
    expect(request.method).toBe('POST');
    expect(request.path).toBe(`/2010-04-01/Accounts/${twilioSid}/Messages.json`);
    expect(request.headers['authorization']).toBe(
      `Basic ${Buffer.from(`${twilioSid}:twilio-secret`).toString('base64')}`,
    );
    expect(request.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(Object.fromEntries(new URLSearchParams(request.body))).toEqual({
      To: '+4915112345678',
      From: '+15005550006',
      Body: `Shop: order ${orderId.slice(0, 8).toUpperCase()} is confirmed (€24.99).`,
    });
    await expectMails(u.email, 1);
    const list = await waitFor('two notifications', async () => {
      const r = await h.client.listNotifications(
        { userId: u.id, page: undefined },
        as({ kind: 'user', subject: 'ops', roles: ['admin'] }),
      );
      return r.notifications.length === 2 &&
        r.notifications.every((n) => n.status === NS.NOTIFICATION_STATUS_SENT)
        ? r.notifications
        : undefined;
    });
    expect(list.map((n) => n.channel).sort()).toEqual([
      C.NOTIFICATION_CHANNEL_EMAIL,
      C.NOTIFICATION_CHANNEL_SMS,
    ]);
  });

  it('records a skipped email for users who opted out, and sends no SMS to users who did not opt in', async () => {
    const u = newUser({
      phone: '+4915199999999',
      notificationPreferences: { emailEnabled: false, smsEnabled: false },
    });
    const before = twilio.requests.length;
    await publishOrderEvent(h, orderEvents.OrderCreated, {
      orderId: uniqueId('order'),
      customerId: u.id,
      lines,
      total,
      idempotencyKey: 'k',
      customerEmail: u.email,
    });
    const [skipped] = await waitFor('the skipped notification', async () => {
      const r = await h.client.listNotifications(
        { userId: '', page: undefined },
        as({ kind: 'user', subject: u.id, roles: [] }),
      );
      return r.notifications.length > 0 ? r.notifications : undefined;
    });
    expect(skipped).toMatchObject({
      status: NS.NOTIFICATION_STATUS_SKIPPED,
      failureReason: 'the user opted out of email',
    });
    expect(twilio.requests.length).toBe(before);
    expect(await mailsTo(u.email)).toEqual([]);
  });

  it('falls back to the email in the order event when the user has no profile', async () => {
    const email = `${uniqueId('guest')}@shop.local`;
    await publishOrderEvent(h, orderEvents.OrderCreated, {
      orderId: uniqueId('order'),
      customerId: uniqueId('unknown-user'),
      lines,
      total,
      idempotencyKey: 'k',
      customerEmail: email,
    });
    await expectMails(email, 1);
  });

  it('shows a notification to its user and operators only', async () => {
    const u = newUser();
    await publishOrderEvent(h, orderEvents.OrderCreated, {
      orderId: uniqueId('order'),
      customerId: u.id,
      lines,
      total,
      idempotencyKey: 'k',
      customerEmail: u.email,
    });
    const owner = as({ kind: 'user', subject: u.id, roles: [] });
    const [n] = await waitFor('the notification', async () => {
      const r = await h.client.listNotifications({ userId: '', page: undefined }, owner);
      return r.notifications.length > 0 ? r.notifications : undefined;
    });
    expect((await h.client.getNotification({ id: n.id }, owner)).notification!.id).toBe(n.id);
    expect(
      (
        await h.client.getNotification(
          { id: n.id },
          as({ kind: 'user', subject: 'ops', roles: ['admin'] }),
        )
      ).notification!.id,
    ).toBe(n.id);
    await expect(
      h.client.getNotification({ id: n.id }, as({ kind: 'user', subject: 'mallory', roles: [] })),
    ).rejects.toMatchObject({ code: status.NOT_FOUND });
    await expect(h.client.listNotifications({ userId: '', page: undefined })).rejects.toMatchObject(
      { code: status.UNAUTHENTICATED },
    );
  });
});

describe('notification service without the user service', () => {
  let h: NotificationHarness;

  beforeAll(async () => {
    // Nothing listens on port 1: the user service is down.
    h = await startNotificationHarness('notify-nouser', { USER_GRPC_URL: '127.0.0.1:1' });
  });

  afterAll(async () => {
    await h.stop();
  });

  it('still emails the customer at the address the order event carries', async () => {
    const email = `${uniqueId('offline')}@shop.local`;
    await publishOrderEvent(h, orderEvents.OrderConfirmed, {
      orderId: uniqueId('order'),
      customerId: 'someone',
      total,
      paymentIntentId: 'pi',
      customerEmail: email,
    });
    const [mail] = await expectMails(email, 1);
    expect(mail.Subject).toMatch(/is confirmed$/);
  });
});
