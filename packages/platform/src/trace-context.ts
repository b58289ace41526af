import {
  ROOT_CONTEXT,
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  trace,
  type Context,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

// A trace context kept with data written now and acted on later (an outbox entry published by a
// relay), in W3C `traceparent` form. Only the OpenTelemetry API: no SDK is loaded here.

const w3c = new W3CTraceContextPropagator();

/** The `traceparent` of the active span, or '' when there is none (tracing off, or no trace). */
export function activeTraceParent(): string {
  const active = context.active();
  if (trace.getSpanContext(active) === undefined) return '';
  const carrier: Record<string, string> = {};
  w3c.inject(active, carrier, defaultTextMapSetter);
  return carrier['traceparent'] ?? '';
}

/** The context a stored `traceparent` names; the root context when it is empty or malformed. */
export function contextOfTraceParent(traceParent: string | undefined): Context {
  if (!traceParent) return ROOT_CONTEXT;
  return w3c.extract(ROOT_CONTEXT, { traceparent: traceParent }, defaultTextMapGetter);
}
