import {
  createKafka,
  ensureTopics,
  runConsumer,
  type IncomingEvent,
  type Logger,
  type RunningConsumer,
} from '@shop/platform';
import { startInBackground } from '../reconnect';

/** Where the invalidation feed reads and how fresh it must be to count as live. */
export interface FeedSettings {
  kafkaBrokers: readonly string[];
  /** Topics carrying the events of {@link tagsOfEvent} (inventory-updates, catalog-events). */
  topics: readonly string[];
  /**
   * The longest the broker may stay silent before the feed counts as not live. The consumer asks
   * for records with a shorter wait, so a healthy idle feed answers well within it.
   */
  staleAfterMs: number;
}

/** The feed as the cache sees it. */
export interface InvalidationFeed {
  /** True while the consumer is in its group, fetching, and has no unread records it knows of. */
  live(): boolean;
  /** Settles once the consumer has joined (the broker may be down when the gateway starts). */
  readonly started: Promise<void>;
  stop(): Promise<void>;
}

/** What the feed reports to the cache. */
export interface FeedHandlers {
  /** An event arrived (in partition order). */
  event(event: IncomingEvent): void;
  /**
   * Drop everything: the feed may have skipped events (left its group, crashed, stopped, joined
   * anew) or the broker went silent (events may be stuck in the services' outboxes).
   */
  lost(reason: string): void;
}

/**
 * Follows the change topics with a consumer of its own (a group per process, starting at the end,
 * committing nothing) and tracks whether it is live: joined, fetching within `staleAfterMs`, and
 * not behind the high watermark of any partition it was given. The consumer starts in the
 * background, retried until the broker answers; until then the feed is not live.
 */
export function startInvalidationFeed(
  settings: FeedSettings,
  handlers: FeedHandlers,
  deps: { logger: Logger; serviceName: string },
): InvalidationFeed {
  const logger = deps.logger.child({ component: 'entity-cache-feed' });
  const kafka = createKafka({
    clientId: `${deps.serviceName}-cache`,
    brokers: settings.kafkaBrokers,
    logger,
  });
  let joined = false;
  let lastFetchAt = 0;
  let wasLive = false;
  const lagging = new Set<string>();

  /**
   * The consumer's position may have jumped past events (it left its group, crashed or stopped;
   * a new member of the throwaway group starts at the end): whatever is cached may be stale.
   */
  const positionLost = (reason: string): void => {
    joined = false;
    if (wasLive) {
      wasLive = false;
      logger.warn({ reason }, 'entity cache feed lost its position; bypassing and clearing');
    }
    handlers.lost(reason);
  };
  /**
   * Live: in the group, fetching within `staleAfterMs`, nothing known unread. Behind, the cache
   * is only bypassed: the events not yet read are in the log and are applied, in order, before
   * the feed counts as live again. Silent (the broker does not answer), it is also emptied: the
   * services cannot publish either, so changes committed meanwhile may reach the feed long
   * after it is live again.
   */
  const live = (): boolean => {
    const now = Date.now();
    const silent = now - lastFetchAt > settings.staleAfterMs;
    const isLive = joined && lagging.size === 0 && !silent;
    if (isLive !== wasLive) {
      wasLive = isLive;
      if (isLive) logger.info('entity cache feed live');
      else {
        const reason = !joined ? 'not joined' : silent ? 'silent' : 'behind';
        logger.warn({ reason }, 'entity cache feed not live; bypassing the cache');
        if (silent) handlers.lost('silent');
      }
    }
    return isLive;
  };

  const begin = async (): Promise<RunningConsumer> => {
    await ensureTopics(
      kafka,
      settings.topics.map((name) => ({ name })),
    );
    const consumer: RunningConsumer = await runConsumer({
      kafka,
      groupId: `${deps.serviceName}-cache-${process.pid}-${Date.now()}`,
      topics: settings.topics,
      logger,
      ephemeral: true,
      // Short waits: an idle broker then answers several times within `staleAfterMs`.
      maxWaitTimeInMs: Math.max(50, Math.floor(settings.staleAfterMs / 4)),
      handle: (event) => {
        handlers.event(event);
        return Promise.resolve();
      },
    });
    const { events } = consumer.consumer;
    consumer.consumer.on(events.GROUP_JOIN, () => {
      // Fills that began before the join may predate events the new position skipped.
      handlers.lost('joined');
      joined = true;
    });
    consumer.consumer.on(events.FETCH, () => {
      lastFetchAt = Date.now();
    });
    consumer.consumer.on(events.END_BATCH_PROCESS, ({ payload }) => {
      const partition = `${payload.topic}/${payload.partition}`;
      if (Number(payload.offsetLag) > 0) lagging.add(partition);
      else lagging.delete(partition);
    });
    consumer.consumer.on(events.REBALANCING, () => positionLost('rebalancing'));
    consumer.consumer.on(events.CRASH, () => positionLost('crash'));
    consumer.consumer.on(events.STOP, () => positionLost('stopped'));
    await consumer.ready;
    joined = true;
    lastFetchAt = Date.now();
    return consumer;
  };
  // Without the broker at start the gateway serves anyway, with the cache bypassed (not live),
  // and the feed joins once the broker answers.
  const running = startInBackground('entity cache feed', begin, { logger });
  return {
    live,
    started: running.settled,
    async stop() {
      await running.stop();
      positionLost('stopped');
    },
  };
}
