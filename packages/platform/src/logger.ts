import bunyan from 'bunyan';
import { formatError, version as ecsVersion } from '@elastic/ecs-helpers';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import type { Writable } from 'node:stream';

/** The platform's logger type: bunyan, writing Elastic Common Schema JSON lines. */
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

const LEVEL_NAMES: Readonly<Record<number, string>> = {
  [bunyan.TRACE]: 'trace',
  [bunyan.DEBUG]: 'debug',
  [bunyan.INFO]: 'info',
  [bunyan.WARN]: 'warn',
  [bunyan.ERROR]: 'error',
  [bunyan.FATAL]: 'fatal',
};

/** bunyan's own fields (`v` is its format version), mapped to ECS or dropped. */
const CORE_FIELDS = new Set([
  'time',
  'level',
  'msg',
  'name',
  'hostname',
  'pid',
  'v',
  'service',
  'err',
]);

/** What bunyan hands a raw stream: its core fields, then the caller's. */
interface BunyanRecord {
  time: Date;
  level: number;
  msg: string;
  name: string;
  hostname: string;
  pid: number;
  v: number;
  service?: string;
  err?: unknown;
  [field: string]: unknown;
}

/**
 * A bunyan raw stream writing each record as one Elastic Common Schema line: `@timestamp`,
 * `log.level`, `message`, `ecs.version`, `service.name`, `event.dataset` and, inside an active
 * span, `trace.id` and `span.id` (so a trace in Jaeger finds its logs by `trace.id`); errors as
 * `error.*` (the ECS helpers' formatter); the caller's own fields as they are, secrets redacted.
 * The keys are dotted, as Elastic's ECS formatters write them.
 */
export class EcsLineStream {
  constructor(private readonly out: Pick<Writable, 'write'>) {}

  write(record: BunyanRecord): void {
    const { time, level, msg, name, hostname, pid, service, err } = record;
    const fields: Record<string, unknown> = {};
    for (const key of Object.keys(record)) if (!CORE_FIELDS.has(key)) fields[key] = record[key];
    const line: Record<string, unknown> = {
      '@timestamp': time.toISOString(),
      'log.level': LEVEL_NAMES[level] ?? String(level),
      message: msg,
      'ecs.version': ecsVersion,
      'service.name': service ?? name,
      'event.dataset': service ?? name,
      'log.logger': name,
      'process.pid': pid,
      'host.hostname': hostname,
    };
    const span = trace.getActiveSpan()?.spanContext();
    if (span && isSpanContextValid(span)) {
      line['trace.id'] = span.traceId;
      line['span.id'] = span.spanId;
    }
    if (err !== undefined) formatError(line, err);
    Object.assign(line, redact(fields));
    this.out.write(`${JSON.stringify(line)}\n`);
  }
}

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  service: string;
  level?: bunyan.LogLevel;
  /** Where JSON lines go; stdout by default. */
  stream?: Pick<Writable, 'write'>;
}

/** Creates the ECS JSON logger of one process, tagged with the service name. */
export function createLogger(options: LoggerOptions): Logger {
  return bunyan.createLogger({
    name: options.service,
    service: options.service,
    level: options.level ?? 'info',
    // Errors reach the stream as Error objects, for the ECS error formatter.
    serializers: { req: bunyan.stdSerializers.req, res: bunyan.stdSerializers.res },
    streams: [
      {
        type: 'raw',
        stream: new EcsLineStream(
          options.stream ?? process.stdout,
        ) as unknown as NodeJS.WritableStream,
      },
    ],
  });
}
