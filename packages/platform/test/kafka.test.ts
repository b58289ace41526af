import { trace } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import {
  EVENT_HEADERS,
  PoisonMessageError,
  createEventPublisher,
  createKafka,
  createLogger,
  createMetrics,
  deadLetterTopic,
  ensureTopics,
  outgoingEvent,
  runConsumer,
  unpackPayload,
  type EventPublisher,
  type IncomingEvent,
  type RunningConsumer,
} from '@shop/platform';
import { orderEvents } from '@shop/proto';
import { testEnv, uniqueId, waitFor } from '@shop/testing';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { Writable } from 'node:stream';

const logger = createLogger({
  service: 'kafka-test',
  level: 'fatal',
  stream: new Writable({ write: (_c, _e, done) => done() }),
});

const provider = new NodeTracerProvider();
provider.register();
const tracer = provider.getTracer('kafka-test');

const created = (orderId: string): orderEvents.OrderCreated =>
  orderEvents.OrderCreated.fromPartial({
    orderId,
    customerId: 'alice',
    lines: [{ productId: 'p-1', quantity: 2, unitPrice: { amount: 1250, currency: 'EUR' } }],
    total: { amount: 2500, currency: 'EUR' },
    idempotencyKey: `key-${orderId}`,
  });

/** Reads every record of a topic from the beginning with a throwaway consumer group. */
async function readAll(kafka: Kafka, topic: string, count: number): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer({ groupId: uniqueId('reader') });
  const seen: KafkaMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void seen.push(message) });
  try {
    await waitFor(`${count} records on ${topic}`, () => (seen.length >= count ? true : undefined), {
      timeoutMs: 30_000,
    });
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

describe('Kafka helper against the real broker', () => {
  let kafka: Kafka;
  let publisher: EventPublisher;
  const consumers: RunningConsumer[] = [];

  beforeAll(async () => {
    kafka = createKafka({ brokers: testEnv().kafkaBrokers, clientId: 'kafka-test', logger });
    publisher = await createEventPublisher(kafka, { producerName: 'kafka-test' });
  });

  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.stop()));
  });

  afterAll(async () => {
    await publisher.disconnect();
    await provider.shutdown();
  });

  it('creates each topic with its dead-letter topic, idempotently', async () => {
    const topic = uniqueId('topic');
    await ensureTopics(kafka, [{ name: topic, partitions: 3 }]);
    await ensureTopics(kafka, [{ name: topic, partitions: 3 }]);
    const admin = kafka.admin();
    await admin.connect();
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic, deadLetterTopic(topic)] });
    await admin.disconnect();
    const partitions = topics.map((t) => [t.name, t.partitions.length]);
    expect(partitions.sort()).toEqual([
      [topic, 3],
      [deadLetterTopic(topic), 1],
    ]);
  });

  it('delivers a protobuf event in its envelope with id, type and trace headers', async () => {
    const topic = uniqueId('order-events');
    await ensureTopics(kafka, [{ name: topic, partitions: 2 }]);
    const received: IncomingEvent[] = [];
    const metrics = createMetrics({ service: 'kafka-test' });
    consumers.push(
      await runConsumer({
        kafka,
        groupId: uniqueId('group'),
        topics: [topic],
        logger,
        registry: metrics.registry,
        handle: async (event) => void received.push(event),
      }),
    );
    let traceId = '';
    const [sent] = await tracer.startActiveSpan('place order', async (span) => {
      traceId = span.spanContext().traceId;
      const result = await publisher.publish(topic, [
        outgoingEvent(orderEvents.OrderCreated, created('o-1'), {
          aggregateType: 'order',
          aggregateId: 'o-1',
          aggregateVersion: 1,
        }),
      ]);
      span.end();
      return result;
    });

    const event = await waitFor('the event', () => received[0], { timeoutMs: 30_000 });
    expect(event.key).toBe('o-1');
    expect(event.envelope).toMatchObject({
      eventId: sent.eventId,
      eventType: 'shop.order.v1.OrderCreated',
      aggregateType: 'order',
      aggregateId: 'o-1',
      aggregateVersion: 1,
      producer: 'kafka-test',
    });
    expect(event.envelope.traceParent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    expect(unpackPayload(event.envelope, orderEvents.OrderCreated)).toEqual(created('o-1'));
    expect(() => unpackPayload(event.envelope, orderEvents.OrderCancelled)).toThrow(
      PoisonMessageError,
    );

    const [raw] = await readAll(kafka, topic, 1);
    expect(raw.headers?.[EVENT_HEADERS.eventId]?.toString()).toBe(sent.eventId);
    expect(raw.headers?.[EVENT_HEADERS.eventType]?.toString()).toBe('shop.order.v1.OrderCreated');
    // The envelope names the publishing trace; the `traceparent` header is the kafkajs
    // instrumentation's (a real process's), not written by hand.
    expect(event.envelope.traceParent.split('-')[1]).toBe(traceId);
    expect(await metrics.registry.metrics()).toMatch(
      /kafka_consumer_processed_total\{[^}]*event_type="shop.order.v1.OrderCreated"[^}]*\} 1/,
    );
    // The batch that carried the event ends with nothing left behind it on that partition.
    const lag = await waitFor(
      'the consumer lag gauge',
      async () =>
        /kafka_consumer_lag\{[^}]*partition="\d"[^}]*\} (\d+)/.exec(
          await metrics.registry.metrics(),
        ) ?? undefined,
    );
    expect(lag[1]).toBe('0');
  });

  it('publishes and handles an event stored earlier under the trace of the write that stored it', async () => {
    const topic = uniqueId('outboxed');
    await ensureTopics(kafka, [{ name: topic, partitions: 1 }]);
    const handledIn: string[] = [];
    consumers.push(
      await runConsumer({
        kafka,
        groupId: uniqueId('group'),
        topics: [topic],
        logger,
        handle: async () => void handledIn.push(trace.getActiveSpan()?.spanContext().traceId ?? ''),
      }),
    );
    const writeTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const stored = `00-${writeTrace}-00f067aa0ba902b7-01`;
    // Published by a relay outside any request: the stored traceparent names the trace.
    const [sent] = await publisher.publish(topic, [
      {
        ...outgoingEvent(orderEvents.OrderCreated, created('o-2'), {
          aggregateType: 'order',
          aggregateId: 'o-2',
        }),
        traceParent: stored,
      },
    ]);
    expect(sent.traceParent).toBe(stored);
    const traceId = await waitFor('the handler', () => handledIn[0], { timeoutMs: 30_000 });
    expect(traceId).toBe(writeTrace);
  });

  it('dead-letters a poison message without blocking the partition behind it', async () => {
    const topic = uniqueId('poison');
    await ensureTopics(kafka, [{ name: topic, partitions: 1 }]);
    const handled: string[] = [];
    consumers.push(
      await runConsumer({
        kafka,
        groupId: uniqueId('group'),
        topics: [topic],
        logger,
        handle: async (event) => void handled.push(event.envelope.aggregateId),
      }),
    );
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [{ key: 'x', value: Buffer.from('not protobuf \xff\xfe', 'latin1') }],
    });
    await producer.disconnect();
    await publisher.publish(topic, [
      outgoingEvent(orderEvents.OrderCreated, created('o-2'), {
        aggregateType: 'order',
        aggregateId: 'o-2',
      }),
    ]);

    await waitFor(
      'the event behind the poison message',
      () => (handled.includes('o-2') ? true : undefined),
      {
        timeoutMs: 30_000,
      },
    );
    const [dead] = await readAll(kafka, deadLetterTopic(topic), 1);
    expect(dead.value?.toString('latin1')).toBe('not protobuf \xff\xfe');
    expect(dead.headers?.[EVENT_HEADERS.dlqSourceTopic]?.toString()).toBe(topic);
    expect(dead.headers?.[EVENT_HEADERS.dlqSourceOffset]?.toString()).toBe('0');
    expect(dead.headers?.[EVENT_HEADERS.dlqError]?.toString()).toBeTruthy();
    expect(handled).toEqual(['o-2']);
  });

  it('retries a failing handler with backoff, then dead-letters it after the last attempt', async () => {
    const topic = uniqueId('retry');
    await ensureTopics(kafka, [{ name: topic, partitions: 1 }]);
    const attempts = new Map<string, number>();
    consumers.push(
      await runConsumer({
        kafka,
        groupId: uniqueId('group'),
        topics: [topic],
        logger,
        maxAttempts: 3,
        initialBackoffMs: 20,
        handle: async ({ envelope }) => {
          const n = (attempts.get(envelope.aggregateId) ?? 0) + 1;
          attempts.set(envelope.aggregateId, n);
          if (envelope.aggregateId === 'always-fails') throw new Error('store unavailable');
          if (envelope.aggregateId === 'flaky' && n < 2) throw new Error('transient');
        },
      }),
    );
    await publisher.publish(
      topic,
      ['always-fails', 'flaky', 'fine'].map((id) =>
        outgoingEvent(orderEvents.OrderCreated, created(id), {
          aggregateType: 'order',
          aggregateId: id,
        }),
      ),
    );
    await waitFor('all three handled', () => (attempts.get('fine') ? true : undefined), {
      timeoutMs: 30_000,
    });
    expect(Object.fromEntries(attempts)).toEqual({ 'always-fails': 3, flaky: 2, fine: 1 });
    const dead = await readAll(kafka, deadLetterTopic(topic), 1);
    expect(dead.map((m) => m.key?.toString())).toEqual(['always-fails']);
    expect(dead[0].headers?.[EVENT_HEADERS.dlqAttempts]?.toString()).toBe('3');
    expect(dead[0].headers?.[EVENT_HEADERS.dlqError]?.toString()).toBe('store unavailable');
  });

  it('commits offsets after processing, so a restarted consumer does not see old events again', async () => {
    const topic = uniqueId('commit');
    const groupId = uniqueId('group');
    await ensureTopics(kafka, [{ name: topic, partitions: 1 }]);
    const first: string[] = [];
    const c1 = await runConsumer({
      kafka,
      groupId,
      topics: [topic],
      logger,
      handle: async (e) => void first.push(e.envelope.aggregateId),
    });
    await publisher.publish(topic, [
      outgoingEvent(orderEvents.OrderCreated, created('a'), {
        aggregateType: 'order',
        aggregateId: 'a',
      }),
    ]);
    await waitFor('first event', () => (first.length === 1 ? true : undefined), {
      timeoutMs: 30_000,
    });
    await c1.stop();

    const second: string[] = [];
    consumers.push(
      await runConsumer({
        kafka,
        groupId,
        topics: [topic],
        logger,
        handle: async (e) => void second.push(e.envelope.aggregateId),
      }),
    );
    await publisher.publish(topic, [
      outgoingEvent(orderEvents.OrderCreated, created('b'), {
        aggregateType: 'order',
        aggregateId: 'b',
      }),
    ]);
    await waitFor('second event', () => (second.length > 0 ? true : undefined), {
      timeoutMs: 30_000,
    });
    expect(second).toEqual(['b']);
  });

  it('handles keys of one batch side by side while each key keeps its order', async () => {
    const topic = uniqueId('lanes');
    await ensureTopics(kafka, [{ name: topic, partitions: 1 }]);
    const event = (key: string, n: number) =>
      outgoingEvent(orderEvents.OrderCreated, created(`${key}-${n}`), {
        aggregateType: 'order',
        aggregateId: key,
      });
    // Published before the consumer starts, so they arrive in one fetched batch.
    await publisher.publish(topic, [
      event('a', 1),
      event('b', 1),
      event('a', 2),
      event('b', 2),
      event('a', 3),
    ]);
    const seen: string[] = [];
    let inFlight = 0;
    let most = 0;
    consumers.push(
      await runConsumer({
        kafka,
        groupId: uniqueId('group'),
        topics: [topic],
        logger,
        keyConcurrency: 4,
        handle: async (e) => {
          inFlight += 1;
          most = Math.max(most, inFlight);
          await new Promise((r) => setTimeout(r, 20));
          seen.push(unpackPayload(e.envelope, orderEvents.OrderCreated).orderId);
          inFlight -= 1;
        },
      }),
    );
    await waitFor('five events', () => (seen.length === 5 ? true : undefined), {
      timeoutMs: 30_000,
    });
    expect(seen.filter((id) => id.startsWith('a-'))).toEqual(['a-1', 'a-2', 'a-3']);
    expect(seen.filter((id) => id.startsWith('b-'))).toEqual(['b-1', 'b-2']);
    expect(most).toBe(2);
  });
});
