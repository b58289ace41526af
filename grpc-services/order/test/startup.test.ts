import { consumerGroupMembers, occupiedPort, testEnv, uniqueId } from '@shop/testing';
import { loadOrderConfig, startOrderService } from '../src';
import { quietLogger } from './support';

describe('start-up', () => {
  it('releases what it opened when a later step fails (the inventory-updates consumer leaves its group)', async () => {
    const env = testEnv();
    // The gRPC port is taken, so the service fails at its last step, after it joined Kafka.
    const taken = await occupiedPort();
    const group = uniqueId('order-startup');
    try {
      await expect(
        startOrderService(
          loadOrderConfig({
            AUTH_TRUST_IDENTITY_METADATA: 'true',
            MONGO_URL: env.mongoUrl,
            MONGO_DATABASE: `${uniqueId('startup').replace(/-/g, '_')}_order`,
            KAFKA_BROKERS: env.kafkaBrokers.join(','),
            GRPC_PORT: String(taken.port),
            METRICS_PORT: '0',
            LOG_LEVEL: 'fatal',
            PRODUCT_GRPC_URL: '127.0.0.1:1',
            ORDER_EVENTS_TOPIC: uniqueId('startup-order-events'),
            INVENTORY_UPDATES_TOPIC: uniqueId('startup-inventory-updates'),
            ORDER_CONSUMER_GROUP: group,
            PAYMENT_PROVIDER: 'fake',
          }),
          { logger: quietLogger },
        ),
      ).rejects.toThrow();
      expect(await consumerGroupMembers(group)).toEqual([]);
    } finally {
      taken.release();
    }
  });
});
