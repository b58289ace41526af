import { startTracing, type Tracing } from '@shop/platform/tracing';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { uniqueId } from '@shop/testing';
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
afterAll(async () => {
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
