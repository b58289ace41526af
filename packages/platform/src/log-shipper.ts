import { Client } from '@opensearch-project/opensearch';
import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from './logger';
import { EcsLineStream } from './logger';

/** Options for {@link createLogShipper}. */
export interface LogShipperOptions {
  /** The Elasticsearch-API store, e.g. http://127.0.0.1:9200 (`LOG_STORE_URL`). */
  url: string;
  /** Lines go to `<prefix>-YYYY.MM.DD` (UTC day of the write); default `shop-logs`. */
  indexPrefix?: string;
  /** Lines held while the store is slow or down; newer lines are dropped past it. */
  maxBufferedLines?: number;
  maxBufferedBytes?: number;
  /** Lines per `_bulk` request. */
  maxBatchLines?: number;
  flushIntervalMs?: number;
  /** Longest wait between attempts while the store is down (the wait doubles up to it). */
  maxRetryDelayMs?: number;
  requestTimeoutMs?: number;
  /** Registry for `log_shipper_*` metrics; see also {@link LogShipper.registerMetrics}. */
  registry?: Registry;
}

/** Counts since start: lines the store accepted, lines dropped, lines waiting. */
export interface LogShipperStats {
  shipped: number;
  dropped: number;
  buffered: number;
}

/** A sink for JSON log lines that batches them into the store's `_bulk` API in the background. */
export interface LogShipper {
  /** Buffers one JSON line; never blocks or throws. False when the line was dropped. */
  write(line: string): boolean;
  /** Sends what is buffered now (one attempt per batch); resolves, never rejects. */
  flush(): Promise<void>;
  /** Stops the timer, makes a last attempt to send the buffer and closes the client. */
  close(): Promise<void>;
  /** Registers the `log_shipper_*` metrics on a registry created after the shipper. */
  registerMetrics(registry: Registry): void;
  stats(): LogShipperStats;
}

const TEMPLATE = {
  // ECS keys as keywords, so a search by trace.id is an exact term match.
  mappings: {
    properties: {
      '@timestamp': { type: 'date' },
      message: { type: 'text' },
      log: { properties: { level: { type: 'keyword' }, logger: { type: 'keyword' } } },
      service: { properties: { name: { type: 'keyword' } } },
      event: { properties: { dataset: { type: 'keyword' } } },
      trace: { properties: { id: { type: 'keyword' } } },
      span: { properties: { id: { type: 'keyword' } } },
    },
  },
} as const;

interface Pending {
  index: string;
  line: string;
}

type BulkBody = Parameters<Client['bulk']>[0]['body'];

/** A 4xx answer other than 429: the request itself is refused, and would be again. */
function isClientError(err: unknown): boolean {
  const status = (err as { meta?: { statusCode?: number } } | undefined)?.meta?.statusCode;
  return status !== undefined && status >= 400 && status < 500 && status !== 429;
}

const dayOf = (now: Date): string => now.toISOString().slice(0, 10).replace(/-/g, '.');

/**
 * Creates a shipper: lines wait in a bounded in-memory buffer and go to the store in `_bulk`
 * batches every `flushIntervalMs` (or as soon as a batch is full). While the store is down the
 * buffer is kept and retried with a growing delay; lines that do not fit are dropped and
 * counted (`log_shipper_dropped_total{reason="buffer_full"}`), as are lines the store rejects
 * (`reason="rejected"`); the process is never blocked and nothing is thrown at the caller.
 */
export function createLogShipper(options: LogShipperOptions): LogShipper {
  const prefix = options.indexPrefix ?? 'shop-logs';
  const maxLines = options.maxBufferedLines ?? 20_000;
  const maxBytes = options.maxBufferedBytes ?? 32 * 1024 * 1024;
  const batchLines = options.maxBatchLines ?? 500;
  const interval = options.flushIntervalMs ?? 1_000;
  const maxDelay = options.maxRetryDelayMs ?? 10_000;
  const client = new Client({
    node: options.url,
    maxRetries: 0,
    requestTimeout: options.requestTimeoutMs ?? 5_000,
  });

  const shippedTotal = new Counter({
    name: 'log_shipper_shipped_total',
    help: 'Log lines the log store accepted.',
    registers: [],
  });
  const droppedTotal = new Counter({
    name: 'log_shipper_dropped_total',
    help: 'Log lines dropped: buffer full while the store was slow or down, or rejected by it.',
    labelNames: ['reason'],
    registers: [],
  });
  const bufferedLines = new Gauge({
    name: 'log_shipper_buffered_lines',
    help: 'Log lines waiting to be shipped.',
    registers: [],
    collect() {
      this.set(buffer.length);
    },
  });
  const registerMetrics = (registry: Registry): void => {
    for (const metric of [shippedTotal, droppedTotal, bufferedLines]) {
      registry.registerMetric(metric);
    }
  };
  if (options.registry) registerMetrics(options.registry);

  const buffer: Pending[] = [];
  let bytes = 0;
  let shipped = 0;
  let dropped = 0;
  let inFlight: Promise<void> | undefined;
  let templateReady = false;
  let delay = interval;
  let nextAttemptAt = 0;
  let closed = false;

  const drop = (count: number, reason: 'buffer_full' | 'rejected'): void => {
    dropped += count;
    droppedTotal.inc({ reason }, count);
  };

  // Every process puts the same template; it must exist before the day's index is created.
  async function ensureTemplate(): Promise<void> {
    if (templateReady) return;
    try {
      await client.indices.putIndexTemplate({
        name: prefix,
        body: { index_patterns: [`${prefix}-*`], template: TEMPLATE },
      });
    } catch (err) {
      // Refused (e.g. no permission on a managed store): ship with the store's own mappings.
      if (!isClientError(err)) throw err;
    }
    templateReady = true;
  }

  async function sendBatch(): Promise<boolean> {
    const batch = buffer.slice(0, batchLines);
    if (batch.length === 0) return false;
    await ensureTemplate();
    // The lines are JSON already: one NDJSON body, sent as is by the client.
    const body = batch
      .map(({ index, line }) => `{"index":{"_index":"${index}"}}\n${line}\n`)
      .join('');
    const response = await client.bulk({ body: body as unknown as BulkBody });
    buffer.splice(0, batch.length);
    bytes -= batch.reduce((sum, p) => sum + p.line.length, 0);
    const retry: Pending[] = [];
    let rejected = 0;
    response.body.items.forEach((item, i) => {
      const status = item.index?.status ?? 500;
      if (status < 300) return;
      const pending = batch[i];
      // Too many requests or a shard not ready: worth another try; anything else will not pass.
      if (pending && (status === 429 || status >= 500)) retry.push(pending);
      else rejected += 1;
    });
    const accepted = batch.length - retry.length - rejected;
    shipped += accepted;
    shippedTotal.inc(accepted);
    if (rejected > 0) drop(rejected, 'rejected');
    buffer.unshift(...retry);
    bytes += retry.reduce((sum, p) => sum + p.line.length, 0);
    return retry.length === 0 && buffer.length > 0;
  }

  async function drain(): Promise<void> {
    try {
      // Tracing the shipper's own requests would add a trace per batch to every process.
      await context.with(suppressTracing(context.active()), async () => {
        while (await sendBatch());
      });
      delay = interval;
      nextAttemptAt = 0;
    } catch (err) {
      if (isClientError(err)) {
        // The store refuses the batch itself (e.g. too large): retrying would stall every later line.
        const refused = buffer.splice(0, Math.min(batchLines, buffer.length));
        bytes -= refused.reduce((sum, p) => sum + p.line.length, 0);
        drop(refused.length, 'rejected');
        return;
      }
      // The store is down or slow: keep the buffer, try again later.
      nextAttemptAt = Date.now() + delay;
      delay = Math.min(delay * 2, maxDelay);
    }
  }

  function flush(): Promise<void> {
    inFlight ??= drain().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  const timer = setInterval(() => {
    if (buffer.length > 0 && Date.now() >= nextAttemptAt) void flush();
  }, interval);
  timer.unref();

  return {
    write(line) {
      const text = line.endsWith('\n') ? line.slice(0, -1) : line;
      if (closed || buffer.length >= maxLines || bytes + text.length > maxBytes) {
        drop(1, 'buffer_full');
        return false;
      }
      buffer.push({ index: `${prefix}-${dayOf(new Date())}`, line: text });
      bytes += text.length;
      if (buffer.length >= batchLines && inFlight === undefined && Date.now() >= nextAttemptAt) {
        void flush();
      }
      return true;
    },
    flush,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await inFlight;
      await flush();
      await client.close();
    },
    registerMetrics,
    stats: () => ({ shipped, dropped, buffered: buffer.length }),
  };
}

/**
 * Ships every line `logger` writes from now on to the store, as an extra output stream next to
 * stdout; returns the shipper (close it on shutdown to send what is left).
 */
export function shipLogs(logger: Logger, options: LogShipperOptions): LogShipper {
  const shipper = createLogShipper(options);
  logger.addStream({
    type: 'raw',
    level: logger.level(),
    stream: new EcsLineStream(shipper) as unknown as NodeJS.WritableStream,
  });
  return shipper;
}
