import { status } from '@grpc/grpc-js';
import { unpackPayload, type MongoHandle } from '@shop/platform';
import { categoryEvents, type category } from '@shop/proto';
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
import { startCatalog, type Catalog } from '@shop/testing/stack';

const Kind = categoryEvents.CategoryChangeKind;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The CategoryChanged events of one category: envelope fields that matter and the payload. */
const changesOf = (recorded: readonly RecordedEvent[], categoryId: string) =>
  recorded
    .filter(
      (r) => r.key === categoryId && r.envelope.eventType === categoryEvents.CategoryChanged.$type,
    )
    .map((r) => ({
      eventId: r.envelope.eventId,
      aggregateType: r.envelope.aggregateType,
      aggregateVersion: r.envelope.aggregateVersion,
      producer: r.envelope.producer,
      change: unpackPayload(r.envelope, categoryEvents.CategoryChanged),
    }));

/** `[kind, version]` of each event of a category, in order. */
const history = (recorded: readonly RecordedEvent[], categoryId: string) =>
  changesOf(recorded, categoryId).map((c) => [c.change.kind, c.change.version]);

/** The catalog under test, a reader of its topic and a look into the category database. */
interface Fixture {
  catalog: Catalog;
  recorded: RecordedEvent[];
  db: MongoHandle;
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
  const db = await openDatabase(catalog.categoryDatabase);
  return {
    catalog,
    recorded: reader.events,
    db,
    async stop() {
      await reader.stop();
      await db.close();
      await catalog.stop();
    },
  };
}

/** The stored documents, tombstones and markers included. */
const stored = (f: Fixture, ids: readonly string[]) =>
  f.db.db
    .collection<{ _id: string; version: number; pendingEvent?: { id: string; kind: string } }>(
      'categories',
    )
    .find({ _id: { $in: [...ids] } })
    .toArray();

/** Waits until no category of `ids` has a marker, then a little more for the reader. */
async function settled(f: Fixture, ids: readonly string[]): Promise<void> {
  await waitFor(`the markers of ${ids.length} categories cleared`, async () =>
    (await stored(f, ids)).every((d) => d.pendingEvent === undefined) ? true : undefined,
  );
  await sleep(500);
}

const create = async (
  f: Fixture,
  name: string,
  parentId = '',
  position?: number,
): Promise<category.Category> =>
  (
    await f.catalog.categories.createCategory({
      name,
      slug: '',
      parentId,
      ...(position === undefined ? {} : { position }),
    })
  ).category!;

describe('CategoryChanged on catalog-events', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startFixture('category-events');
  }, 60_000);
  afterAll(async () => {
    await f?.stop();
  });

  it('announces a create with version 1, keyed by the category id', async () => {
    const root = await create(f, uniqueId('Garden'));
    await waitFor('CategoryChanged CREATED', () => changesOf(f.recorded, root.id)[0]);
    await settled(f, [root.id]);

    const changes = changesOf(f.recorded, root.id);
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({
      aggregateType: 'category',
      aggregateVersion: 1,
      producer: 'category-service',
      change: { categoryId: root.id, version: 1, kind: Kind.CATEGORY_CHANGE_KIND_CREATED },
    });
    expect(changes[0].eventId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('announces a rename exactly once, with the version after it', async () => {
    const root = await create(f, uniqueId('Tools'));
    await settled(f, [root.id]);

    const { category: renamed } = await f.catalog.categories.updateCategory({
      id: root.id,
      name: 'Power Tools',
      expectedVersion: 1,
    });
    await waitFor('CategoryChanged UPDATED', () => changesOf(f.recorded, root.id)[1]);
    await settled(f, [root.id]);

    expect(renamed!.version).toBe(2);
    expect(history(f.recorded, root.id)).toEqual([
      [Kind.CATEGORY_CHANGE_KIND_CREATED, 1],
      [Kind.CATEGORY_CHANGE_KIND_UPDATED, 2],
    ]);
    expect(changesOf(f.recorded, root.id)[1]).toMatchObject({ aggregateVersion: 2 });
  });

  it('announces the siblings an insert shifted, each at its new version', async () => {
    const root = await create(f, uniqueId('Kitchen'));
    const [b, c] = [await create(f, 'B', root.id), await create(f, 'C', root.id)];
    await settled(f, [root.id, b.id, c.id]);

    const a = await create(f, 'A', root.id, 0);
    await settled(f, [a.id, b.id, c.id]);

    expect(history(f.recorded, a.id)).toEqual([[Kind.CATEGORY_CHANGE_KIND_CREATED, 1]]);
    for (const sibling of [b, c]) {
      const { category: now } = await f.catalog.categories.getCategory({ id: sibling.id });
      expect(now!.version).toBe(2);
      expect(history(f.recorded, sibling.id)).toEqual([
        [Kind.CATEGORY_CHANGE_KIND_CREATED, 1],
        [Kind.CATEGORY_CHANGE_KIND_UPDATED, 2],
      ]);
    }
    expect(history(f.recorded, root.id)).toEqual([[Kind.CATEGORY_CHANGE_KIND_CREATED, 1]]);
  });

  it('announces a move, the re-pathed descendants and the siblings left behind', async () => {
    const root = await create(f, uniqueId('Fashion'));
    const men = await create(f, 'Men', root.id);
    const shoes = await create(f, 'Shoes', men.id);
    const hats = await create(f, 'Hats', men.id);
    const boots = await create(f, 'Boots', shoes.id);
    const women = await create(f, 'Women', root.id);
    const all = [root, men, shoes, hats, boots, women].map((c) => c.id);
    await settled(f, all);

    const { category: moved } = await f.catalog.categories.moveCategory({
      id: shoes.id,
      newParentId: women.id,
    });
    await settled(f, all);

    expect(history(f.recorded, shoes.id)).toEqual([
      [Kind.CATEGORY_CHANGE_KIND_CREATED, 1],
      [Kind.CATEGORY_CHANGE_KIND_MOVED, moved!.version],
    ]);
    expect(history(f.recorded, boots.id)).toEqual([
      [Kind.CATEGORY_CHANGE_KIND_CREATED, 1],
      [Kind.CATEGORY_CHANGE_KIND_UPDATED, 2],
    ]);
    // Hats moved up one place under Men.
    expect(history(f.recorded, hats.id)).toEqual([
      [Kind.CATEGORY_CHANGE_KIND_CREATED, 1],
      [Kind.CATEGORY_CHANGE_KIND_UPDATED, 2],
    ]);
    // The parents' stored documents did not change: their child counts are derived.
    for (const unchanged of [root, men, women]) {
      expect(history(f.recorded, unchanged.id)).toEqual([[Kind.CATEGORY_CHANGE_KIND_CREATED, 1]]);
    }
  });

  it('announces a delete, then forgets the deleted category', async () => {
    const root = await create(f, uniqueId('Toys'));
    const leaf = await create(f, 'Puzzles', root.id);
    await settled(f, [root.id, leaf.id]);

    await f.catalog.categories.deleteCategory({
      id: leaf.id,
      reparentChildren: false,
      expectedVersion: 1,
    });
    await waitFor('CategoryChanged DELETED', () => changesOf(f.recorded, leaf.id)[1]);
    await waitFor('the tombstone removed', async () =>
      (await stored(f, [leaf.id])).length === 0 ? true : undefined,
    );

    expect(history(f.recorded, leaf.id)).toEqual([
      [Kind.CATEGORY_CHANGE_KIND_CREATED, 1],
      [Kind.CATEGORY_CHANGE_KIND_DELETED, 2],
    ]);
  });
});

describe('CategoryChanged while Kafka is down', () => {
  let kafka: KafkaInstance;
  let f: Fixture;
  beforeAll(async () => {
    kafka = await startKafkaInstance();
    f = await startFixture('category-outage', kafka.broker);
  }, 120_000);
  afterAll(async () => {
    if (kafka && !kafka.running) await kafka.start();
    await f?.stop();
    await kafka?.destroy();
  }, 60_000);

  const counter = (name: string, path: 'fast' | 'relay') =>
    metricValue(f.catalog.categoryService, name, { aggregate: 'category', path });

  it('keeps the writes and their markers (a delete as a hidden tombstone); the relay publishes them once Kafka is back', async () => {
    const root = await create(f, uniqueId('Books'));
    const fiction = await create(f, 'Fiction', root.id);
    const poetry = await create(f, 'Poetry', root.id);
    await settled(f, [root.id, fiction.id, poetry.id]);

    await kafka.stop();
    const { category: renamed } = await f.catalog.categories.updateCategory({
      id: fiction.id,
      name: 'Novels',
    });
    await f.catalog.categories.deleteCategory({ id: poetry.id, reparentChildren: false });
    // The fast path gives up first (how long kafkajs takes depends on how the broker went).
    await waitFor(
      'the fast path to give up on both RPCs',
      async () =>
        (await counter('pending_events_publish_failures_total', 'fast')) >= 2 ? true : undefined,
      { timeoutMs: 30_000, intervalMs: 200 },
    );

    expect(renamed).toMatchObject({ name: 'Novels', version: 2 });
    expect(await failure(f.catalog.categories.getCategory({ id: poetry.id }))).toMatchObject({
      code: status.NOT_FOUND,
    });
    const { categories: children } = await f.catalog.categories.listChildren({
      parentId: root.id,
    });
    expect(children.map((c) => c.id)).toEqual([fiction.id]);
    // The tombstone frees its slug at once.
    const again = await create(f, 'Poetry', root.id);
    const pending = new Map((await stored(f, [fiction.id, poetry.id])).map((d) => [d._id, d]));
    expect(pending.get(fiction.id)).toMatchObject({
      version: 2,
      pendingEvent: { kind: 'CATEGORY_CHANGE_KIND_UPDATED' },
    });
    expect(pending.get(poetry.id)).toMatchObject({
      version: 2,
      deleted: true,
      pendingEvent: { kind: 'CATEGORY_CHANGE_KIND_DELETED' },
    });
    const relayedBefore = await counter('pending_events_published_total', 'relay');

    await kafka.start();
    const reader = await recordEvents(kafka.broker, f.catalog.catalogTopic);
    try {
      await waitFor(
        'both events after the outage',
        () =>
          changesOf(reader.events, fiction.id)[1] && changesOf(reader.events, poetry.id)[1]
            ? true
            : undefined,
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      await waitFor('the tombstone removed', async () =>
        (await stored(f, [poetry.id])).length === 0 ? true : undefined,
      );
      await settled(f, [fiction.id, again.id]);

      expect(changesOf(reader.events, fiction.id)[1]).toMatchObject({
        eventId: pending.get(fiction.id)!.pendingEvent!.id,
        change: { kind: Kind.CATEGORY_CHANGE_KIND_UPDATED, version: 2 },
      });
      expect(changesOf(reader.events, poetry.id)[1]).toMatchObject({
        eventId: pending.get(poetry.id)!.pendingEvent!.id,
        change: { kind: Kind.CATEGORY_CHANGE_KIND_DELETED, version: 2 },
      });
      expect(await counter('pending_events_published_total', 'relay')).toBeGreaterThanOrEqual(
        relayedBefore + 2,
      );
    } finally {
      await reader.stop();
    }
  }, 90_000);
});
