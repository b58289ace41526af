import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { createLogger, redact } from '@shop/platform';
import { Writable } from 'node:stream';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

describe('logger', () => {
  it('writes one Elastic Common Schema line per record, with the service and the caller fields', () => {
    const { lines, stream } = capture();
    const before = Date.now();
    createLogger({ service: 'order-service', stream }).info({ orderId: 'o1' }, 'order placed');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      'log.level': 'info',
      message: 'order placed',
      'service.name': 'order-service',
      'event.dataset': 'order-service',
      'ecs.version': expect.stringMatching(/^\d+\.\d+\.\d+$/) as string,
      'process.pid': process.pid,
      orderId: 'o1',
    });
    expect(Date.parse(lines[0]['@timestamp'] as string)).toBeGreaterThanOrEqual(before - 1);
    expect(lines[0]).not.toHaveProperty('msg');
    expect(lines[0]).not.toHaveProperty(['trace.id']);
  });

  it('writes an error as ECS error fields', () => {
    const { lines, stream } = capture();
    createLogger({ service: 's', stream }).error({ err: new TypeError('boom') }, 'failed');
    expect(lines[0]).toMatchObject({
      'log.level': 'error',
      message: 'failed',
      error: {
        type: 'TypeError',
        message: 'boom',
        stack_trace: expect.stringContaining('TypeError: boom') as string,
      },
    });
  });

  it('never writes secrets, at any depth', () => {
    const { lines, stream } = capture();
    createLogger({ service: 's', stream }).info(
      {
        headers: { authorization: 'Bearer eyJ.secret' },
        user: { password: 'pw', name: 'Al' },
        cardNumber: '4242',
      },
      'request',
    );
    const text = JSON.stringify(lines[0]);
    expect(text).not.toContain('eyJ.secret');
    expect(text).not.toContain('"pw"');
    expect(text).not.toContain('4242');
    expect(lines[0]).toMatchObject({ user: { name: 'Al', password: '[redacted]' } });
  });

  it("stamps the active span's trace.id and span.id on a line written inside it", () => {
    const { lines, stream } = capture();
    const logger = createLogger({ service: 's', stream });
    const provider = new NodeTracerProvider();
    provider.register();
    const ids = provider.getTracer('t').startActiveSpan('op', (span) => {
      logger.info('inside');
      span.end();
      return span.spanContext();
    });
    logger.info('outside');
    expect(lines[0]).toMatchObject({ 'trace.id': ids.traceId, 'span.id': ids.spanId });
    expect(lines[1]).not.toHaveProperty(['trace.id']);
  });

  it('redacts without touching non-secret values', () => {
    expect(redact({ a: 1, list: [{ token: 'x' }], nested: { apiKey: 'k', ok: true } })).toEqual({
      a: 1,
      list: [{ token: '[redacted]' }],
      nested: { apiKey: '[redacted]', ok: true },
    });
  });
});
