import { startSubgraph, type RunningSubgraph } from '@shop/graphql';
import { createLogger } from '@shop/platform';
import { testEnv, uniqueId, waitFor } from '@shop/testing';
import { parse } from 'graphql';
import { Writable } from 'node:stream';

// A subgraph started with LOG_STORE_URL's value ships its logger's lines to the real log store.

const { logStoreUrl } = testEnv();

const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Query {
    hello: String!
  }
`);

describe('subgraph log shipping', () => {
  let subgraph: RunningSubgraph | undefined;
  afterAll(() => subgraph?.stop());

  it('ships the lines of a subgraph started with a log store, and counts them on its registry', async () => {
    const name = uniqueId('shipping');
    const logger = createLogger({
      service: `${name}-subgraph`,
      stream: new Writable({
        write(_chunk, _enc, done) {
          done();
        },
      }),
    });
    subgraph = await startSubgraph({
      name,
      typeDefs,
      resolvers: { Query: { hello: () => 'hi' } },
      createContext: (base) => base,
      host: '127.0.0.1',
      port: 0,
      metricsPort: 0,
      logger,
      logStoreUrl,
    });
    const runId = uniqueId('run');
    logger.warn({ runId }, 'a line of a running subgraph');

    const source = await waitFor('the subgraph line in the log store', async () => {
      const response = await fetch(`${logStoreUrl}/shop-logs-*/_search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: { term: { 'runId.keyword': runId } } }),
      });
      if (!response.ok) throw new Error(`_search answered ${response.status}`);
      const body = (await response.json()) as {
        hits: { hits: Array<{ _source: Record<string, unknown> }> };
      };
      return body.hits.hits[0]?._source;
    });
    expect(source).toMatchObject({
      'service.name': `${name}-subgraph`,
      'log.level': 'warn',
      message: 'a line of a running subgraph',
    });
    const metrics = await (await fetch(`http://127.0.0.1:${subgraph.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^log_shipper_shipped_total\{[^}]*\} [1-9]/m);
  });
});
