import { status } from '@grpc/grpc-js';
import { unpackPayload, type MongoHandle } from '@shop/platform';
import { product, productEvents } from '@shop/proto';
import {
  failure,
  metricValue,
  openDatabase,
  recordEvents,
  startKafkaInstance,
  testEnv,
  uniqueId,
  waitFor,
  type KafkaInstance,
  type RecordedEvent,
} from '@shop/testing';
import type { ProductDoc } from '@shop/product-service';
import { startCatalog, type Catalog } from '@shop/testing/stack';

const Kind = productEvents.ProductChangeKind;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What the tests compare: the envelope fields that matter and the payload. */
const changesOf = (recorded: readonly RecordedEvent[], productId: string) =>
  recorded
    .filter(
      (r) => r.key === productId && r.envelope.eventType === productEvents.ProductChanged.$type,
    )
    .map((r) => ({
      eventId: r.envelope.eventId,
      aggregateType: r.envelope.aggregateType,
      aggregateVersion: r.envelope.aggregateVersion,
      producer: r.envelope.producer,
      change: unpackPayload(r.envelope, productEvents.ProductChanged),
    }));

/** The catalog under test, a reader of its topic and a look into the product database. */
interface Fixture {
  catalog: Catalog;
  recorded: RecordedEvent[];
  db: MongoHandle;
  categoryId: string;
  stop(): Promise<void>;
}

async function startFixture(prefix: string, kafkaBrokers?: string): Promise<Fixture> {
  const catalog = await startCatalog(prefix, {
    domainRules: true,
    ...(kafkaBrokers ? { kafkaBrokers } : {}),
  });
  // On a broker that will go down, the test reads after the outage with a reader of its own.
  const reader = kafkaBrokers
    ? { events: [], stop: () => Promise.resolve() }
    : await recordEvents(testEnv().kafkaBrokers.join(','), catalog.catalogTopic);
  const db = await openDatabase(catalog.productDatabase);
  const { category } = await catalog.categories.createCategory({
    name: uniqueId('Shoes'),
    slug: '',
    parentId: '',
  });
  return {
    catalog,
    recorded: reader.events,
    db,
    categoryId: category!.id,
    async stop() {
      await reader.stop();
      await db.close();
      await catalog.stop();
    },
  };
}

const newProduct = (categoryId: string) =>
  product.CreateProductRequest.fromPartial({
    sku: uniqueId('SKU').toUpperCase(),
    name: 'Trail Runner',
    price: { amount: 8_999, currency: 'EUR' },
    categoryId,
  });

const stored = (f: Fixture, id: string) =>
  f.db.db.collection<ProductDoc>('products').findOne({ _id: id });

/** Waits until the product's marker is gone, then a little more for the reader to catch up. */
async function settled(f: Fixture, id: string): Promise<void> {
  await waitFor(`the marker of ${id} cleared`, async () =>
    (await stored(f, id))?.pendingEvent === undefined ? true : undefined,
  );
  await sleep(500);
}

describe('ProductChanged on catalog-events', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startFixture('product-events');
  }, 60_000);
  afterAll(async () => {
    await f?.stop();
  });

  it('announces a create with version 1 and the category, keyed by the product id', async () => {
    const { product: created } = await f.catalog.products.createProduct(newProduct(f.categoryId));
    const id = created!.id;
    await waitFor('ProductChanged CREATED', () => changesOf(f.recorded, id)[0]);
    await settled(f, id);

    const changes = changesOf(f.recorded, id);
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({
      aggregateType: 'product',
      aggregateVersion: 1,
      producer: 'product-service',
      change: {
        productId: id,
        version: 1,
        kind: Kind.PRODUCT_CHANGE_KIND_CREATED,
        categoryId: f.categoryId,
      },
    });
    expect(changes[0].eventId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('announces an update exactly once, with the version and category after it', async () => {
    const { product: created } = await f.catalog.products.createProduct(newProduct(f.categoryId));
    const id = created!.id;
    await settled(f, id);
    const { category: other } = await f.catalog.categories.createCategory({
      name: uniqueId('Boots'),
      slug: '',
      parentId: '',
    });

    const { product: updated } = await f.catalog.products.updateProduct({
      id,
      product: { ...created!, name: 'Trail Runner 2', categoryId: other!.id },
      updateMask: ['name', 'category_id'],
    });
    await waitFor('ProductChanged UPDATED', () =>
      changesOf(f.recorded, id).find((c) => c.change.version === 2),
    );
    await settled(f, id);

    expect(updated!.version).toBe(2);
    const changes = changesOf(f.recorded, id);
    expect(changes.map((c) => c.change.kind)).toEqual([
      Kind.PRODUCT_CHANGE_KIND_CREATED,
      Kind.PRODUCT_CHANGE_KIND_UPDATED,
    ]);
    expect(changes[1]).toMatchObject({
      aggregateVersion: 2,
      change: { productId: id, version: 2, categoryId: other!.id },
    });
  });

  it('announces a delete with the version of the soft-deleted product; a repeat adds nothing', async () => {
    const { product: created } = await f.catalog.products.createProduct(newProduct(f.categoryId));
    const id = created!.id;
    await settled(f, id);

    const { product: deleted } = await f.catalog.products.deleteProduct({ id });
    await f.catalog.products.deleteProduct({ id });
    await waitFor('ProductChanged DELETED', () =>
      changesOf(f.recorded, id).find((c) => c.change.kind === Kind.PRODUCT_CHANGE_KIND_DELETED),
    );
    await settled(f, id);

    expect(deleted).toMatchObject({ deleted: true, version: 2 });
    expect(changesOf(f.recorded, id).map((c) => [c.change.kind, c.change.version])).toEqual([
      [Kind.PRODUCT_CHANGE_KIND_CREATED, 1],
      [Kind.PRODUCT_CHANGE_KIND_DELETED, 2],
    ]);
  });

  it('announces nothing for a write that was refused', async () => {
    const { product: created } = await f.catalog.products.createProduct(newProduct(f.categoryId));
    const id = created!.id;
    await settled(f, id);

    expect(
      await failure(
        f.catalog.products.updateProduct({
          id,
          product: { ...created!, name: 'Stale' },
          updateMask: ['name'],
          expectedVersion: 7,
        }),
      ),
    ).toMatchObject({ code: status.ABORTED });
    await sleep(500);

    expect(changesOf(f.recorded, id)).toHaveLength(1);
  });
});

describe('ProductChanged while Kafka is down', () => {
  let kafka: KafkaInstance;
  let f: Fixture;
  beforeAll(async () => {
    kafka = await startKafkaInstance();
    f = await startFixture('product-outage', kafka.broker);
  }, 120_000);
  afterAll(async () => {
    if (kafka && !kafka.running) await kafka.start();
    await f?.stop();
    await kafka?.destroy();
  }, 60_000);

  it('keeps the write and its marker; the relay publishes it once Kafka is back', async () => {
    const { product: created } = await f.catalog.products.createProduct(newProduct(f.categoryId));
    const id = created!.id;
    await settled(f, id);

    await kafka.stop();
    const { product: updated } = await f.catalog.products.updateProduct({
      id,
      product: { ...created!, name: 'Written while Kafka is down' },
      updateMask: ['name'],
    });
    // The fast path gives up first (how long kafkajs takes depends on how the broker went).
    await waitFor(
      'the fast path to give up',
      async () =>
        (await metricValue(f.catalog.productService, 'pending_events_publish_failures_total', {
          aggregate: 'product',
          path: 'fast',
        })) > 0
          ? true
          : undefined,
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    const pending = await stored(f, id);
    expect(updated).toMatchObject({ version: 2, name: 'Written while Kafka is down' });
    expect(pending).toMatchObject({
      version: 2,
      name: 'Written while Kafka is down',
      pendingEvent: { kind: 'PRODUCT_CHANGE_KIND_UPDATED' },
    });
    const relayedBefore = await metricValue(
      f.catalog.productService,
      'pending_events_published_total',
      { aggregate: 'product', path: 'relay' },
    );

    await kafka.start();
    const reader = await recordEvents(kafka.broker, f.catalog.catalogTopic);
    const published = await waitFor(
      'ProductChanged v2 after the outage',
      () => changesOf(reader.events, id).find((c) => c.change.version === 2),
      { timeoutMs: 30_000, intervalMs: 200 },
    ).finally(() => reader.stop());
    await settled(f, id);

    expect(published).toMatchObject({
      eventId: pending!.pendingEvent!.id,
      change: { kind: Kind.PRODUCT_CHANGE_KIND_UPDATED, version: 2 },
    });
    expect(
      await metricValue(f.catalog.productService, 'pending_events_published_total', {
        aggregate: 'product',
        path: 'relay',
      }),
    ).toBe(relayedBefore + 1);
  }, 60_000);
});
