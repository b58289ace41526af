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
  it('writes one JSON line per record with the service name', () => {
    const { lines, stream } = capture();
    createLogger({ service: 'order-service', stream }).info({ orderId: 'o1' }, 'order placed');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      service: 'order-service',
      msg: 'order placed',
      orderId: 'o1',
      level: 30,
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

  it('stamps the active trace and span ids', () => {
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
    expect(lines[0]).toMatchObject({ trace_id: ids.traceId, span_id: ids.spanId });
    expect(lines[1]).not.toHaveProperty('trace_id');
  });

  it('redacts without touching non-secret values', () => {
    expect(redact({ a: 1, list: [{ token: 'x' }], nested: { apiKey: 'k', ok: true } })).toEqual({
      a: 1,
      list: [{ token: '[redacted]' }],
      nested: { apiKey: '[redacted]', ok: true },
    });
  });
});
