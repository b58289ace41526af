import type { IncomingEvent, Logger } from '@shop/platform';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { startInvalidationFeed, type FeedSettings, type InvalidationFeed } from './feed';
import { CACHE_RULES, tagsOfEvent, type Representation, type SubgraphCacheRule } from './rules';
import { TaggedStore } from './store';

/** Settings of the entity cache (see the gateway config). */
export interface EntityCacheSettings {
  /** Budget of the cached values, keys and bookkeeping, in bytes. */
  maxBytes: number;
  /**
   * Budget of whole public operation answers, in bytes, on top of `maxBytes`; 0 turns the
   * operation cache off (see {@link OperationAnswers}).
   */
  operationMaxBytes: number;
  feed: FeedSettings;
}

/**
 * What one operation's subgraph fetches depended on, collected while it runs. An operation whose
 * every fetch was a cacheable read of public data (each answered or filled under its tags) has an
 * answer that is the same for every caller and stays right until one of those tags changes.
 */
export interface OperationRecording {
  /** False once any fetch was not a cacheable, error-free read of public data. */
  cacheable: boolean;
  readonly tags: Set<string>;
  fetches: number;
}

/** A cached operation answer: the `data` of the response, frozen, and its serialised size. */
export interface OperationAnswer {
  readonly data: Readonly<Record<string, unknown>>;
  readonly bytes: number;
}

/**
 * Whole answers of public operations, invalidated by the same events and mutations as the
 * entities they were built from.
 */
export interface OperationAnswers {
  get(key: string): OperationAnswer | undefined;
  /** Taken before the operation runs; hand it back to {@link set}. */
  ticket(): number;
  /** Stores unless a tag changed since `ticket`; returns whether it was stored. */
  set(
    key: string,
    data: Record<string, unknown>,
    recording: OperationRecording,
    ticket: number,
  ): boolean;
}

/** One operation the gateway sends to a subgraph. */
export interface SubgraphRequest {
  readonly query: string;
  readonly variables?: Readonly<Record<string, unknown>> | undefined;
  readonly operationName?: string | undefined;
}

/** A subgraph's answer (GraphQL response body). */
export interface SubgraphResponse {
  data?: Record<string, unknown> | null;
  errors?: ReadonlyArray<{ message: string; path?: ReadonlyArray<string | number> } & object>;
  extensions?: Record<string, unknown>;
}

/** Sends a request to the subgraph. */
export type Upstream = (request: SubgraphRequest) => Promise<SubgraphResponse>;

/** The gateway's cache of public entity data. */
export interface EntityCache {
  /**
   * Answers a subgraph fetch: from the cache where it may, from `upstream` for the rest (and
   * stores what may be stored). Mutations to a cached subgraph invalidate what they may change.
   */
  fetch(
    subgraph: string,
    request: SubgraphRequest,
    upstream: Upstream,
    recording?: OperationRecording,
  ): Promise<SubgraphResponse>;
  /** Whether the invalidation feed is live (the cache serves only then). */
  live(): boolean;
  /** Settles once the feed's consumer has joined (or the cache was stopped first). */
  readonly started: Promise<void>;
  /** Whole public operation answers, when the operation cache is on. */
  readonly operations: OperationAnswers | undefined;
  /** Entries and bytes held (entities; whole operation answers apart), for tests and metrics. */
  stats(): {
    entries: number;
    bytes: number;
    live: boolean;
    operations: { entries: number; bytes: number };
  };
  stop(): Promise<void>;
}

const QUERY_OPERATION = /^\s*(query\b|\{)/;
const MUTATION_OPERATION = /^\s*mutation\b/;
/** Distinct subgraph documents remembered by number; past this the cache starts over. */
const MAX_DOCUMENTS = 5_000;
/** Seconds from one instant (ms) to a later one; clock skew between hosts reads as 0. */
const seconds = (from: number, to: number): number => Math.max(0, (to - from) / 1000);
const DELAY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

function cacheMetrics(registry: Registry) {
  return {
    hits: new Counter({
      name: 'gateway_entity_cache_hits_total',
      help: 'Entity (or root-field) answers served from the entity cache, by subgraph.',
      labelNames: ['subgraph'],
      registers: [registry],
    }),
    misses: new Counter({
      name: 'gateway_entity_cache_misses_total',
      help: 'Cacheable entity (or root-field) answers that had to be fetched, by subgraph.',
      labelNames: ['subgraph'],
      registers: [registry],
    }),
    bypasses: new Counter({
      name: 'gateway_entity_cache_bypasses_total',
      help: 'Cacheable fetches sent upstream without the cache, by reason (not_live, argument, fresh).',
      labelNames: ['reason'],
      registers: [registry],
    }),
    evictions: new Counter({
      name: 'gateway_entity_cache_evictions_total',
      help: 'Entries dropped to stay within the byte budget.',
      registers: [registry],
    }),
    invalidations: new Counter({
      name: 'gateway_entity_cache_invalidations_total',
      help: 'Invalidations applied, by source (event, mutation, feed_lost).',
      labelNames: ['source'],
      registers: [registry],
    }),
    invalidatedEntries: new Counter({
      name: 'gateway_entity_cache_invalidated_entries_total',
      help: 'Entries dropped because what they depend on changed.',
      registers: [registry],
    }),
    delay: new Histogram({
      name: 'gateway_entity_cache_invalidation_delay_seconds',
      help: 'Time from a change in its service (event occurred_at) to its invalidation here.',
      buckets: DELAY_BUCKETS,
      registers: [registry],
    }),
    stageDelay: new Histogram({
      name: 'gateway_entity_cache_invalidation_stage_seconds',
      help:
        'The invalidation delay by stage: publish (occurred_at in the service to the record ' +
        'timestamp the producer set) and delivery (record timestamp to invalidation here).',
      labelNames: ['stage'],
      buckets: DELAY_BUCKETS,
      registers: [registry],
    }),
    bytes: new Gauge({
      name: 'gateway_entity_cache_bytes',
      help: 'Bytes held by the entity cache (keys, values, bookkeeping).',
      registers: [registry],
    }),
    entries: new Gauge({
      name: 'gateway_entity_cache_entries',
      help: 'Entries held by the entity cache.',
      registers: [registry],
    }),
    live: new Gauge({
      name: 'gateway_entity_cache_live',
      help: '1 while the invalidation feed is live and the cache serves; 0 while it is bypassed.',
      registers: [registry],
    }),
    operationHits: new Counter({
      name: 'gateway_operation_cache_hits_total',
      help: 'Public queries answered whole from the operation cache.',
      registers: [registry],
    }),
    operationMisses: new Counter({
      name: 'gateway_operation_cache_misses_total',
      help: 'Public-looking queries the operation cache did not hold (they ran their plan).',
      registers: [registry],
    }),
    operationStored: new Counter({
      name: 'gateway_operation_cache_stored_total',
      help: 'Answers stored whole, by outcome (stored; private: a fetch was not public; stale).',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    operationBytes: new Gauge({
      name: 'gateway_operation_cache_bytes',
      help: 'Bytes held by the operation cache (keys, answers, bookkeeping).',
      registers: [registry],
    }),
    operationEntries: new Gauge({
      name: 'gateway_operation_cache_entries',
      help: 'Answers held by the operation cache.',
      registers: [registry],
    }),
  };
}

/** Freezes an answer shared by every response that serves it. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** Notes on a recording what one fetch depended on (`tags`), or that it was not cacheable. */
function note(
  recording: OperationRecording | undefined,
  tags: readonly string[] | undefined,
  response?: SubgraphResponse,
): void {
  if (recording === undefined) return;
  recording.fetches += 1;
  if (tags === undefined || response?.errors !== undefined) {
    recording.cacheable = false;
    return;
  }
  for (const tag of tags) recording.tags.add(tag);
}

const mentions = (request: SubgraphRequest, names: readonly string[] | undefined): boolean => {
  if (names === undefined) return false;
  const variables = request.variables === undefined ? '' : JSON.stringify(request.variables);
  return names.some((name) => request.query.includes(name) || variables.includes(name));
};

/** Maps error paths of a partial `_entities` fetch back to the positions of the whole one. */
function remapErrors(
  errors: NonNullable<SubgraphResponse['errors']>,
  positions: readonly number[],
): NonNullable<SubgraphResponse['errors']> {
  return errors.map((error) => {
    const path = error.path;
    if (path === undefined || path[0] !== '_entities' || typeof path[1] !== 'number') return error;
    return { ...error, path: ['_entities', positions[path[1]] ?? path[1], ...path.slice(2)] };
  });
}

/**
 * Starts the entity cache: the store, its invalidation feed on Kafka, and metrics. Entity answers
 * of `_entities` fetches are cached one representation at a time (key: subgraph, the fetch's
 * document, the representation), root-field answers whole (key: subgraph, document, variables);
 * both only from the subgraphs in {@link CACHE_RULES}, only without errors, only while the feed is
 * live. While the feed is not live (behind, silent, out of its group) the cache is bypassed; when
 * it may have skipped events (it left or joined its group, crashed, stopped) or the broker went
 * silent it is also emptied. The feed's consumer starts in the background: until it has joined
 * (the broker may be down when the gateway starts) the cache is bypassed.
 */
export function startEntityCache(
  settings: EntityCacheSettings,
  deps: { logger: Logger; registry: Registry; serviceName: string },
): EntityCache {
  const metrics = cacheMetrics(deps.registry);
  const store = new TaggedStore(settings.maxBytes, {
    evicted: (count) => metrics.evictions.inc(count),
  });
  const documents = new Map<string, number>();
  const documentId = (query: string): number => {
    let id = documents.get(query);
    if (id === undefined) {
      if (documents.size >= MAX_DOCUMENTS) {
        documents.clear();
        clear();
      }
      id = documents.size;
      documents.set(query, id);
    }
    return id;
  };
  const answers =
    settings.operationMaxBytes > 0
      ? new TaggedStore<OperationAnswer>(
          settings.operationMaxBytes,
          { evicted: (count) => metrics.evictions.inc(count) },
          (answer) => answer.bytes,
        )
      : undefined;
  const invalidate = (tags: readonly string[], source: string): void => {
    metrics.invalidations.inc({ source });
    metrics.invalidatedEntries.inc(store.invalidate(tags) + (answers?.invalidate(tags) ?? 0));
  };
  const clear = (): void => {
    store.clear();
    answers?.clear();
  };

  const feed: InvalidationFeed = startInvalidationFeed(
    settings.feed,
    {
      event(event: IncomingEvent) {
        const { envelope } = event;
        const tags = tagsOfEvent({
          eventType: envelope.eventType,
          aggregateId: envelope.aggregateId,
        });
        if (tags.length === 0) return;
        invalidate(tags, 'event');
        const now = Date.now();
        const occurred = envelope.occurredAt?.getTime();
        const sent = Number.isFinite(event.timestamp) ? event.timestamp : undefined;
        if (occurred !== undefined) metrics.delay.observe(seconds(occurred, now));
        if (occurred !== undefined && sent !== undefined) {
          metrics.stageDelay.observe({ stage: 'publish' }, seconds(occurred, sent));
        }
        if (sent !== undefined)
          metrics.stageDelay.observe({ stage: 'delivery' }, seconds(sent, now));
      },
      lost() {
        metrics.invalidations.inc({ source: 'feed_lost' });
        clear();
      },
    },
    deps,
  );

  const entityFetch = async (
    subgraph: string,
    request: SubgraphRequest,
    representations: readonly Representation[],
    rule: SubgraphCacheRule,
    upstream: Upstream,
    recording: OperationRecording | undefined,
  ): Promise<SubgraphResponse> => {
    if (recording !== undefined) {
      note(
        recording,
        representations.flatMap((r) => rule.entityTags(r)),
      );
    }
    const prefix = `${subgraph}|${documentId(request.query)}|`;
    const keys = representations.map((r) => prefix + JSON.stringify(r));
    const found = keys.map((key) => store.get(key));
    const missing: number[] = [];
    found.forEach((value, i) => {
      if (value === undefined) missing.push(i);
    });
    metrics.hits.inc({ subgraph }, representations.length - missing.length);
    if (missing.length > 0) metrics.misses.inc({ subgraph }, missing.length);
    if (missing.length === 0) {
      return { data: { _entities: JSON.parse(`[${found.join(',')}]`) as unknown[] } };
    }
    const ticket = store.ticket();
    const partial =
      missing.length === representations.length
        ? request
        : {
            ...request,
            variables: {
              ...request.variables,
              representations: missing.map((i) => representations[i]),
            },
          };
    const response = await upstream(partial);
    if (response.errors !== undefined && recording !== undefined) recording.cacheable = false;
    const fetched = response.data?._entities;
    if (!Array.isArray(fetched) || fetched.length !== missing.length) {
      return missing.length === representations.length
        ? response
        : { ...response, errors: remapErrors(response.errors ?? [], missing) };
    }
    const entities: unknown[] = found.map((value) =>
      value === undefined ? undefined : (JSON.parse(value) as unknown),
    );
    missing.forEach((position, j) => {
      const entity: unknown = fetched[j];
      entities[position] = entity;
      // An entity with an error under it may be incomplete: only clean answers are kept.
      const failed = response.errors?.some((e) => e.path?.[0] === '_entities' && e.path[1] === j);
      if (failed !== true && entity !== undefined && feed.live()) {
        store.set(
          keys[position],
          JSON.stringify(entity),
          rule.entityTags(representations[position]),
          ticket,
        );
      }
    });
    return {
      ...response,
      data: { ...response.data, _entities: entities },
      ...(response.errors === undefined ? {} : { errors: remapErrors(response.errors, missing) }),
    };
  };

  const rootFetch = async (
    subgraph: string,
    request: SubgraphRequest,
    rule: SubgraphCacheRule,
    upstream: Upstream,
    recording: OperationRecording | undefined,
  ): Promise<SubgraphResponse> => {
    const key = `${subgraph}|${documentId(request.query)}|${JSON.stringify(request.variables ?? {})}`;
    const found = store.get(key);
    if (found !== undefined) {
      metrics.hits.inc({ subgraph });
      note(recording, rule.rootTags);
      return { data: JSON.parse(found) as Record<string, unknown> };
    }
    metrics.misses.inc({ subgraph });
    const ticket = store.ticket();
    const response = await upstream(request);
    note(recording, rule.rootTags, response);
    if (response.errors === undefined && response.data != null && feed.live()) {
      store.set(key, JSON.stringify(response.data), rule.rootTags, ticket);
    }
    return response;
  };

  const publish = (): void => {
    metrics.bytes.set(store.bytes);
    metrics.entries.set(store.size);
    metrics.live.set(feed.live() ? 1 : 0);
    metrics.operationBytes.set(answers?.bytes ?? 0);
    metrics.operationEntries.set(answers?.size ?? 0);
  };
  const operations: OperationAnswers | undefined =
    answers === undefined
      ? undefined
      : {
          get(key) {
            const found = feed.live() ? answers.get(key) : undefined;
            if (found === undefined) metrics.operationMisses.inc();
            else metrics.operationHits.inc();
            return found;
          },
          ticket: () => answers.ticket(),
          set(key, data, recording, ticket) {
            if (!recording.cacheable || recording.fetches === 0 || !feed.live()) {
              metrics.operationStored.inc({ outcome: 'private' });
              return false;
            }
            const tags = [...recording.tags];
            // Under a stream of changes many answers raced one: refused before they are sized and
            // frozen (a storefront page is hundreds of objects), not after.
            const stored =
              answers.accepts(tags, ticket) &&
              answers.set(
                key,
                { data: deepFreeze(data), bytes: JSON.stringify(data).length },
                tags,
                ticket,
              );
            metrics.operationStored.inc({ outcome: stored ? 'stored' : 'stale' });
            return stored;
          },
        };
  const gauges = setInterval(publish, 1_000);
  gauges.unref();

  return {
    async fetch(subgraph, request, upstream, recording) {
      const rule = CACHE_RULES[subgraph];
      const uncached = async (reason?: string): Promise<SubgraphResponse> => {
        if (reason !== undefined) metrics.bypasses.inc({ reason });
        note(recording, undefined);
        return upstream(request);
      };
      if (rule === undefined) return uncached();
      if (MUTATION_OPERATION.test(request.query)) {
        // Read-your-writes through this gateway: what the mutation may change is dropped when it
        // is answered (and fills that started before then are not kept). Other gateways learn of
        // the change from its event.
        try {
          return await uncached();
        } finally {
          invalidate(rule.mutationTags, 'mutation');
        }
      }
      if (!QUERY_OPERATION.test(request.query)) return uncached();
      if (!feed.live()) return uncached('not_live');
      if (mentions(request, rule.uncachedArguments)) return uncached('argument');
      const representations = request.variables?.representations;
      if (Array.isArray(representations) && request.query.includes('_entities')) {
        return entityFetch(
          subgraph,
          request,
          representations as Representation[],
          rule,
          upstream,
          recording,
        );
      }
      return rootFetch(subgraph, request, rule, upstream, recording);
    },
    live: () => feed.live(),
    started: feed.started,
    operations,
    stats: () => ({
      entries: store.size,
      bytes: store.bytes,
      live: feed.live(),
      operations: { entries: answers?.size ?? 0, bytes: answers?.bytes ?? 0 },
    }),
    async stop() {
      clearInterval(gauges);
      await feed.stop();
      clear();
      publish();
    },
  };
}
