import { PoisonMessageError, unpackPayload, type IncomingEvent } from '@shop/platform';
import { inventoryEvents } from '@shop/proto';
import type { OrderTopics } from './config';
import type { OrderStore } from './store';
import type { OrderWorkflow } from './workflow';

// Kafka in: the topics the service needs and the handler of what it consumes. What it publishes
// (the outbox and its relay) is in outbox.ts.

/** The topics the order service creates at start-up (each with its dead-letter topic). */
export const topicSpecs = (topics: OrderTopics) => [
  { name: topics.orderEvents },
  { name: topics.inventoryUpdates },
];

/**
 * Handles `inventory-updates`: StockReserved starts payment, StockRejected cancels the order.
 * Other stock events are ignored. Deliveries are deduplicated by event id; the workflow is also
 * idempotent by order state, which covers a crash between the effect and the dedupe record.
 */
export function createInventoryUpdatesHandler(deps: {
  store: OrderStore;
  workflow: OrderWorkflow;
}): (event: IncomingEvent) => Promise<void> {
  const { store, workflow } = deps;
  return async ({ envelope }) => {
    const { eventId, eventType } = envelope;
    if (
      eventType !== inventoryEvents.StockReserved.$type &&
      eventType !== inventoryEvents.StockRejected.$type
    ) {
      return;
    }
    if (await store.wasProcessed(eventId)) return;
    if (eventType === inventoryEvents.StockReserved.$type) {
      const reserved = unpackPayload(envelope, inventoryEvents.StockReserved);
      if (!reserved.orderId) throw new PoisonMessageError('StockReserved without order_id');
      await workflow.onStockReserved(reserved.orderId, eventId, envelope.occurredAt);
    } else {
      const rejected = unpackPayload(envelope, inventoryEvents.StockRejected);
      if (!rejected.orderId) throw new PoisonMessageError('StockRejected without order_id');
      await workflow.onStockRejected(rejected.orderId, rejected.lines, eventId);
    }
    await store.markProcessed(eventId, eventType);
  };
}
