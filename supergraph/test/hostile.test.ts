import { formatGatewayError } from '@shop/supergraph';
import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startStack, type Stack } from './harness';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('hostile');
});
afterAll(async () => {
  await stack?.stop();
});

/** Sends a raw body and returns status and first error code. */
async function send(body: string): Promise<{ status: number; code: unknown }> {
  const res = await fetch(stack.gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  const json = (await res.json()) as { errors?: Array<{ extensions?: { code?: unknown } }> };
  return {
    status: res.status,
    code: json.errors?.[0]?.extensions?.code,
  };
}

const op = (query: string, variables: unknown = {}): string => JSON.stringify({ query, variables });
const nested = (levels: number): string =>
  `{ categories { ${'children { '.repeat(levels)}id${' }'.repeat(levels)} } }`;
const aliases = (n: number): string =>
  `{ ${Array.from({ length: n }, (_, i) => `a${i}: __typename`).join(' ')} }`;

const cases: Array<[string, () => string, number, string]> = [
  ['a syntax error', () => op('{ products { edges '), 400, 'GRAPHQL_PARSE_FAILED'],
  [
    'an unknown field',
    () => op('{ products { edges { node { secret } } } }'),
    400,
    'GRAPHQL_VALIDATION_FAILED',
  ],
  ['50 levels of nesting', () => op(nested(50)), 400, 'QUERY_TOO_DEEP'],
  ['10,000 aliases', () => op(aliases(10_000)), 400, 'TOO_MANY_ALIASES'],
  [
    'a query whose lists multiply beyond the cost limit',
    () =>
      op(
        '{ products(first: 100) { edges { node { category { products(first: 100) { edges { node { id name sku } } } } } } } }',
      ),
    400,
    'QUERY_TOO_COMPLEX',
  ],
  [
    '2 MB of variables',
    () => op('{ __typename }', { blob: 'x'.repeat(2_000_000) }),
    413,
    'PAYLOAD_TOO_LARGE',
  ],
  [
    'a batch of 50 operations',
    () => JSON.stringify(Array(50).fill({ query: '{ __typename }' })),
    400,
    'BATCH_TOO_LARGE',
  ],
  ['a body that is not JSON', () => '{"query": ', 400, 'BAD_REQUEST'],
  [
    'a variable of the wrong type',
    () => op('query($id: ID!) { product(id: $id) { id } }', { id: { a: 1 } }),
    400,
    'BAD_USER_INPUT',
  ],
  [
    'an unknown persisted query hash',
    () =>
      JSON.stringify({
        extensions: { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } },
      }),
    200,
    'PERSISTED_QUERY_NOT_FOUND',
  ],
];

describe('malformed and hostile requests', () => {
  it.each(cases)('answers %s with a clear code', async (_name, body, status, code) => {
    expect(await send(body())).toEqual({ status, code });
  });

  it('keeps the heap flat under a stream of hostile requests', async () => {
    const bodies = cases.map(([, body]) => body());
    const round = () => Promise.all(bodies.map((b) => send(b)));
    for (let i = 0; i < 3; i++) await round();
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 10; i++) await round();
    gc();
    const growthMb = (process.memoryUsage().heapUsed - before) / 1024 / 1024;
    expect(growthMb).toBeLessThan(32);
  });

  it('still serves normal queries afterwards', async () => {
    const res = await stack.query('{ categories { id } }');
    expect(res).toEqual({ status: 200, data: { categories: [] } });
  });
});

describe('automatic persisted queries', () => {
  it('registers a query by hash and then runs it by hash alone', async () => {
    const query = '{ categories { id name } }';
    const sha256Hash = createHash('sha256').update(query).digest('hex');
    const extensions = { persistedQuery: { version: 1, sha256Hash } };
    const register = await send(JSON.stringify({ query, extensions }));
    expect(register.status).toBe(200);
    const byHash = await send(JSON.stringify({ extensions }));
    expect(byHash).toMatchObject({ status: 200, code: undefined });
  });
});

describe('error masking', () => {
  it('hides internal errors and unknown extensions from clients', () => {
    expect(
      formatGatewayError({
        message: 'connect ECONNREFUSED 10.0.0.7:50051 in /srv/app/node_modules/x.js',
        extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: ['...'] },
      }),
    ).toEqual({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(
      formatGatewayError({
        message: 'Product not found',
        extensions: { code: 'NOT_FOUND', serviceName: 'products', reason: 'PRODUCT_NOT_FOUND' },
      }),
    ).toEqual({
      message: 'Product not found',
      extensions: { code: 'NOT_FOUND', reason: 'PRODUCT_NOT_FOUND' },
    });
  });
});

describe('operations endpoints', () => {
  it('reports subgraph health and serves metrics with operation counts and error codes', async () => {
    const base = new URL(stack.gatewayUrl).origin;
    const health = (await (await fetch(`${base}/healthz`)).json()) as {
      status: string;
      subgraphs: Record<string, string>;
    };
    expect(health.status).toBe('ok');
    expect(health).toMatchObject({
      subgraphs: {
        products: 'up',
        categories: 'up',
        inventory: 'up',
        users: 'up',
      },
    });
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    await stack.subgraphs.users.stop();
    await stack.gateway.probeHealth();
    const degraded = (await (await fetch(`${base}/healthz`)).json()) as typeof health;
    expect(degraded.status).toBe('degraded');
    expect(degraded.subgraphs.users).toBe('down');
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/graphql_operations_total\{[^}]*operation_type="query"/);
    expect(metrics).toMatch(/graphql_errors_total\{[^}]*code="QUERY_TOO_DEEP"/);
    expect(metrics).toMatch(/graphql_request_duration_seconds_bucket/);
  });

  it('answers CORS preflights for allowed origins only', async () => {
    const preflight = (origin: string) =>
      fetch(stack.gatewayUrl, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST' },
      });
    const allowed = await preflight('http://localhost:3000');
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    const denied = await preflight('https://evil.example');
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
  });
});
