// The event side of subscriptions: one Kafka consumer per gateway process reads the declared
// topics and asks each declaration on an event's topic which subscribers the event wakes.
import { trace, type SpanContext } from '@opentelemetry/api';
import type { SubscriptionDeclaration } from '@shop/graphql/subscriptions';
import {
  createKafka,
  ensureTopics,
  runConsumer,
  type Logger,
  type RunningConsumer,
} from '@shop/platform';
import type { Counter, Registry } from 'prom-client';
import { startInBackground, type BackgroundStart } from '../reconnect';

/** The key the feeds of `field` whose subscribers wait on `key` are found by. */
export const routingKey = (field: string, key: string): string => `${field}:${key}`;

/** What the event consumer needs. */
export interface EventConsumerDeps {
  kafkaBrokers: readonly string[];
  /** Declared topic (a declaration's `topic`) → the topic read. */
  topics: Readonly<Record<string, string>>;
  declarations: readonly SubscriptionDeclaration[];
  serviceName: string;
  logger: Logger;
  registry: Registry;
  /** Counts events read, by topic and whether any feed wanted them. */
  eventsSeen: Counter<'topic' | 'matched'>;
  /**
   * Wakes the feeds found by `key` (`entityId` for stream feeds; `cause` is the span that handled
   * the event); false when no feed waits on it.
   */
  wake(key: string, entityId: string | undefined, at: number, cause?: SpanContext): boolean;
  /** The consumer (re)joined its group, starting at the end of the log: events may have been skipped. */
  joined(): void;
}

/**
 * Starts the consumer in the background (retried until the broker answers): without the broker at
 * start the gateway serves anyway, and subscribers get their updates once the consumer joins.
 */
export function startEventConsumer(deps: EventConsumerDeps): BackgroundStart<RunningConsumer> {
  const { logger } = deps;
  const log = logger.child({ component: 'subscriptions' });
  const byTopic = new Map<string, SubscriptionDeclaration[]>();
  for (const declaration of deps.declarations) {
    const topic = deps.topics[declaration.topic] ?? declaration.topic;
    byTopic.set(topic, [...(byTopic.get(topic) ?? []), declaration]);
  }
  const topics = [...byTopic.keys()];
  // One consumer per gateway process, in a group of its own: every replica sees every event.
  const kafka = createKafka({ brokers: deps.kafkaBrokers, clientId: deps.serviceName, logger });

  const begin = async (): Promise<RunningConsumer> => {
    await ensureTopics(
      kafka,
      topics.map((name) => ({ name })),
    );
    const consumer: RunningConsumer = await runConsumer({
      kafka,
      groupId: `${deps.serviceName}-subscriptions-${process.pid}-${Date.now().toString(36)}`,
      topics,
      logger,
      registry: deps.registry,
      ephemeral: true,
      maxAttempts: 1,
      handle: (event) => {
        const { envelope } = event;
        const at = envelope.occurredAt?.getTime() ?? Date.now();
        // The consumer's span of this event (recording only when tracing is on).
        const span = trace.getActiveSpan();
        const cause = span?.isRecording() === true ? span.spanContext() : undefined;
        let matched = false;
        for (const declaration of byTopic.get(event.topic) ?? []) {
          const woken = declaration.wake(envelope);
          if (woken === undefined) continue;
          const key = routingKey(declaration.field, woken.key);
          if (deps.wake(key, woken.entityId, at, cause)) matched = true;
        }
        deps.eventsSeen.inc({ topic: event.topic, matched: matched ? 'true' : 'false' });
        return Promise.resolve();
      },
    });
    consumer.consumer.on(consumer.consumer.events.GROUP_JOIN, () => deps.joined());
    await consumer.ready;
    log.info({ topics }, 'subscriptions ready');
    return consumer;
  };
  return startInBackground('subscription event consumer', begin, { logger: log });
}
