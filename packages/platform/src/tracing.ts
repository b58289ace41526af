/**
 * OpenTelemetry tracing for one process. Import this module (the `@shop/platform/tracing`
 * entry point) and call {@link startTracing} before anything loads `@grpc/grpc-js`, `kafkajs`,
 * `mongodb` or `undici`, so the instrumentations can patch them.
 */
import {
  SpanKind,
  context,
  propagation,
  trace,
  type Context,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';
import { MongoDBInstrumentation } from '@opentelemetry/instrumentation-mongodb';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type ReadableSpan,
  type Span,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

/** Options for {@link startTracing}. */
export interface TracingOptions {
  serviceName: string;
  /** OTLP/HTTP traces endpoint (e.g. http://127.0.0.1:4318/v1/traces); no export when unset. */
  otlpTracesUrl?: string | undefined;
  /** Extra exporter, e.g. an in-memory one in tests (exported synchronously). */
  exporter?: SpanExporter;
}

/** A running tracer provider. */
export interface Tracing {
  readonly tracer: Tracer;
  /** True when spans are recorded and exported (an endpoint or exporter was given). */
  readonly enabled: boolean;
  shutdown(): Promise<void>;
}

const KAFKAJS_SCOPE = '@opentelemetry/instrumentation-kafkajs';

/**
 * Leaves out the kafkajs instrumentation's consumer-side spans. Our consumers take batches
 * (eachBatch), for which it starts a new root trace per fetched batch (`poll <topic>`) whose
 * per-message spans are only linked to the producer: one extra trace per batch in every consumer.
 * The platform's own consumer span, parented on the record's `traceparent`, carries the handling
 * instead. Producer spans (whose context the records carry) are kept.
 */
class WithoutKafkaPolls implements SpanProcessor {
  constructor(private readonly next: SpanProcessor) {}

  onStart(span: Span, parentContext: Context): void {
    this.next.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    if (span.instrumentationScope.name === KAFKAJS_SCOPE && span.kind !== SpanKind.PRODUCER) return;
    this.next.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.next.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.next.shutdown();
  }
}

/** Operational endpoints every process serves; scraped and probed every few seconds. */
const OPS_PATHS = new Set(['/metrics', '/healthz', '/readyz', '/livez']);

/**
 * Registers a tracer provider with W3C trace-context propagation and the maintained
 * instrumentations: HTTP servers and clients (the gateway and subgraphs), undici (the gateway's
 * subgraph fetches), gRPC, kafkajs (producer spans inject `traceparent` into record headers,
 * consumer spans continue it) and the MongoDB driver (only inside a traced operation).
 *
 * With neither an endpoint nor an exporter nothing is registered: the API's no-op tracer
 * answers, so a request pays nothing for tracing. Sampling follows the SDK's standard
 * `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG` (default: parent-based, always on), so the
 * gateway's decision holds for the whole trace.
 */
export function startTracing(options: TracingOptions): Tracing {
  const spanProcessors: SpanProcessor[] = [];
  if (options.otlpTracesUrl) {
    spanProcessors.push(
      new BatchSpanProcessor(new OTLPTraceExporter({ url: options.otlpTracesUrl })),
    );
  }
  if (options.exporter) spanProcessors.push(new SimpleSpanProcessor(options.exporter));
  if (spanProcessors.length === 0) {
    return {
      tracer: trace.getTracer(options.serviceName),
      enabled: false,
      shutdown: () => Promise.resolve(),
    };
  }
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName }),
    spanProcessors: spanProcessors.map((next) => new WithoutKafkaPolls(next)),
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  const unregister = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => OPS_PATHS.has((req.url ?? '').split('?')[0] ?? ''),
        // Token-endpoint and JWKS fetches outside a request are not worth a trace of their own.
        requireParentforOutgoingSpans: true,
      }),
      new UndiciInstrumentation({ requireParentforSpans: true }),
      new GrpcInstrumentation({ ignoreGrpcMethods: [/^Check$/, /^Watch$/] }),
      new KafkaJsInstrumentation(),
      // Background polling (outbox relays, index checks) stays untraced; calls made while
      // serving a request or an event become child spans, with values left out of statements.
      new MongoDBInstrumentation({ requireParentSpan: true }),
    ],
  });
  return {
    tracer: trace.getTracer(options.serviceName),
    enabled: true,
    async shutdown() {
      unregister();
      await provider.shutdown();
      // Give the globals back, so a later provider (the next test) can register.
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

export { activeTraceParent, contextOfTraceParent } from './trace-context';
