import {
  codedError,
  startSubgraph,
  type RunningSubgraph,
  type SubgraphContext,
} from '@shop/graphql';
import { commonErrors, createLogger, type Authenticator } from '@shop/platform';
import { parse } from 'graphql';
import { Writable } from 'node:stream';

// The subgraph server over a small federated schema: the HTTP and GraphQL semantics the gateway
// relies on, error masking, caller authentication and metrics.

const logLines: string[] = [];
const logger = createLogger({
  service: 'subgraph-server-test',
  level: 'warn',
  stream: new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString());
      done();
    },
  }),
});

const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Thing @key(fields: "id") {
    id: ID!
    name: String!
    "Fails without a code: masked."
    broken: String
    "Fails with a client-safe code."
    refused: String
    seenBy: String!
  }
  scalar Long
  scalar DateTime
  enum Colour {
    RED
    GREEN
  }
  type Query {
    "The colour's internal (proto) number, and the instant plus a day."
    paint(colour: Colour!, at: DateTime!): Paint!
    thing(id: ID!): Thing
    things(first: Int!): [Thing!]!
  }
  type Paint {
    number: Long!
    colour: Colour!
    later: DateTime!
  }
  type Mutation {
    rename(id: ID!, name: String!): Thing
  }
`);

interface Ctx extends SubgraphContext {
  readonly loads: string[];
}

const resolvers = {
  Colour: { RED: 1, GREEN: 2 },
  Query: {
    paint: (_: unknown, args: { colour: number; at: Date }) => ({
      number: args.colour,
      colour: args.colour,
      later: new Date(args.at.getTime() + 86_400_000),
    }),
    thing: (_: unknown, args: { id: string }) => ({ id: args.id }),
    things: (_: unknown, args: { first: number }) =>
      Array.from({ length: args.first }, (_v, i) => ({ id: String(i) })),
  },
  Mutation: {
    rename: (_: unknown, args: { id: string; name: string }) => ({ id: args.id, name: args.name }),
  },
  Thing: {
    __resolveReference: (ref: { id: string }, ctx: Ctx) => {
      ctx.loads.push(ref.id);
      return { id: ref.id };
    },
    name: (t: { id: string; name?: string }) => t.name ?? `thing ${t.id}`,
    broken: () => {
      throw new Error('database password is hunter2');
    },
    refused: () => {
      throw codedError('FORBIDDEN', 'Not yours', { reason: 'OWNER_ONLY' });
    },
    seenBy: (_t: unknown, _a: unknown, ctx: Ctx) =>
      ctx.caller.kind === 'anonymous' ? 'anonymous' : ctx.caller.subject,
  },
};

// Callers: no header is anonymous, `good` is a user, anything else is refused.
const authenticate: Authenticator = (metadata) => {
  const [raw] = metadata.get('authorization');
  if (raw === undefined) return Promise.resolve({ kind: 'anonymous' });
  if (raw === 'Bearer good') {
    return Promise.resolve({ kind: 'user', subject: 'u-1', roles: [], token: 'good' });
  }
  return Promise.reject(
    commonErrors.UNAUTHENTICATED({ message: 'Invalid or expired credentials' }),
  );
};

let subgraph: RunningSubgraph;

beforeAll(async () => {
  subgraph = await startSubgraph<Ctx>({
    name: 'things',
    typeDefs,
    resolvers,
    createContext: (base) => ({ ...base, loads: [] }),
    host: '127.0.0.1',
    port: 0,
    metricsPort: 0,
    logger,
    authenticate,
  });
});

afterAll(() => subgraph.stop());

interface Answer {
  status: number;
  contentType: string | null;
  headers: Headers;
  body: {
    data?: Record<string, unknown> | null;
    errors?: Array<{ message: string; path?: unknown[]; extensions?: Record<string, unknown> }>;
  };
}

async function post(
  body: unknown,
  headers: Record<string, string> = {},
  raw?: string,
): Promise<Answer> {
  const res = await fetch(subgraph.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: raw ?? JSON.stringify(body),
  });
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    headers: res.headers,
    body: (await res.json()) as Answer['body'],
  };
}

async function get(search: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(`${subgraph.url}?${new URLSearchParams(search).toString()}`, {
    headers: { 'apollo-require-preflight': 'true', ...headers },
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Answer['body'] };
}

const metricValue = async (name: string, labels: string): Promise<number> => {
  const text = await subgraph.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
};

describe('the subgraph server', () => {
  it('answers a query as JSON', async () => {
    const answer = await post({ query: '{ thing(id: "7") { id name } }' });
    expect(answer.status).toBe(200);
    expect(answer.contentType).toBe('application/json; charset=utf-8');
    expect(answer.body).toEqual({ data: { thing: { id: '7', name: 'thing 7' } } });
  });

  it('resolves entities and serves its SDL for composition', async () => {
    const answer = await post({
      query:
        'query($r: [_Any!]!) { _entities(representations: $r) { ... on Thing { id name } } _service { sdl } }',
      variables: {
        r: [
          { __typename: 'Thing', id: 'a' },
          { __typename: 'Thing', id: 'b' },
        ],
      },
    });
    expect(answer.status).toBe(200);
    expect(answer.body.data?._entities).toEqual([
      { id: 'a', name: 'thing a' },
      { id: 'b', name: 'thing b' },
    ]);
    expect((answer.body.data?._service as { sdl: string }).sdl).toContain('@key(fields: "id")');
  });

  it('answers the same document the same way every time (it is parsed once and cached)', async () => {
    const query = 'query Many($n: Int!) { things(first: $n) { id } }';
    const answers = await Promise.all([1, 2, 3, 1].map((n) => post({ query, variables: { n } })));
    expect(answers.map((a) => (a.body.data?.things as unknown[]).length)).toEqual([1, 2, 3, 1]);
    const invalid = await Promise.all([1, 2].map(() => post({ query: '{ nope }' })));
    expect(invalid.map((a) => a.status)).toEqual([400, 400]);
  });

  it('coerces enum variables to their internal values and serializes custom scalars', async () => {
    const query =
      'query($c: Colour!, $at: DateTime!) { paint(colour: $c, at: $at) { number colour later } }';
    const answer = await post({ query, variables: { c: 'GREEN', at: '2026-01-01T00:00:00.000Z' } });
    expect(answer.body).toEqual({
      data: { paint: { number: 2, colour: 'GREEN', later: '2026-01-02T00:00:00.000Z' } },
    });
    const inline = await post({
      query: '{ paint(colour: RED, at: "2026-01-01T00:00:00Z") { number colour } }',
    });
    expect(inline.body).toEqual({ data: { paint: { number: 1, colour: 'RED' } } });
    const wrong = await post({ query, variables: { c: 'BLUE', at: '2026-01-01T00:00:00Z' } });
    expect(wrong.status).toBe(400);
    expect(wrong.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('masks an error without a code and logs it', async () => {
    logLines.length = 0;
    const answer = await post({ query: '{ thing(id: "1") { id broken } }' });
    expect(answer.status).toBe(200);
    expect(answer.body.data).toEqual({ thing: { id: '1', broken: null } });
    expect(answer.body.errors).toEqual([
      {
        message: 'Internal server error',
        locations: [{ line: 1, column: 23 }],
        path: ['thing', 'broken'],
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      },
    ]);
    expect(JSON.stringify(answer.body)).not.toContain('hunter2');
    expect(logLines.join('')).toContain('internal error masked');
  });

  it('passes a coded error through with its extensions', async () => {
    const answer = await post({ query: '{ thing(id: "1") { refused } }' });
    expect(answer.status).toBe(200);
    expect(answer.body.errors).toEqual([
      expect.objectContaining({
        message: 'Not yours',
        path: ['thing', 'refused'],
        extensions: { code: 'FORBIDDEN', reason: 'OWNER_ONLY' },
      }),
    ]);
  });

  it.each([
    ['a syntax error', { query: '{ thing(' }, 400, 'GRAPHQL_PARSE_FAILED'],
    ['an unknown field', { query: '{ nope }' }, 400, 'GRAPHQL_VALIDATION_FAILED'],
    [
      'a missing variable',
      { query: 'query($n: Int!) { things(first: $n) { id } }' },
      400,
      'BAD_USER_INPUT',
    ],
    [
      'a variable of the wrong type',
      { query: 'query($n: Int!) { things(first: $n) { id } }', variables: { n: 'x' } },
      400,
      'BAD_USER_INPUT',
    ],
    ['no query', { variables: {} }, 400, 'BAD_REQUEST'],
    ['a query that is not a string', { query: { kind: 'Document' } }, 400, 'BAD_REQUEST'],
    [
      'variables that are not an object',
      { query: '{ __typename }', variables: [1] },
      400,
      'BAD_REQUEST',
    ],
    [
      'an unknown operation name',
      { query: 'query A { __typename }', operationName: 'B' },
      400,
      'OPERATION_RESOLUTION_FAILURE',
    ],
    [
      'two operations and no name',
      { query: 'query A { __typename } query B { __typename }' },
      400,
      'OPERATION_RESOLUTION_FAILURE',
    ],
    ['a batch', [{ query: '{ __typename }' }], 400, 'BAD_REQUEST'],
    [
      'a persisted query hash',
      { extensions: { persistedQuery: { version: 1, sha256Hash: 'abc' } } },
      200,
      'PERSISTED_QUERY_NOT_SUPPORTED',
    ],
  ])('refuses %s with %i %s', async (_case, body, status, code) => {
    const answer = await post(body);
    expect(answer.status).toBe(status);
    expect(answer.body.data).toBeUndefined();
    expect(answer.body.errors?.[0].extensions?.code).toBe(code);
  });

  it('answers malformed JSON with 400 BAD_REQUEST', async () => {
    const answer = await post(undefined, {}, '{"query": ');
    expect(answer.status).toBe(400);
    expect(answer.body.errors?.[0].extensions?.code).toBe('BAD_REQUEST');
  });

  it('refuses a body over the limit with 413', async () => {
    const answer = await post({ query: `{ __typename } #${'x'.repeat(1024 * 1024)}` });
    expect(answer.status).toBe(413);
    expect(answer.body.errors?.[0].extensions?.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('blocks a POST a browser could send cross-site without a preflight (CSRF)', async () => {
    const answer = await post({ query: '{ __typename }' }, { 'content-type': 'text/plain' });
    expect(answer.status).toBe(400);
    expect(answer.body.errors?.[0].extensions?.code).toBe('BAD_REQUEST');
  });

  it('serves queries over GET but not mutations', async () => {
    const query = await get({ query: '{ thing(id: "3") { name } }' });
    expect(query.status).toBe(200);
    expect(query.body).toEqual({ data: { thing: { name: 'thing 3' } } });
    const mutation = await get({ query: 'mutation { rename(id: "3", name: "x") { name } }' });
    expect(mutation.status).toBe(405);
    expect(mutation.headers.get('allow')).toBe('POST');
    const withoutPreflight = await fetch(`${subgraph.url}?query=%7B__typename%7D`);
    expect(withoutPreflight.status).toBe(400);
  });

  it('runs mutations over POST', async () => {
    const answer = await post({ query: 'mutation { rename(id: "3", name: "x") { name } }' });
    expect(answer.body).toEqual({ data: { rename: { name: 'x' } } });
  });

  it('resolves the caller from the headers, and refuses a bad credential with 401', async () => {
    const query = { query: '{ thing(id: "1") { seenBy } }' };
    expect((await post(query)).body.data).toEqual({ thing: { seenBy: 'anonymous' } });
    expect((await post(query, { authorization: 'Bearer good' })).body.data).toEqual({
      thing: { seenBy: 'u-1' },
    });
    const refused = await post(query, { authorization: 'Bearer forged' });
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual({
      errors: [
        { message: 'Invalid or expired credentials', extensions: { code: 'UNAUTHENTICATED' } },
      ],
    });
  });

  it('answers 406 when the caller accepts no JSON', async () => {
    const answer = await post({ query: '{ __typename }' }, { accept: 'text/html' });
    expect(answer.status).toBe(406);
  });

  it('answers /healthz and 404 elsewhere', async () => {
    const base = new URL(subgraph.url);
    expect((await fetch(new URL('/healthz', base))).status).toBe(200);
    expect((await fetch(new URL('/elsewhere', base))).status).toBe(404);
  });

  it('counts operations by type and outcome, errors by code, and their latency', async () => {
    const before = {
      ok: await metricValue('graphql_operations_total', 'operation_type="mutation",outcome="ok"'),
      partial: await metricValue(
        'graphql_operations_total',
        'operation_type="query",outcome="partial"',
      ),
      parse: await metricValue('graphql_errors_total', 'code="GRAPHQL_PARSE_FAILED"'),
      masked: await metricValue('graphql_errors_total', 'code="INTERNAL_SERVER_ERROR"'),
      timed: await metricValue(
        'graphql_request_duration_seconds_count',
        'operation_type="mutation",outcome="ok"',
      ),
    };
    await post({ query: 'mutation { rename(id: "1", name: "y") { id } }' });
    await post({ query: '{ thing(id: "1") { id broken } }' });
    await post({ query: '{' });
    expect(
      await metricValue('graphql_operations_total', 'operation_type="mutation",outcome="ok"'),
    ).toBe(before.ok + 1);
    expect(
      await metricValue('graphql_operations_total', 'operation_type="query",outcome="partial"'),
    ).toBe(before.partial + 1);
    expect(await metricValue('graphql_errors_total', 'code="GRAPHQL_PARSE_FAILED"')).toBe(
      before.parse + 1,
    );
    expect(await metricValue('graphql_errors_total', 'code="INTERNAL_SERVER_ERROR"')).toBe(
      before.masked + 1,
    );
    expect(
      await metricValue(
        'graphql_request_duration_seconds_count',
        'operation_type="mutation",outcome="ok"',
      ),
    ).toBe(before.timed + 1);
  });
});
