import bunyan from 'bunyan';
import { trace } from '@opentelemetry/api';
import type { Writable } from 'node:stream';

/** The platform's logger type: bunyan, JSON lines for ELK. */
export type Logger = bunyan;

const SECRET_KEY = /pass(word)?|secret|token|authorization|cookie|api[-_]?key|card|cvc|iban/i;
const REDACTED = '[redacted]';

/** Replaces the values of secret-looking keys, at any depth, with a marker. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error || value instanceof Date || Buffer.isBuffer(value)) return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    out[key] =
      SECRET_KEY.test(key) && v !== undefined && v !== null ? REDACTED : redact(v, depth + 1);
  }
  return out;
}

/**
 * A bunyan raw stream that stamps the active OpenTelemetry trace and span ids on each record
 * and redacts secrets before writing one JSON line.
 */
class JsonLineStream {
  constructor(private readonly out: Pick<Writable, 'write'>) {}

  write(record: Record<string, unknown>): void {
    const span = trace.getActiveSpan();
    if (span && record['trace_id'] === undefined) {
      const ctx = span.spanContext();
      record['trace_id'] = ctx.traceId;
      record['span_id'] = ctx.spanId;
    }
    this.out.write(`${JSON.stringify(redact(record))}\n`);
  }
}

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  service: string;
  level?: bunyan.LogLevel;
  /** Where JSON lines go; stdout by default. */
  stream?: Pick<Writable, 'write'>;
}

/** Creates the JSON logger of one process, tagged with the service name. */
export function createLogger(options: LoggerOptions): Logger {
  return bunyan.createLogger({
    name: options.service,
    service: options.service,
    level: options.level ?? 'info',
    serializers: bunyan.stdSerializers,
    streams: [
      {
        type: 'raw',
        stream: new JsonLineStream(
          options.stream ?? process.stdout,
        ) as unknown as NodeJS.WritableStream,
      },
    ],
  });
}
