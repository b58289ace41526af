import { startTracing, type Tracing } from '@shop/platform/tracing';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { uniqueId, waitFor } from '@shop/testing';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { adminHeaders, startStack, type Stack } from './harness';

// The gateway's OpenTelemetry spans: one request span, and a fetch span per subgraph call of the
// query plan, all in one trace (exported to Jaeger over OTLP when OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
// is set; collected in memory here).
const exporter = new InMemorySpanExporter();
let tracing: Tracing;
let stack: Stack;
beforeAll(async () => {
  tracing = startTracing({ serviceName: 'gateway-tracing-test', exporter });
  stack = await startStack('tracing');
  const category = await stack.query<{ createCategory: { id: string } }>(
    'mutation($input: CreateCategoryInput!) { createCategory(input: $input) { id } }',
    { input: { name: uniqueId('Traced') } },
    adminHeaders,
  );
  for (const sku of [uniqueId('T1'), uniqueId('T2')]) {
    const created = await stack.query(
      'mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }',
      {
        input: {
          sku,
          name: sku,
          categoryId: category.data!.createCategory.id,
          price: { amount: 100, currency: 'EUR' },
        },
      },
      adminHeaders,
    );
    expect(created.errors).toBeUndefined();
  }
});
let live: Stack | undefined;
let client: Client | undefined;
afterAll(async () => {
  await client?.dispose();
  await live?.stop();
  await stack?.stop();
  await tracing?.shutdown();
});

it('records a span per subgraph fetch under the request span of the same trace', async () => {
  exporter.reset();
  const res = await stack.query(
    '{ products(first: 2) { edges { node { id category { id name } inventory { available } } } } }',
  );
  expect(res.errors).toBeUndefined();

  const spans = exporter.getFinishedSpans();
  const request = spans.find((s) => s.name === 'gateway.request');
  expect(request).toBeDefined();
  const traceId = request!.spanContext().traceId;
  const fetches = spans.filter((s) => s.name === 'gateway.fetch');
  // products first, then categories and inventory for the references.
  expect(fetches.length).toBeGreaterThanOrEqual(3);
  expect(new Set(fetches.map((s) => s.spanContext().traceId))).toEqual(new Set([traceId]));
});

it('traces each subscription push in a trace of its own, linked to the event that caused it', async () => {
  live = await startStack('tracing-live', { subscriptions: true });
  const category = await live.query<{ createCategory: { id: string } }>(
    'mutation($input: CreateCategoryInput!) { createCategory(input: $input) { id } }',
    { input: { name: uniqueId('Live') } },
    adminHeaders,
  );
  const sku = uniqueId('L1');
  const created = await live.query<{ createProduct: { id: string } }>(
    'mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }',
    {
      input: {
        sku,
        name: sku,
        categoryId: category.data!.createCategory.id,
        price: { amount: 100, currency: 'EUR' },
      },
    },
    adminHeaders,
  );
  const productId = created.data!.createProduct.id;
  await live.query(
    'mutation($p: ID!) { setInitialStock(productId: $p, onHand: 5) { available } }',
    { p: productId },
    adminHeaders,
  );
  client = createClient({ url: live.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
  const seen: number[] = [];
  client.subscribe<{ stockChanged: { available: number } }>(
    {
      query: 'subscription($p: ID!) { stockChanged(productId: $p) { available } }',
      variables: { p: productId },
    },
    {
      next: (r) => void seen.push(r.data?.stockChanged.available ?? -1),
      error: () => undefined,
      complete: () => undefined,
    },
  );
  await waitFor('the initial state', () => (seen.includes(5) ? true : undefined));
  exporter.reset();
  const adjusted = await live.query(
    'mutation($p: ID!) { adjustStock(productId: $p, delta: 2, reason: "count") { available } }',
    { p: productId },
    adminHeaders,
  );
  expect(adjusted.errors).toBeUndefined();
  await waitFor('the pushed change', () => (seen.includes(7) ? true : undefined));

  const spans = () => exporter.getFinishedSpans();
  const push = await waitFor('the push span', () =>
    spans().find((s) => s.name === 'subscription push' && s.links.length > 0),
  );
  expect(push.attributes['graphql.subscription.field']).toBe('stockChanged');
  expect(push.attributes['subscription.delivered']).toBe(1);
  // The link is the gateway consumer's span of the StockLevelChanged record.
  const consumed = spans().find((s) => s.spanContext().spanId === push.links[0].context.spanId);
  expect(consumed?.name).toMatch(/inventory-updates.* process$/);
  expect(consumed?.spanContext().traceId).toBe(push.links[0].context.traceId);
  // A trace of its own: the push may answer several events, each from its own trace.
  expect(push.spanContext().traceId).not.toBe(consumed?.spanContext().traceId);
  // The push's re-read runs in the push's trace.
  const reread = spans().filter(
    (s) => s.name === 'gateway.fetch' && s.spanContext().traceId === push.spanContext().traceId,
  );
  expect(reread.length).toBeGreaterThan(0);
}, 120_000);
