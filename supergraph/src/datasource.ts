import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { identityHeaders } from '@shop/graphql';
import type { Logger } from '@shop/platform';
import { Counter, Histogram, type Registry } from 'prom-client';
import { Pool } from 'undici';
import type {
  EntityCache,
  OperationRecording,
  SubgraphRequest,
  SubgraphResponse,
} from './cache/entity-cache';

/** Per-request context the data sources read (the gateway's context). */
export interface FetchContext {
  readonly caller: Parameters<typeof identityHeaders>[0];
  /** The client's Authorization header, forwarded so subgraphs and services verify it too. */
  readonly authorization?: string;
  /**
   * Read past the entity cache and in-flight sharing: set by reads that an event triggered
   * (subscription re-reads), which must see that event's change.
   */
  readonly fresh?: boolean;
  /** Set by the operation cache: each fetch notes on it what it depended on. */
  readonly recording?: OperationRecording;
}

/** Shared by the data sources of one gateway. */
export interface SubgraphFetchDeps {
  logger: Logger;
  registry: Registry;
  timeoutMs: number;
  /** Share one upstream call among identical concurrent fetches of the same identity. */
  dedupe: boolean;
  cache: EntityCache | undefined;
}

interface Raw {
  readonly status: number;
  readonly body: string;
}

/** Subgraph data sources over pooled keep-alive connections, with in-flight sharing. */
export function createSubgraphFetching(deps: SubgraphFetchDeps) {
  const latency = new Histogram({
    name: 'gateway_subgraph_fetch_duration_seconds',
    help: 'Time of each fetch from a subgraph, by subgraph and outcome.',
    labelNames: ['subgraph', 'outcome'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [deps.registry],
  });
  const shared = new Counter({
    name: 'gateway_subgraph_fetches_deduplicated_total',
    help: 'Subgraph fetches answered by an identical fetch already in flight, by subgraph.',
    labelNames: ['subgraph'],
    registers: [deps.registry],
  });
  const inflight = new Map<string, Promise<Raw>>();
  // A mutation ends every sharing that started before it: a read sent after a write must not be
  // answered by a fetch that may have read before it.
  let generation = 0;
  const pools: Pool[] = [];

  class SubgraphDataSource implements GraphQLDataSource<FetchContext> {
    private readonly pool: Pool;
    private readonly path: string;

    constructor(
      private readonly subgraph: string,
      url: string,
    ) {
      const target = new URL(url);
      this.path = `${target.pathname}${target.search}`;
      this.pool = new Pool(target.origin, {
        keepAliveTimeout: 30_000,
        headersTimeout: deps.timeoutMs,
        bodyTimeout: deps.timeoutMs,
      });
      pools.push(this.pool);
    }

    async process(
      options: GraphQLDataSourceProcessOptions<FetchContext>,
    ): Promise<GatewayGraphQLResponse> {
      const context = options.context as Partial<FetchContext>;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (context.caller !== undefined) Object.assign(headers, identityHeaders(context.caller));
      if (context.authorization !== undefined) headers.authorization = context.authorization;
      const { query, variables, operationName } = options.request;
      if (query === undefined) throw new Error('subgraph request without a query');
      const request: SubgraphRequest = { query, variables, operationName };
      const fresh = context.fresh === true;
      const upstream = (r: SubgraphRequest) => this.send(r, headers, fresh);
      const stop = latency.startTimer({ subgraph: this.subgraph });
      try {
        let response: SubgraphResponse;
        if (deps.cache === undefined || fresh) {
          if (context.recording !== undefined) context.recording.cacheable = false;
          response = await upstream(request);
        } else {
          response = await deps.cache.fetch(this.subgraph, request, upstream, context.recording);
        }
        stop({ outcome: response.errors ? 'error' : 'ok' });
        return response;
      } catch (err) {
        // Connection refused, timeout, or a non-GraphQL answer: the subgraph is unavailable.
        stop({ outcome: 'unavailable' });
        deps.logger.warn({ err, subgraph: this.subgraph }, 'subgraph fetch failed');
        return {
          errors: [
            {
              message: `The ${this.subgraph} part of the graph is unavailable; try again shortly`,
              extensions: { code: 'SERVICE_UNAVAILABLE' },
            },
          ],
        };
      }
    }

    private async send(
      request: SubgraphRequest,
      headers: Record<string, string>,
      fresh: boolean,
    ): Promise<SubgraphResponse> {
      const body = JSON.stringify(request);
      const mutation = /^\s*mutation\b/.test(request.query);
      let raw: Raw;
      if (!deps.dedupe || fresh || mutation) {
        try {
          raw = await this.post(body, headers);
        } finally {
          if (mutation) generation += 1;
        }
      } else {
        // Identity is part of the key: callers whose credentials could change the answer never
        // share one.
        let key = `${generation}\n${this.subgraph}\n`;
        for (const name in headers) key += `${name}:${headers[name]}\n`;
        key += body;
        const running = inflight.get(key);
        if (running !== undefined) {
          shared.inc({ subgraph: this.subgraph });
          raw = await running;
        } else {
          const started = this.post(body, headers);
          inflight.set(key, started);
          try {
            raw = await started;
          } finally {
            inflight.delete(key);
          }
        }
      }
      if (raw.status < 200 || raw.status >= 300) {
        throw new Error(`subgraph answered HTTP ${raw.status}`);
      }
      // Every caller parses its own copy: the executor merges into what it is given.
      return JSON.parse(raw.body) as SubgraphResponse;
    }

    private async post(body: string, headers: Record<string, string>): Promise<Raw> {
      const response = await this.pool.request({
        path: this.path,
        method: 'POST',
        headers,
        body,
      });
      return { status: response.statusCode, body: await response.body.text() };
    }
  }

  return {
    dataSource: (subgraph: string, url: string): GraphQLDataSource<FetchContext> =>
      new SubgraphDataSource(subgraph, url),
    /** Mutations answered so far: sharing never joins work started before the latest one. */
    writes: (): number => generation,
    async close(): Promise<void> {
      await Promise.all(pools.map((pool) => pool.close()));
    },
  };
}
