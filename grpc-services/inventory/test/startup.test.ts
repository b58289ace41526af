import { consumerGroupMembers, occupiedPort, testEnv } from '@shop/testing';
import { loadInventoryConfig, startInventoryService } from '@shop/inventory-service';
import { quietLogger, sandbox } from './harness';

describe('start-up', () => {
  it('releases what it opened when a later step fails (the reservation consumer leaves its group)', async () => {
    const env = testEnv();
    const box = sandbox('startup');
    // The gRPC port is taken, so the service fails at its last step, after it joined Kafka.
    const taken = await occupiedPort();
    try {
      await expect(
        startInventoryService(
          loadInventoryConfig({
            AUTH_TRUST_IDENTITY_METADATA: 'true',
            MONGO_URL: env.mongoUrl,
            MONGO_DATABASE: box.database,
            KAFKA_BROKERS: env.kafkaBrokers.join(','),
            GRPC_PORT: String(taken.port),
            METRICS_PORT: '0',
            LOG_LEVEL: 'fatal',
            ORDER_EVENTS_TOPIC: box.orderEventsTopic,
            INVENTORY_UPDATES_TOPIC: box.inventoryUpdatesTopic,
            INVENTORY_CONSUMER_GROUP: box.consumerGroup,
          }),
          { logger: quietLogger },
        ),
      ).rejects.toThrow();
      expect(await consumerGroupMembers(box.consumerGroup)).toEqual([]);
    } finally {
      taken.release();
    }
  });
});
