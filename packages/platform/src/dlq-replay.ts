import { EVENT_HEADERS, deadLetterTopic } from './kafka';
import type { Logger } from './logger';
import type { IHeaders, Kafka } from 'kafkajs';

/** Options for {@link replayDeadLetters}. */
export interface ReplayOptions {
  /** Most records to re-drive in this run. */
  limit?: number;
  /** Consumer group that remembers what was replayed (default `<topic>.dlq.replay`). */
  groupId?: string;
  logger?: Logger;
  /** Gives up waiting for records after this long (default 30 s). */
  timeoutMs?: number;
}

/** Header set on re-driven records: the dead-letter offset they came from. */
export const REPLAYED_FROM_HEADER = 'dlq-replayed-from';

const DLQ_HEADERS = new Set<string>([
  EVENT_HEADERS.dlqSourceTopic,
  EVENT_HEADERS.dlqSourcePartition,
  EVENT_HEADERS.dlqSourceOffset,
  EVENT_HEADERS.dlqError,
  EVENT_HEADERS.dlqAttempts,
  REPLAYED_FROM_HEADER,
]);

/**
 * Re-drives records of `<topic>.dlq` to the topic they came from (the `dlq-source-topic` header,
 * else `topic`), with their original key, value and headers, so the normal consumer processes
 * them again (it is idempotent by event id). Progress is committed per record under a dedicated
 * consumer group, so each dead letter is replayed once; a record that fails again is simply
 * dead-lettered again. Only records present when the call starts are replayed.
 */
export async function replayDeadLetters(
  kafka: Kafka,
  topic: string,
  options: ReplayOptions = {},
): Promise<{ replayed: number }> {
  const dlq = deadLetterTopic(topic);
  const groupId = options.groupId ?? `${dlq}.replay`;
  const limit = options.limit ?? Number.MAX_SAFE_INTEGER;
  const log = options.logger?.child({ component: 'dlq-replay', topic: dlq });

  const admin = kafka.admin();
  await admin.connect();
  let remaining: Map<number, bigint>;
  try {
    const ends = await admin.fetchTopicOffsets(dlq);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [dlq] });
    const committedBy = new Map(
      (committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]),
    );
    // Per partition: the offset just past the last record present now, if any are left to read.
    remaining = new Map();
    for (const p of ends) {
      const start = committedBy.get(p.partition) ?? -1n;
      const from = start >= 0n ? start : BigInt(p.low);
      if (BigInt(p.high) > from) remaining.set(p.partition, BigInt(p.high));
    }
  } finally {
    await admin.disconnect();
  }
  if (remaining.size === 0 || limit <= 0) return { replayed: 0 };

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
  let replayed = 0;
  try {
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topic: dlq, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`replay of ${dlq} timed out after ${replayed} records`)),
        options.timeoutMs ?? 30_000,
      );
      const finish = (): void => {
        clearTimeout(timer);
        resolve();
      };
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            const end = remaining.get(partition);
            const offset = BigInt(message.offset);
            if (end === undefined || offset >= end || replayed >= limit) return;
            const headers: IHeaders = {};
            for (const [key, value] of Object.entries(message.headers ?? {})) {
              if (!DLQ_HEADERS.has(key) && value !== undefined) headers[key] = value;
            }
            headers[REPLAYED_FROM_HEADER] = `${dlq}/${partition}/${message.offset}`;
            const source = message.headers?.[EVENT_HEADERS.dlqSourceTopic]?.toString() || topic;
            await producer.send({
              topic: source,
              acks: -1,
              messages: [{ key: message.key, value: message.value, headers }],
            });
            await consumer.commitOffsets([
              { topic: dlq, partition, offset: (offset + 1n).toString() },
            ]);
            replayed += 1;
            log?.info({ partition, offset: message.offset, to: source }, 'dead letter re-driven');
            if (offset + 1n >= end) remaining.delete(partition);
            if (remaining.size === 0 || replayed >= limit) finish();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
  }
  return { replayed };
}
