/**
 * OpenTelemetry tracing for one process. Import this module (the `@shop/platform/tracing`
 * entry point) and call {@link startTracing} before anything loads `@grpc/grpc-js`, so the
 * gRPC instrumentation can patch it.
 */
import { context, propagation, trace, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  SimpleSpanProcessor,
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
  shutdown(): Promise<void>;
}

/**
 * Registers a tracer provider with W3C trace-context propagation and the gRPC instrumentation.
 * Spans are always created (so log lines carry trace ids); they are exported only when an
 * endpoint or exporter is configured.
 */
export function startTracing(options: TracingOptions): Tracing {
  const spanProcessors: SpanProcessor[] = [];
  if (options.otlpTracesUrl) {
    spanProcessors.push(
      new BatchSpanProcessor(new OTLPTraceExporter({ url: options.otlpTracesUrl })),
    );
  }
  if (options.exporter) spanProcessors.push(new SimpleSpanProcessor(options.exporter));
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName }),
    spanProcessors,
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  const unregister = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [new GrpcInstrumentation()],
  });
  return {
    tracer: trace.getTracer(options.serviceName),
    async shutdown() {
      unregister();
      await provider.shutdown();
    },
  };
}

/** Writes the active trace context into a carrier (e.g. Kafka headers). */
export function injectTraceContext(carrier: Record<string, string>): Record<string, string> {
  propagation.inject(context.active(), carrier);
  return carrier;
}
