import { Metadata, Server, ServerCredentials, status } from '@grpc/grpc-js';
import {
  createEventPublisher,
  createGrpcClient,
  createKafka,
  createLogger,
  identityMetadata,
  outgoingEvent,
  type Caller,
  type EventPublisher,
  type PromiseClient,
  type RunningService,
} from '@shop/platform';
import { notification, user, type MessageType } from '@shop/proto';
import { testEnv, uniqueId, waitFor } from '@shop/testing';
import type { Kafka } from 'kafkajs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { loadNotificationConfig, startNotificationService, type NotificationConfig } from '../src';

/** A logger that drops everything. */
export const quietLogger = createLogger({
  service: 'notification-test',
  level: 'fatal',
  stream: new Writable({ write: (_c, _e, done) => done() }),
});

/** gRPC metadata carrying a caller's identity. */
export const as = (caller: Caller): { metadata: Metadata } => ({
  metadata: identityMetadata(caller, new Metadata()),
});

/** A user profile for the user service stub; emails are unique per test run. */
export function profile(overrides: Partial<user.User> & { id: string }): user.User {
  return user.User.fromPartial({
    email: `${overrides.id}@shop.local`,
    name: overrides.id,
    notificationPreferences: { emailEnabled: true, smsEnabled: false },
    ...overrides,
  });
}

/** A real gRPC server implementing UserService.GetUser over a mutable map of profiles. */
export async function startUserStub(): Promise<{
  address: string;
  users: Map<string, user.User>;
  stop(): Promise<void>;
}> {
  const users = new Map<string, user.User>();
  const server = new Server();
  server.addService(user.UserServiceService, {
    getUser: (
      call: { request: user.GetUserRequest },
      callback: (err: { code: number; details: string } | null, res?: user.GetUserResponse) => void,
    ) => {
      const found = users.get(call.request.id);
      if (!found) return callback({ code: status.NOT_FOUND, details: 'no such user' });
      return callback(null, { user: found });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    users,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

/** One HTTP request the Twilio recorder received. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A local HTTP server standing in for api.twilio.com, answering like the Messages API. */
export async function startTwilioRecorder(): Promise<{
  url: string;
  requests: RecordedRequest[];
  stop(): Promise<void>;
}> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
      const form = new URLSearchParams(body);
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          sid: `SM${requests.length.toString().padStart(32, '0')}`,
          status: 'queued',
          to: form.get('To'),
          from: form.get('From'),
          body: form.get('Body'),
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A message as listed by Mailpit's API. */
export interface MailpitMessage {
  ID: string;
  MessageID: string;
  Subject: string;
  To: Array<{ Address: string }>;
}

/** Messages Mailpit received for an address. */
export async function mailsTo(address: string): Promise<MailpitMessage[]> {
  const url = new URL('/api/v1/search', testEnv().mailpitApiUrl);
  url.searchParams.set('query', `to:"${address}"`);
  url.searchParams.set('limit', '200');
  const res = await fetch(url);
  if (!res.ok) throw new Error(`Mailpit answered ${res.status}`);
  return ((await res.json()) as { messages: MailpitMessage[] }).messages;
}

/** The plain-text body of one Mailpit message. */
export async function mailText(id: string): Promise<string> {
  const res = await fetch(new URL(`/api/v1/message/${id}`, testEnv().mailpitApiUrl));
  return ((await res.json()) as { Text: string }).Text;
}

/** Waits until exactly `count` messages reached an address, then a moment longer to be sure. */
export async function expectMails(address: string, count: number): Promise<MailpitMessage[]> {
  await waitFor(
    `${count} mail(s) to ${address}`,
    async () => ((await mailsTo(address)).length >= count ? true : undefined),
    { timeoutMs: 30_000 },
  );
  await new Promise((r) => setTimeout(r, 300));
  const mails = await mailsTo(address);
  if (mails.length !== count)
    throw new Error(`expected ${count} mails to ${address}, got ${mails.length}`);
  return mails;
}

/** A running notification service with its surroundings. */
export interface NotificationHarness {
  config: NotificationConfig;
  service: RunningService;
  client: PromiseClient<typeof notification.NotificationServiceService>;
  kafka: Kafka;
  /** Publishes order events as the order service does. */
  orders: EventPublisher;
  stop(): Promise<void>;
}

/** Starts the notification service with its own database, topics and group. */
export async function startNotificationHarness(
  prefix: string,
  env: Record<string, string> = {},
): Promise<NotificationHarness> {
  const deps = testEnv();
  const id = uniqueId(prefix).replace(/-/g, '_');
  const config = loadNotificationConfig({
    AUTH_TRUST_IDENTITY_METADATA: 'true',
    MONGO_URL: deps.mongoUrl,
    MONGO_DATABASE: `${id}_notification`,
    KAFKA_BROKERS: deps.kafkaBrokers.join(','),
    GRPC_PORT: '0',
    METRICS_PORT: '0',
    LOG_LEVEL: 'fatal',
    SMTP_URL: deps.smtpUrl,
    ORDER_EVENTS_TOPIC: uniqueId(`${prefix}-order-events`),
    USER_NOTIFICATIONS_TOPIC: uniqueId(`${prefix}-user-notifications`),
    NOTIFICATION_CONSUMER_GROUP: uniqueId(`${prefix}-notification-service`),
    CONSUMER_INITIAL_BACKOFF_MS: '20',
    USER_GRPC_DEADLINE_MS: '500',
    ...env,
  });
  const service = await startNotificationService(config, { logger: quietLogger });
  const client = createGrpcClient(
    'shop.notification.v1.NotificationService',
    notification.NotificationServiceService,
    `127.0.0.1:${service.grpcPort}`,
  );
  const kafka = createKafka({
    brokers: deps.kafkaBrokers,
    clientId: `${prefix}-test`,
    logger: quietLogger,
  });
  const orders = await createEventPublisher(kafka, { producerName: 'order-service' });
  return {
    config,
    service,
    client,
    kafka,
    orders,
    async stop() {
      client.close();
      await orders.disconnect();
      await service.stop();
    },
  };
}

/** Publishes an order event on the harness's order-events topic; returns its event id. */
export async function publishOrderEvent<T>(
  h: NotificationHarness,
  type: MessageType<T>,
  payload: T & { orderId: string },
  eventId?: string,
): Promise<string> {
  const [envelope] = await h.orders.publish(h.config.topics.orderEvents, [
    outgoingEvent(type, payload, {
      aggregateType: 'order',
      aggregateId: payload.orderId,
      ...(eventId === undefined ? {} : { eventId }),
    }),
  ]);
  return envelope.eventId;
}
