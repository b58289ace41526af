import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { activeTraceParent, contextOfTraceParent, startTracing } from '../src/tracing';

/** The compiled tracing module (`npm test` builds before Jest runs). */
const TRACING_JS = path.resolve(__dirname, '../dist/src/tracing.js');

function runNode(
  script: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  if (!existsSync(TRACING_JS)) throw new Error(`${TRACING_JS} is missing: run npm run build`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A local OTLP/HTTP receiver: records every export request it gets. */
async function startReceiver(): Promise<{
  url: string;
  requests: Array<{ path: string; contentType: string; body: Buffer }>;
  server: Server;
}> {
  const requests: Array<{ path: string; contentType: string; body: Buffer }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({
        path: req.url ?? '',
        contentType: req.headers['content-type'] ?? '',
        body: Buffer.concat(chunks),
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1/traces`, requests, server };
}

describe('tracing', () => {
  it('exports spans over OTLP/HTTP to the configured endpoint, tagged with the service name', async () => {
    const receiver = await startReceiver();
    try {
      // The OTLP exporter loads its HTTP agent with a dynamic import, which Jest's VM cannot run,
      // so the exporting side is a real Node process using the compiled platform package, as a
      // service would.
      const script = `
        const { startTracing } = require(${JSON.stringify(TRACING_JS)});
        const tracing = startTracing({ serviceName: 'tracing-test', otlpTracesUrl: process.argv[1] });
        const span = tracing.tracer.startSpan('place order');
        process.stdout.write(span.spanContext().traceId);
        span.end();
        tracing.shutdown().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
      `;
      const { code, stdout, stderr } = await runNode(script, [receiver.url]);
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(stdout).toMatch(/^[0-9a-f]{32}$/);

      expect(receiver.requests).toHaveLength(1);
      const [sent] = receiver.requests;
      expect(sent.path).toBe('/v1/traces');
      // The payload carries the resource's service name, the span name and its trace id.
      const body = sent.body;
      expect(body.includes('tracing-test')).toBe(true);
      expect(body.includes('place order')).toBe(true);
      expect(body.includes(Buffer.from(stdout, 'hex')) || body.includes(stdout)).toBe(true);
    } finally {
      await new Promise((resolve) => receiver.server.close(resolve));
    }
  });

  it('writes the active span as a W3C traceparent, for events stored to be published later', async () => {
    const tracing = startTracing({
      serviceName: 'tracing-test',
      exporter: new InMemorySpanExporter(),
    });
    try {
      expect(activeTraceParent()).toBe('');
      const span = tracing.tracer.startSpan('outer');
      const stored = context.with(trace.setSpan(context.active(), span), () => activeTraceParent());
      const { traceId, spanId } = span.spanContext();
      span.end();
      expect(stored).toBe(`00-${traceId}-${spanId}-01`);
      expect(trace.getSpanContext(contextOfTraceParent(stored))).toMatchObject({ traceId, spanId });
    } finally {
      await tracing.shutdown();
    }
  });

  it('registers nothing when neither an endpoint nor an exporter is configured', async () => {
    const tracing = startTracing({ serviceName: 'tracing-test' });
    try {
      expect(tracing.enabled).toBe(false);
      const span = tracing.tracer.startSpan('request');
      // The API's no-op span: nothing is recorded, nothing propagates.
      expect(span.isRecording()).toBe(false);
      const stored = context.with(trace.setSpan(context.active(), span), () => activeTraceParent());
      span.end();
      expect(stored).toBe('');
    } finally {
      await tracing.shutdown();
    }
  });
});
