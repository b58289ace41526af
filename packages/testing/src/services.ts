// Helpers for tests of the gRPC services: a silent logger, a free port, operator call options,
// failed-call details, a topic reader, a direct database handle and a counter from /metrics.
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import {
  connectMongo,
  createKafka,
  createLogger,
  graphqlCodeForGrpcStatus,
  identityMetadata,
  readServiceError,
  type Caller,
  type MongoHandle,
} from '@shop/platform';
import { events } from '@shop/proto';
import { createServer, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { testEnv } from './env';
import { uniqueId } from './wait';

/** A logger that drops everything (tests assert on responses, not logs). */
export const quietLogger = createLogger({
  service: 'test',
  level: 'fatal',
  stream: new Writable({ write: (_c, _e, done) => done() }),
});

/** Ports handed out by {@link freePort} in this process, never handed out twice. */
const handedOut = new Set<number>();

/** Whether a TCP port on 127.0.0.1 can be bound right now. */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A port free right now, so two services can be told each other's address up front. It is
 * taken below Linux's ephemeral range (32768-60999): a port from `listen(0)` is in that range,
 * and between its release here and the service binding it, an outgoing connection (to Kafka,
 * the store, ...) may be given the same port as its local end, which failed a suite in CI with
 * EADDRINUSE.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (handedOut.has(port)) continue;
    if (await bindable(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('no free port below the ephemeral range');
}

/** Call options acting as an operator (services trusting identity metadata). */
/**
 * A port something is already listening on, so a service told to bind it fails at its last
 * start-up step; `release` closes the listener.
 */
export async function occupiedPort(): Promise<{ port: number; release(): void }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, release: () => void server.close() };
}

/** The members of a consumer group right now, as the broker describes it. */
export async function consumerGroupMembers(group: string): Promise<unknown[]> {
  const kafka = createKafka({
    brokers: testEnv().kafkaBrokers,
    clientId: 'test-group-check',
    logger: quietLogger,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([group]);
    return groups[0]?.members ?? [];
  } finally {
    await admin.disconnect();
  }
}

export const asAdmin = (): { metadata: Metadata } => ({
  metadata: identityMetadata(
    { kind: 'user', subject: 'admin-1', roles: ['admin'] } satisfies Caller,
    new Metadata(),
  ),
});

/** The gRPC code, field paths and reason of a call that must fail. */
export async function failure(
  call: Promise<unknown>,
): Promise<{ code: number; fields: string[]; reason: string }> {
  const err = await call.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e as ServiceError,
  );
  const remote = readServiceError(err, graphqlCodeForGrpcStatus);
  return {
    code: err.code,
    fields: remote.fieldViolations.map((v) => v.field),
    reason: remote.reason ?? '',
  };
}

/** An event read back from Kafka. */
export interface RecordedEvent {
  readonly key: string | undefined;
  readonly envelope: events.EventEnvelope;
}

/** Reads every record of a topic from the beginning (a group of its own) until stopped. */
export async function recordEvents(
  brokers: string,
  topic: string,
): Promise<{ events: RecordedEvent[]; stop(): Promise<void> }> {
  const kafka = createKafka({ brokers: brokers.split(','), clientId: 'test', logger: quietLogger });
  const consumer = kafka.consumer({ groupId: uniqueId('event-reader') });
  const recorded: RecordedEvent[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: ({ message }) => {
      recorded.push({
        key: message.key?.toString(),
        envelope: events.EventEnvelope.decode(message.value!),
      });
      return Promise.resolve();
    },
  });
  return { events: recorded, stop: () => consumer.disconnect() };
}

/** A direct connection to a service's database, to look at what the RPCs stored. */
export function openDatabase(database: string): Promise<MongoHandle> {
  return connectMongo({ url: testEnv().mongoUrl, database, logger: quietLogger });
}

/** A counter's value from a running process's `/metrics` (0 when absent). */
export async function metricValue(
  service: { readonly metricsPort: number },
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${service.metricsPort}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}
