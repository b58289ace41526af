import { connectMongo, unpackPayload, type MongoHandle, type PromiseClient } from '@shop/platform';
import type { inventory } from '@shop/proto';
import { common, events, inventoryEvents } from '@shop/proto';
import { testEnv, uniqueId, waitFor } from '@shop/testing';
import type { RunningInventoryService } from '@shop/inventory-service';
import { createInventoryStore } from '../src/store';
import {
  adminMetadata,
  collect,
  quietLogger,
  sandbox,
  startInventory,
  testKafka,
  type Sandbox,
} from './harness';

type Client = PromiseClient<typeof inventory.InventoryServiceService>;

/** The StockLevelChanged versions published for one product, in topic order. */
const versionsOf = (
  messages: readonly { key: Buffer | null; value: Buffer | null }[],
  productId: string,
): number[] =>
  messages
    .filter((m) => m.key?.toString() === productId)
    .map(
      (m) =>
        unpackPayload(events.EventEnvelope.decode(m.value!), inventoryEvents.StockLevelChanged)
          .version,
    );

describe('inventory outbox: StockLevelChanged publication', () => {
  let box: Sandbox;
  let service: RunningInventoryService;
  let client: Client;
  let mongo: MongoHandle;
  const md = { metadata: adminMetadata() };

  beforeAll(async () => {
    box = sandbox('outbox');
    // A relay scan far beyond the test's waits: what arrives came by the fast path, unless the
    // test starts a second instance that scans.
    ({ service, client } = await startInventory(box, { consume: false, relayIntervalMs: 60_000 }));
    mongo = await connectMongo({
      url: testEnv().mongoUrl,
      database: box.database,
      logger: quietLogger,
    });
  });

  afterAll(async () => {
    client.close();
    await service.stop();
    await mongo.close();
  });

  it('publishes each stock change as it is written, without waiting for the relay scan', async () => {
    const { kafka, publisher } = await testKafka();
    const reader = await collect(kafka, box.inventoryUpdatesTopic);
    try {
      const productId = uniqueId('p');
      await client.setInitialStock({ productId, onHand: 5 }, md);
      for (const delta of [2, -1, 3]) {
        await client.adjustStock({ productId, delta, reason: 'count', idempotencyKey: '' }, md);
      }
      const versions = await waitFor(
        'four StockLevelChanged events',
        () => {
          const found = versionsOf(reader.messages, productId);
          return found.length >= 4 ? found : undefined;
        },
        { timeoutMs: 15_000 },
      );
      expect([...versions].sort((a, b) => a - b)).toEqual([1, 2, 3, 4]);
      // Marked sent: nothing of this product is left for the relay.
      const left = await mongo.db
        .collection('movements')
        .countDocuments({ productId, pending: true });
      expect(left).toBe(0);
    } finally {
      await reader.stop();
      await publisher.disconnect();
    }
  });

  it('relays a movement whose writer stopped before publishing it', async () => {
    const { kafka, publisher } = await testKafka();
    const reader = await collect(kafka, box.inventoryUpdatesTopic);
    // A writer that records the movement (and its duty to publish) but never publishes: a
    // process that crashed right after its write.
    const crashed = createInventoryStore(mongo.db);
    const scanning = await startInventory(box, { consume: false, relayIntervalMs: 50 });
    try {
      const productId = uniqueId('p');
      await crashed.setInitialStock(productId, 9, {
        type: common.ActorType.ACTOR_TYPE_SERVICE,
        id: 'crashed-writer',
      });
      const versions = await waitFor(
        'the left-behind StockLevelChanged',
        () => {
          const found = versionsOf(reader.messages, productId);
          return found.length >= 1 ? found : undefined;
        },
        { timeoutMs: 15_000 },
      );
      expect(versions).toEqual([1]);
      await waitFor(
        'the movement marked sent',
        async () =>
          (await mongo.db.collection('movements').countDocuments({ productId, pending: true })) ===
          0
            ? true
            : undefined,
        { timeoutMs: 15_000 },
      );
    } finally {
      scanning.client.close();
      await scanning.service.stop();
      await reader.stop();
      await publisher.disconnect();
    }
  });
});
