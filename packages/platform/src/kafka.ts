import { ROOT_CONTEXT, SpanKind, context, propagation, trace } from '@opentelemetry/api';
import { events, type MessageType } from '@shop/proto';
import {
  Kafka,
  type Admin,
  logLevel as KafkaLogLevel,
  type Consumer,
  type IHeaders,
  type KafkaMessage,
  type Producer,
  type RetryOptions,
} from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from './logger';
import { PoisonMessageError, TYPE_URL_PREFIX } from './envelopes';
import { activeTraceParent, contextOfTraceParent } from './trace-context';

// Kafka-free, so that code which only reads envelopes (subscription declarations) need not load
// kafkajs.
export { PoisonMessageError, unpackPayload } from './envelopes';

type EventEnvelope = events.EventEnvelope;

/** Kafka record headers set on every event. */
export const EVENT_HEADERS = {
  eventId: 'event-id',
  eventType: 'event-type',
  contentType: 'content-type',
  traceparent: 'traceparent',
  tracestate: 'tracestate',
  /** On dead-lettered records: where the record came from and why it failed. */
  dlqSourceTopic: 'dlq-source-topic',
  dlqSourcePartition: 'dlq-source-partition',
  dlqSourceOffset: 'dlq-source-offset',
  dlqError: 'dlq-error',
  dlqAttempts: 'dlq-attempts',
} as const;

/** The dead-letter topic of a topic. */
export const deadLetterTopic = (topic: string): string => `${topic}.dlq`;

/** An event to publish. The payload is a protobuf message of a type owned by the producer. */
export interface OutgoingEvent {
  /** Fully-qualified proto name, e.g. `shop.order.v1.OrderCreated`. */
  eventType: string;
  /** Encoded payload message. */
  payload: Uint8Array;
  aggregateType: string;
  aggregateId: string;
  aggregateVersion?: number;
  /** Defaults to a new UUID; set it when an outbox already assigned one. */
  eventId?: string;
  occurredAt?: Date;
  causationId?: string;
  metadata?: Record<string, string>;
  /**
   * The W3C `traceparent` of the write that produced the event, when it is published later
   * (an outbox relay): the publication joins that trace. Default: the active context.
   */
  traceParent?: string;
}

/** Builds an {@link OutgoingEvent} from a generated message type and a payload. */
export function outgoingEvent<T>(
  type: MessageType<T>,
  payload: T,
  fields: Omit<OutgoingEvent, 'eventType' | 'payload'>,
): OutgoingEvent {
  return { ...fields, eventType: type.$type, payload: type.encode(payload).finish() };
}

/** The typed bus producers use; topics are the keys of `Topics`. */
export interface EventPublisher<Topic extends string = string> {
  /** Publishes events in order, keyed by aggregate id; resolves once the broker acknowledged. */
  publish(topic: Topic, events: readonly OutgoingEvent[]): Promise<EventEnvelope[]>;
  disconnect(): Promise<void>;
}

/** A consumed event with its envelope decoded. */
export interface IncomingEvent {
  readonly envelope: EventEnvelope;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | undefined;
  /** The record's timestamp (ms since the epoch): when the producer sent it (CreateTime). */
  readonly timestamp: number;
}

/** Options for {@link createKafka}. */
export interface KafkaOptions {
  brokers: readonly string[];
  clientId: string;
  logger: Logger;
}

/** Creates a kafkajs client whose logs go to our logger. */
export function createKafka(options: KafkaOptions): Kafka {
  stopIdleRequestQueueLoop();
  const log = options.logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    connectionTimeout: 3_000,
    retry: { initialRetryTime: 200, retries: 8 },
    logLevel: KafkaLogLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }) => {
        const { message, ...rest } = entry;
        if (level <= KafkaLogLevel.ERROR) log.error(rest, message);
        else if (level === KafkaLogLevel.WARN) log.warn(rest, message);
        else log.debug(rest, message);
      },
  });
}

interface RequestQueueInternals {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

let requestQueuePatched = false;

/**
 * kafkajs 2.2.4 re-arms a timer of its request queue after every check even when nothing waits
 * and nothing is throttled (`throttledUntil - now` is negative, so the timer fires after 1 ms):
 * every broker connection spins a 1 ms timer loop for the life of the process, about 30-60 ms of
 * CPU per second in an idle service (tulios/kafkajs#1556, #1704; unfixed upstream). This keeps
 * the method's behaviour when requests wait or the broker throttles, and arms no timer
 * otherwise; a request pushed later schedules its own check.
 */
function stopIdleRequestQueueLoop(): void {
  if (requestQueuePatched) return;
  requestQueuePatched = true;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const RequestQueue = require('kafkajs/src/network/requestQueue') as {
    prototype: RequestQueueInternals;
  };
  RequestQueue.prototype.scheduleCheckPendingRequests = function (this: RequestQueueInternals) {
    if (this.throttleCheckTimeoutId) return;
    let scheduleAt = this.throttledUntil - Date.now();
    if (this.pending.length > 0) scheduleAt = scheduleAt > 0 ? scheduleAt : 10;
    else if (scheduleAt <= 0) return;
    this.throttleCheckTimeoutId = setTimeout(() => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    }, scheduleAt);
  };
}

/** A topic the process needs; its dead-letter topic is created beside it. */
export interface TopicSpec {
  name: string;
  partitions?: number;
}

/** Creates topics and their dead-letter topics when missing; safe on every start. */
export async function ensureTopics(kafka: Kafka, topics: readonly TopicSpec[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const wanted = topics.flatMap((t) => [
      { topic: t.name, numPartitions: t.partitions ?? 6 },
      { topic: deadLetterTopic(t.name), numPartitions: 1 },
    ]);
    const missing = wanted.filter((t) => !existing.has(t.topic));
    if (missing.length > 0) {
      // Not kafkajs's own wait: it retries only LEADER_NOT_AVAILABLE, and a broker that has just
      // started answers UNKNOWN_TOPIC_OR_PARTITION for a while; whenServed retries both.
      await admin.createTopics({ topics: missing, waitForLeaders: false });
    }
    await whenServed(
      admin,
      wanted.map((t) => t.topic),
    );
  } finally {
    await admin.disconnect();
  }
}

/** How long {@link ensureTopics} waits for a new topic's partitions to be served. */
const TOPIC_READY_TIMEOUT_MS = 30_000;

/**
 * Waits until the broker answers offset requests for every partition of `topics`. Right after a
 * topic is created (here or by another process a moment ago) the controller may know its leaders
 * while the broker does not host the partitions yet, and a first produce or fetch fails with
 * "This server does not host this topic-partition".
 */
async function whenServed(admin: Admin, topics: readonly string[]): Promise<void> {
  const deadline = Date.now() + TOPIC_READY_TIMEOUT_MS;
  for (const topic of topics) {
    for (let delay = 50; ; delay = Math.min(delay * 2, 1_000)) {
      try {
        const offsets = await admin.fetchTopicOffsets(topic);
        if (offsets.length > 0) break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
      }
      if (Date.now() > deadline) throw new Error(`topic ${topic} has no served partition`);
      await sleep(delay);
    }
  }
}

/** Builds the envelope and record for one event. */
function toRecord(event: OutgoingEvent, producer: string) {
  const envelope: EventEnvelope = events.EventEnvelope.fromPartial({
    eventId: event.eventId ?? randomUUID(),
    eventType: event.eventType,
    occurredAt: event.occurredAt ?? new Date(),
    aggregateType: event.aggregateType,
    aggregateId: event.aggregateId,
    aggregateVersion: event.aggregateVersion ?? 0,
    payload: { typeUrl: TYPE_URL_PREFIX + event.eventType, value: Buffer.from(event.payload) },
    producer,
    traceParent: event.traceParent || activeTraceParent(),
    causationId: event.causationId ?? '',
    metadata: event.metadata ?? {},
  });
  const headers: IHeaders = {
    [EVENT_HEADERS.eventId]: envelope.eventId,
    [EVENT_HEADERS.eventType]: envelope.eventType,
    [EVENT_HEADERS.contentType]: 'application/x-protobuf; proto=shop.events.v1.EventEnvelope',
  };
  return {
    envelope,
    record: {
      key: envelope.aggregateId,
      value: Buffer.from(events.EventEnvelope.encode(envelope).finish()),
      headers,
    },
  };
}

/** Creates an idempotent producer (acks=all, in order per key) publishing envelopes. */
export async function createEventPublisher<Topic extends string = string>(
  kafka: Kafka,
  options: {
    producerName: string;
    /** Producer retries (default: the client's); a publisher backed by an outbox fails fast. */
    retry?: RetryOptions;
  },
): Promise<EventPublisher<Topic>> {
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    ...(options.retry ? { retry: options.retry } : {}),
  });
  await producer.connect();
  return {
    async publish(topic, batch) {
      const built = batch.map((e) => toRecord(e, options.producerName));
      if (built.length === 0) return [];
      // The kafkajs instrumentation's send span (whose `traceparent` it writes into the headers)
      // is a child of the active context: events stored earlier (an outbox) are sent under the
      // trace of the write that stored them, one send per run of events sharing a trace.
      for (let start = 0; start < built.length;) {
        const traceParent = batch[start].traceParent;
        let end = start + 1;
        while (end < built.length && batch[end].traceParent === traceParent) end += 1;
        const messages = built.slice(start, end).map((b) => b.record);
        const send = () => producer.send({ topic, acks: -1, messages });
        await (traceParent ? context.with(contextOfTraceParent(traceParent), send) : send());
        start = end;
      }
      return built.map((b) => b.envelope);
    },
    disconnect: () => producer.disconnect(),
  };
}

/** Counters a consumer records. */
interface ConsumerMetrics {
  processed: Counter<'topic' | 'group' | 'event_type'>;
  failed: Counter<'topic' | 'group'>;
  deadLettered: Counter<'topic' | 'group' | 'reason'>;
  lag: Gauge<'topic' | 'partition' | 'group'>;
}

const metricsByRegistry = new WeakMap<Registry, ConsumerMetrics>();

function consumerMetrics(registry: Registry): ConsumerMetrics {
  let m = metricsByRegistry.get(registry);
  if (!m) {
    m = {
      processed: new Counter({
        name: 'kafka_consumer_processed_total',
        help: 'Events processed successfully.',
        labelNames: ['topic', 'group', 'event_type'],
        registers: [registry],
      }),
      failed: new Counter({
        name: 'kafka_consumer_failed_attempts_total',
        help: 'Handler attempts that threw (each retry counts).',
        labelNames: ['topic', 'group'],
        registers: [registry],
      }),
      deadLettered: new Counter({
        name: 'kafka_consumer_dead_lettered_total',
        help: 'Events sent to the dead-letter topic.',
        labelNames: ['topic', 'group', 'reason'],
        registers: [registry],
      }),
      lag: new Gauge({
        name: 'kafka_consumer_lag',
        help: 'Records behind the partition high watermark after the last processed batch.',
        labelNames: ['topic', 'partition', 'group'],
        registers: [registry],
      }),
    };
    metricsByRegistry.set(registry, m);
  }
  return m;
}

/** Options for {@link runConsumer}. */
export interface ConsumerOptions {
  kafka: Kafka;
  groupId: string;
  topics: readonly string[];
  logger: Logger;
  /** Applies the event's effect. Throwing retries it; {@link PoisonMessageError} dead-letters it. */
  handle: (event: IncomingEvent) => Promise<void>;
  registry?: Registry;
  /** Attempts before dead-lettering (default 5). */
  maxAttempts?: number;
  /** First retry delay; doubles per attempt up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  fromBeginning?: boolean;
  /**
   * Partitions handled at the same time (default 4). Each partition stays strictly in order;
   * different partitions (different aggregates) proceed in parallel.
   */
  partitionsConsumedConcurrently?: number;
  /**
   * A process-local observer (e.g. the gateway's subscription feed) rather than an owner of the
   * events: it starts at the end of every partition, commits no offsets, and drops poison or
   * failing messages with a log line instead of dead-lettering them (their owners do that).
   */
  ephemeral?: boolean;
  /**
   * Keys handled at the same time within one fetched batch (default 1: the partition strictly
   * in order). Records of one key always stay in order; a batch's offsets are committed once,
   * after all of it was handled or dead-lettered.
   */
  keyConcurrency?: number;
  /** Longest the broker may hold a fetch with no records (kafkajs default 5 s). */
  maxWaitTimeInMs?: number;
}

/** A running consumer. */
export interface RunningConsumer {
  readonly consumer: Consumer;
  /** Resolves once the consumer joined its group and fetched from its partitions. */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const headerString = (headers: IHeaders | undefined, key: string): string | undefined => {
  const v = headers?.[key];
  const first = Array.isArray(v) ? v[0] : v;
  return first === undefined ? undefined : first.toString();
};

/**
 * Consumes topics batch by batch per partition, several partitions at once (and several keys of
 * a batch at once when `keyConcurrency` allows). A batch's offsets are committed once, only after
 * every record of it was handled or dead-lettered, so a crash redelivers; handlers must be
 * idempotent by event id. A message that cannot be decoded, or fails `maxAttempts` times, goes
 * to `<topic>.dlq` with its original headers plus where it came from and why, and never blocks
 * its partition.
 */
export async function runConsumer(options: ConsumerOptions): Promise<RunningConsumer> {
  const { kafka, groupId, logger } = options;
  const log = logger.child({ consumer_group: groupId });
  const maxAttempts = options.maxAttempts ?? 5;
  const initialBackoff = options.initialBackoffMs ?? 200;
  const maxBackoff = options.maxBackoffMs ?? 5_000;
  const metrics = options.registry ? consumerMetrics(options.registry) : undefined;
  const tracer = trace.getTracer('shop-kafka-consumer');

  const ephemeral = options.ephemeral === true;
  const dlqProducer = ephemeral
    ? undefined
    : kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await dlqProducer?.connect();
  const consumer = kafka.consumer({
    groupId,
    allowAutoTopicCreation: false,
    ...(options.maxWaitTimeInMs === undefined ? {} : { maxWaitTimeInMs: options.maxWaitTimeInMs }),
  });
  // Ready after the group join and the first fetch: from then on no new record is missed, which
  // matters to consumers that start at the end of the log.
  const ready = new Promise<void>((resolve) => {
    const removeJoin = consumer.on(consumer.events.GROUP_JOIN, () => {
      removeJoin();
      const removeFetch = consumer.on(consumer.events.FETCH, () => {
        removeFetch();
        resolve();
      });
    });
  });
  if (metrics) {
    // kafkajs reports, per fetched batch, how far the partition's high watermark is ahead of it.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      metrics.lag.set(
        { topic: payload.topic, partition: String(payload.partition), group: groupId },
        Math.max(0, Number(payload.offsetLag)),
      );
    });
  }
  await consumer.connect();
  for (const topic of options.topics) {
    await consumer.subscribe({
      topic,
      fromBeginning: ephemeral ? false : (options.fromBeginning ?? true),
    });
  }

  const deadLetter = async (
    topic: string,
    partition: number,
    message: KafkaMessage,
    reason: 'poison' | 'exhausted',
    error: string,
    attempts: number,
  ): Promise<void> => {
    if (dlqProducer === undefined) {
      metrics?.deadLettered.inc({ topic, group: groupId, reason: `${reason}-dropped` });
      log.warn({ topic, partition, offset: message.offset, reason, error }, 'event dropped');
      return;
    }
    await dlqProducer.send({
      topic: deadLetterTopic(topic),
      acks: -1,
      messages: [
        {
          key: message.key,
          value: message.value,
          headers: {
            ...message.headers,
            [EVENT_HEADERS.dlqSourceTopic]: topic,
            [EVENT_HEADERS.dlqSourcePartition]: String(partition),
            [EVENT_HEADERS.dlqSourceOffset]: message.offset,
            [EVENT_HEADERS.dlqError]: error.slice(0, 1_000),
            [EVENT_HEADERS.dlqAttempts]: String(attempts),
          },
        },
      ],
    });
    metrics?.deadLettered.inc({ topic, group: groupId, reason });
    log.warn({ topic, partition, offset: message.offset, reason, error }, 'event dead-lettered');
  };

  /** Handles one record: decode, handle with retries, or dead-letter; never commits. */
  const record = {
    process: async (payload: {
      topic: string;
      partition: number;
      message: KafkaMessage;
      heartbeat(): Promise<void>;
    }): Promise<void> => {
      const { topic, partition, message } = payload;
      let envelope: EventEnvelope;
      try {
        if (!message.value) throw new Error('empty record value');
        envelope = events.EventEnvelope.decode(message.value);
        if (!envelope.eventId || !envelope.eventType) throw new Error('envelope lacks id or type');
      } catch (err) {
        await deadLetter(topic, partition, message, 'poison', (err as Error).message, 0);
        return;
      }
      const parent = propagation.extract(ROOT_CONTEXT, {
        traceparent:
          headerString(message.headers, EVENT_HEADERS.traceparent) ?? envelope.traceParent,
      });
      const event: IncomingEvent = {
        envelope,
        topic,
        partition,
        offset: message.offset,
        key: message.key?.toString(),
        timestamp: Number(message.timestamp),
      };
      let delay = initialBackoff;
      for (let attempt = 1; ; attempt += 1) {
        const span = tracer.startSpan(
          `${topic} process`,
          {
            kind: SpanKind.CONSUMER,
            attributes: {
              'messaging.system': 'kafka',
              'messaging.destination.name': topic,
              'messaging.message.id': envelope.eventId,
              'messaging.consumer.group.name': groupId,
              'shop.event_type': envelope.eventType,
            },
          },
          parent,
        );
        try {
          await context.with(trace.setSpan(parent, span), () => options.handle(event));
          span.end();
          metrics?.processed.inc({ topic, group: groupId, event_type: envelope.eventType });
          break;
        } catch (err) {
          span.recordException(err as Error);
          span.end();
          metrics?.failed.inc({ topic, group: groupId });
          const poison = err instanceof PoisonMessageError;
          if (poison || attempt >= maxAttempts) {
            await deadLetter(
              topic,
              partition,
              message,
              poison ? 'poison' : 'exhausted',
              (err as Error).message,
              attempt,
            );
            break;
          }
          log.warn(
            { topic, partition, offset: message.offset, attempt, err },
            'event handler failed; retrying',
          );
          await payload.heartbeat();
          await sleep(delay);
          delay = Math.min(delay * 2, maxBackoff);
        }
      }
    },
  };

  const keyConcurrency = Math.max(1, options.keyConcurrency ?? 1);
  await consumer.run({
    autoCommit: false,
    partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 4,
    eachBatchAutoResolve: false,
    // One fetched batch of one partition at a time: records of one key in order, up to
    // `keyConcurrency` keys at once, then one offset commit for the whole batch.
    eachBatch: async (payload) => {
      const { topic, partition, messages } = payload.batch;
      const heartbeat = () => payload.heartbeat();
      const stopped = () => !payload.isRunning() || payload.isStale();
      const lanes = new Map<string, KafkaMessage[]>();
      for (const message of messages) {
        const lane = keyConcurrency === 1 ? '' : (message.key?.toString() ?? '');
        const list = lanes.get(lane);
        if (list) list.push(message);
        else lanes.set(lane, [message]);
      }
      const waiting = [...lanes.values()];
      const work = async (): Promise<void> => {
        for (let lane = waiting.shift(); lane; lane = waiting.shift()) {
          for (const message of lane) {
            if (stopped()) return;
            await record.process({ topic, partition, message, heartbeat });
            await heartbeat();
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(keyConcurrency, waiting.length) }, work));
      const last = messages[messages.length - 1];
      // Stopped or rebalanced midway: nothing is resolved, so the batch is fetched again.
      if (!last || stopped()) return;
      payload.resolveOffset(last.offset);
      if (!ephemeral) {
        await consumer.commitOffsets([
          { topic, partition, offset: (BigInt(last.offset) + 1n).toString() },
        ]);
      }
    },
  });

  return {
    consumer,
    ready,
    async stop() {
      await consumer.disconnect();
      await dlqProducer?.disconnect();
    },
  };
}
