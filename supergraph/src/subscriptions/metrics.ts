// The subscription server's metrics, registered once per gateway process.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Creates the subscription metrics in `registry`. */
export function createSubscriptionMetrics(registry: Registry) {
  const registers = [registry];
  return {
    connections: new Gauge({
      name: 'gateway_ws_connections',
      help: 'Open graphql-ws connections.',
      registers,
    }),
    subscriptions: new Gauge({
      name: 'gateway_subscriptions',
      help: 'Active subscriptions, by field.',
      labelNames: ['field'],
      registers,
    }),
    feeds: new Gauge({
      name: 'gateway_subscription_feeds',
      help: 'Distinct (entity, selection, identity) feeds; one execution per event serves each.',
      registers,
    }),
    disconnects: new Counter({
      name: 'gateway_ws_disconnects_total',
      help: 'graphql-ws connections closed by the gateway, by reason.',
      labelNames: ['reason'],
      registers,
    }),
    eventsSeen: new Counter({
      name: 'gateway_subscription_events_total',
      help: 'Kafka events read by the subscription feed, by topic and whether any feed wanted them.',
      labelNames: ['topic', 'matched'],
      registers,
    }),
    executions: new Counter({
      name: 'gateway_subscription_executions_total',
      help: 'Re-reads of a subscribed entity, by field and outcome.',
      labelNames: ['field', 'outcome'],
      registers,
    }),
    serialisations: new Counter({
      name: 'gateway_subscription_serialisations_total',
      help: 'Re-read results serialised for fan-out, by field: once per feed event, whatever the number of subscribers.',
      labelNames: ['field'],
      registers,
    }),
    messages: new Counter({
      name: 'gateway_subscription_messages_total',
      help: '`next` messages written to subscribers, by field.',
      labelNames: ['field'],
      registers,
    }),
    eventLatency: new Histogram({
      name: 'gateway_subscription_event_latency_seconds',
      help: 'From an event occurring to its re-read being written to every subscriber, by field.',
      labelNames: ['field'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
  };
}

/** The subscription server's metrics. */
export type SubscriptionMetrics = ReturnType<typeof createSubscriptionMetrics>;
