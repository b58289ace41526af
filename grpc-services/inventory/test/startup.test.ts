import { createKafka } from '@shop/platform';
import { testEnv } from '@shop/testing';
import { loadInventoryConfig, startInventoryService } from '@shop/inventory-service';
import { createServer, type AddressInfo } from 'node:net';
import { quietLogger, sandbox } from './harness';

describe('start-up', () => {
  it('releases what it opened when a later step fails (the reservation consumer leaves its group)', async () => {
    const env = testEnv();
    const box = sandbox('startup');
    // The gRPC port is taken, so the service fails at its last step, after it joined Kafka.
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    const kafka = createKafka({
      brokers: env.kafkaBrokers,
      clientId: 'startup-test',
      logger: quietLogger,
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await expect(
        startInventoryService(
          loadInventoryConfig({
            AUTH_TRUST_IDENTITY_METADATA: 'true',
            MONGO_URL: env.mongoUrl,
            MONGO_DATABASE: box.database,
            KAFKA_BROKERS: env.kafkaBrokers.join(','),
            GRPC_PORT: String(port),
            METRICS_PORT: '0',
            LOG_LEVEL: 'fatal',
            ORDER_EVENTS_TOPIC: box.orderEventsTopic,
            INVENTORY_UPDATES_TOPIC: box.inventoryUpdatesTopic,
            INVENTORY_CONSUMER_GROUP: box.consumerGroup,
          }),
          { logger: quietLogger },
        ),
      ).rejects.toThrow();
      const { groups } = await admin.describeGroups([box.consumerGroup]);
      expect(groups[0]?.members ?? []).toEqual([]);
    } finally {
      await admin.disconnect();
      taken.close();
    }
  });
});
