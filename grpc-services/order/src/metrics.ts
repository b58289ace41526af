import { order } from '@shop/proto';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { OrderStore } from './store';
import type { PipelineStage } from './workflow';

/** Stage the relay times: CONFIRMED written → OrderConfirmed acknowledged by Kafka. */
export type PublishStage = 'confirmed_to_published';

/** Order-specific instruments; the consumer counters come from the platform's runConsumer. */
export interface OrderMetrics {
  /** Counts a status change. */
  transition(to: order.OrderStatus, reason: order.CancellationReason): void;
  /** Records how long one stage of one order took. */
  stage(stage: PipelineStage | PublishStage, seconds: number): void;
}

const statusLabel = (s: order.OrderStatus): string =>
  order.orderStatusToJSON(s).replace('ORDER_STATUS_', '').toLowerCase();
const reasonLabel = (r: order.CancellationReason): string =>
  r === order.CancellationReason.CANCELLATION_REASON_UNSPECIFIED
    ? ''
    : order.cancellationReasonToJSON(r).replace('CANCELLATION_REASON_', '').toLowerCase();

/**
 * Registers the order metrics: outbox age (oldest unpublished event), orders by status (both
 * read from the store when scraped) and status changes by target status and reason.
 */
export function registerOrderMetrics(registry: Registry, store: OrderStore): OrderMetrics {
  new Gauge({
    name: 'order_outbox_oldest_unpublished_age_seconds',
    help: 'Age of the oldest order event not yet published to Kafka (0 when none).',
    registers: [registry],
    async collect() {
      const oldest = await store.oldestUnpublished();
      this.set(oldest ? Math.max(0, (Date.now() - oldest.getTime()) / 1000) : 0);
    },
  });
  new Gauge({
    name: 'orders_by_status',
    help: 'Orders currently in each status.',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const counts = await store.countByStatus();
      this.reset();
      for (const s of Object.values(order.OrderStatus)) {
        if (typeof s !== 'number' || s === order.OrderStatus.ORDER_STATUS_UNSPECIFIED) continue;
        this.set({ status: statusLabel(s) }, counts.get(s) ?? 0);
      }
    },
  });
  const transitions = new Counter({
    name: 'order_status_changes_total',
    help: 'Order status changes, by target status and cancellation reason.',
    labelNames: ['status', 'reason'],
    registers: [registry],
  });
  const stages = new Histogram({
    name: 'order_pipeline_stage_seconds',
    help:
      'Time an order spent in each stage on its way to CONFIRMED: placed_to_reserved, ' +
      'reserved_to_paid, paid_to_confirmed, placed_to_confirmed, confirmed_to_published ' +
      '(OrderConfirmed acknowledged by Kafka, where the notification service picks it up).',
    labelNames: ['stage'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  return {
    transition(to, reason) {
      transitions.inc({ status: statusLabel(to), reason: reasonLabel(reason) });
    },
    stage(stage, seconds) {
      stages.observe({ stage }, seconds);
    },
  };
}
