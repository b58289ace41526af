import type { IncomingEvent, Logger } from '@shop/platform';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { startInvalidationFeed, type FeedSettings, type InvalidationFeed } from './feed';
import { CACHE_RULES, tagsOfEvent, type Representation, type SubgraphCacheRule } from './rules';
import { TaggedStore } from './store';

/** Settings of the entity cache (see the gateway config). */
export interface EntityCacheSettings {
  /** Budget of the cached values, keys and bookkeeping, in bytes. */
  maxBytes: number;
  feed: FeedSettings;
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
  fetch(subgraph: string, request: SubgraphRequest, upstream: Upstream): Promise<SubgraphResponse>;
  /** Entries and bytes held, for tests and metrics. */
  stats(): { entries: number; bytes: number; live: boolean };
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
  };
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
 * silent it is also emptied.
 */
export async function startEntityCache(
  settings: EntityCacheSettings,
  deps: { logger: Logger; registry: Registry; serviceName: string },
): Promise<EntityCache> {
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
        store.clear();
      }
      id = documents.size;
      documents.set(query, id);
    }
    return id;
  };
  const invalidate = (tags: readonly string[], source: string): void => {
    metrics.invalidations.inc({ source });
    metrics.invalidatedEntries.inc(store.invalidate(tags));
  };

  const feed: InvalidationFeed = await startInvalidationFeed(
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
        store.clear();
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
  ): Promise<SubgraphResponse> => {
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
  ): Promise<SubgraphResponse> => {
    const key = `${subgraph}|${documentId(request.query)}|${JSON.stringify(request.variables ?? {})}`;
    const found = store.get(key);
    if (found !== undefined) {
      metrics.hits.inc({ subgraph });
      return { data: JSON.parse(found) as Record<string, unknown> };
    }
    metrics.misses.inc({ subgraph });
    const ticket = store.ticket();
    const response = await upstream(request);
    if (response.errors === undefined && response.data != null && feed.live()) {
      store.set(key, JSON.stringify(response.data), rule.rootTags, ticket);
    }
    return response;
  };

  const publish = (): void => {
    metrics.bytes.set(store.bytes);
    metrics.entries.set(store.size);
    metrics.live.set(feed.live() ? 1 : 0);
  };
  const gauges = setInterval(publish, 1_000);
  gauges.unref();

  return {
    async fetch(subgraph, request, upstream) {
      const rule = CACHE_RULES[subgraph];
      if (rule === undefined) return upstream(request);
      if (MUTATION_OPERATION.test(request.query)) {
        // Read-your-writes through this gateway: what the mutation may change is dropped when it
        // is answered (and fills that started before then are not kept). Other gateways learn of
        // the change from its event.
        try {
          return await upstream(request);
        } finally {
          invalidate(rule.mutationTags, 'mutation');
        }
      }
      if (!QUERY_OPERATION.test(request.query)) return upstream(request);
      if (!feed.live()) {
        metrics.bypasses.inc({ reason: 'not_live' });
        return upstream(request);
      }
      if (mentions(request, rule.uncachedArguments)) {
        metrics.bypasses.inc({ reason: 'argument' });
        return upstream(request);
      }
      const representations = request.variables?.representations;
      if (Array.isArray(representations) && request.query.includes('_entities')) {
        return entityFetch(subgraph, request, representations as Representation[], rule, upstream);
      }
      return rootFetch(subgraph, request, rule, upstream);
    },
    stats: () => ({ entries: store.size, bytes: store.bytes, live: feed.live() }),
    async stop() {
      clearInterval(gauges);
      await feed.stop();
      store.clear();
      publish();
    },
  };
}
