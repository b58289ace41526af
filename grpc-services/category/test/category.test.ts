import { status } from '@grpc/grpc-js';
import { connectMongo, type MongoHandle } from '@shop/platform';
import type { category } from '@shop/proto';
import { product } from '@shop/proto';
import { asAdmin, failure, freePort, quietLogger, testEnv, uniqueId } from '@shop/testing';
import { loadCategoryConfig, slugify, startCategoryService } from '@shop/category-service';
import { startCatalog, type Catalog } from '@shop/testing/stack';

let catalog: Catalog;

beforeAll(async () => {
  catalog = await startCatalog('category', { domainRules: true });
}, 120_000);

afterAll(async () => {
  await catalog.stop();
});

const mk = async (
  name: string,
  parentId = '',
  extra: Partial<category.CreateCategoryRequest> = {},
) =>
  (await catalog.categories.createCategory({ name, slug: '', parentId, ...extra }, asAdmin()))
    .category!;
const get = async (id: string) => (await catalog.categories.getCategory({ id })).category!;
const subtree = async (id: string) =>
  (await catalog.categories.getSubtreeIds({ id, includeSelf: false })).ids.sort();
const ancestors = async (id: string) =>
  (await catalog.categories.getAncestors({ id })).ancestors.map((a) => a.id);
const names = (cs: category.Category[]) => cs.map((c) => c.name);

/** A fresh root with a unique name, so tests do not see each other's trees. */
const freshRoot = () => mk(uniqueId('Root'));

describe('creating and reading the tree', () => {
  it('creates roots and children with a materialized path, depth and a derived slug', async () => {
    const root = await mk('Électronique & Co');
    const phones = await mk('Phones', root.id);
    const android = await mk('Android Phones', phones.id);
    expect(root).toMatchObject({
      slug: 'electronique-co',
      parentId: '',
      ancestorIds: [],
      depth: 0,
      path: '/electronique-co',
      version: 1,
    });
    expect(android).toMatchObject({
      slug: 'android-phones',
      parentId: phones.id,
      ancestorIds: [root.id, phones.id],
      path: '/electronique-co/phones/android-phones',
      depth: 2,
      childCount: 0,
    });
    expect((await get(root.id)).childCount).toBe(1);
    expect(await ancestors(android.id)).toEqual([root.id, phones.id]);
    expect(await subtree(root.id)).toEqual([phones.id, android.id].sort());
    expect(
      (await catalog.categories.getSubtreeIds({ id: root.id, includeSelf: true })).ids,
    ).toContain(root.id);
    expect((await catalog.categories.listRootCategories({})).categories.map((c) => c.id)).toContain(
      root.id,
    );
  });

  it('keeps siblings in position order; an explicit position shifts the others', async () => {
    const root = await freshRoot();
    await mk('B', root.id);
    await mk('C', root.id);
    await mk('A', root.id, { position: 0 });
    const kids = (await catalog.categories.listChildren({ parentId: root.id })).categories;
    expect(names(kids)).toEqual(['A', 'B', 'C']);
    expect(kids.map((k) => k.position)).toEqual([0, 1, 2]);
  });

  it('gets many in request order and reports unknown ids', async () => {
    const root = await freshRoot();
    const [a, b] = [await mk('A', root.id), await mk('B', root.id)];
    const res = await catalog.categories.batchGetCategories({ ids: [b.id, 'nope', a.id, b.id] });
    expect(res.categories.map((c) => c.id)).toEqual([b.id, a.id]);
    expect(res.notFoundIds).toEqual(['nope']);
  });

  it('refuses a duplicate slug among siblings but allows it under another parent', async () => {
    const [r1, r2] = [await freshRoot(), await freshRoot()];
    await mk('Shoes', r1.id);
    expect(
      await failure(
        catalog.categories.createCategory({ name: 'Shoes!', slug: '', parentId: r1.id }),
      ),
    ).toMatchObject({
      code: status.ALREADY_EXISTS,
      reason: 'SLUG_TAKEN',
    });
    await expect(mk('Shoes', r2.id)).resolves.toMatchObject({ slug: 'shoes' });
  });

  it('derives slugs from names', () => {
    expect(slugify('  Kids’ Shoes (EU 20–35) ')).toBe('kids-shoes-eu-20-35');
  });
});

describe('validation and error codes', () => {
  it.each<[string, () => Promise<unknown>, number, string[]]>([
    [
      'CreateCategory without a name',
      () => catalog.categories.createCategory({ name: ' ', slug: '', parentId: '' }),
      status.INVALID_ARGUMENT,
      ['name'],
    ],
    [
      'CreateCategory with a 101-character name',
      () => catalog.categories.createCategory({ name: 'x'.repeat(101), slug: '', parentId: '' }),
      status.INVALID_ARGUMENT,
      ['name'],
    ],
    [
      'CreateCategory with an upper-case slug',
      () => catalog.categories.createCategory({ name: 'Ok', slug: 'Not-OK', parentId: '' }),
      status.INVALID_ARGUMENT,
      ['slug'],
    ],
    [
      'CreateCategory with a negative position',
      () => catalog.categories.createCategory({ name: 'Ok', slug: '', parentId: '', position: -1 }),
      status.INVALID_ARGUMENT,
      ['position'],
    ],
    [
      'CreateCategory under a missing parent',
      () => catalog.categories.createCategory({ name: 'Ok', slug: '', parentId: 'missing' }),
      status.FAILED_PRECONDITION,
      [],
    ],
    [
      'GetCategory without id',
      () => catalog.categories.getCategory({ id: '' }),
      status.INVALID_ARGUMENT,
      ['id'],
    ],
    [
      'GetCategory of an unknown id',
      () => catalog.categories.getCategory({ id: 'missing' }),
      status.NOT_FOUND,
      [],
    ],
    [
      'BatchGetCategories with 501 ids',
      () =>
        catalog.categories.batchGetCategories({
          ids: Array.from({ length: 501 }, (_, i) => `c${i}`),
        }),
      status.INVALID_ARGUMENT,
      ['ids'],
    ],
    [
      'ListChildren of an unknown parent',
      () => catalog.categories.listChildren({ parentId: 'missing' }),
      status.NOT_FOUND,
      [],
    ],
    [
      'GetAncestors of an unknown id',
      () => catalog.categories.getAncestors({ id: 'missing' }),
      status.NOT_FOUND,
      [],
    ],
    [
      'GetSubtreeIds without id',
      () => catalog.categories.getSubtreeIds({ id: '', includeSelf: false }),
      status.INVALID_ARGUMENT,
      ['id'],
    ],
    [
      'UpdateCategory with a bad slug',
      () => catalog.categories.updateCategory({ id: 'x', slug: 'a b' }),
      status.INVALID_ARGUMENT,
      ['slug'],
    ],
    [
      'MoveCategory of an unknown id',
      () => catalog.categories.moveCategory({ id: 'missing', newParentId: '' }),
      status.NOT_FOUND,
      [],
    ],
    [
      'DeleteCategory of an unknown id',
      () => catalog.categories.deleteCategory({ id: 'missing', reparentChildren: false }),
      status.NOT_FOUND,
      [],
    ],
  ])('%s fails with the right code', async (_what, call, code, fields) => {
    const result = await failure(call());
    expect(result.code).toBe(code);
    expect(result.fields).toEqual(fields);
  });
});

describe('UpdateCategory', () => {
  it('renames, and a new slug rewrites the paths of the whole subtree', async () => {
    const root = await freshRoot();
    const mid = await mk('Audio', root.id);
    const leaf = await mk('Headphones', mid.id);
    const { category: updated } = await catalog.categories.updateCategory({
      id: mid.id,
      name: 'Sound',
      slug: 'sound',
      expectedVersion: 1,
    });
    expect(updated).toMatchObject({ name: 'Sound', slug: 'sound', path: `${root.path}/sound` });
    expect((await get(leaf.id)).path).toBe(`${root.path}/sound/headphones`);
  });

  it('reorders siblings', async () => {
    const root = await freshRoot();
    const [a] = [await mk('A', root.id), await mk('B', root.id), await mk('C', root.id)];
    await catalog.categories.updateCategory({ id: a.id, position: 2 });
    expect(
      names((await catalog.categories.listChildren({ parentId: root.id })).categories),
    ).toEqual(['B', 'C', 'A']);
  });

  it('refuses a stale version with ABORTED and a sibling slug with ALREADY_EXISTS', async () => {
    const root = await freshRoot();
    const a = await mk('A', root.id);
    await mk('B', root.id);
    expect(
      await failure(catalog.categories.updateCategory({ id: a.id, name: 'x', expectedVersion: 9 })),
    ).toMatchObject({ code: status.ABORTED });
    expect(await failure(catalog.categories.updateCategory({ id: a.id, slug: 'b' }))).toMatchObject(
      { code: status.ALREADY_EXISTS },
    );
  });
});

describe('MoveCategory', () => {
  it('moves a subtree: ancestors, paths and subtree queries follow', async () => {
    const root = await freshRoot();
    const men = await mk('Men', root.id);
    const shoes = await mk('Shoes', men.id);
    const boots = await mk('Boots', shoes.id);
    const women = await mk('Women', root.id);

    const { category: moved } = await catalog.categories.moveCategory({
      id: shoes.id,
      newParentId: women.id,
    });
    expect(moved).toMatchObject({
      parentId: women.id,
      ancestorIds: [root.id, women.id],
      depth: 2,
      path: `${root.path}/women/shoes`,
    });
    expect(await get(boots.id)).toMatchObject({
      ancestorIds: [root.id, women.id, shoes.id],
      depth: 3,
      path: `${root.path}/women/shoes/boots`,
    });
    expect(await ancestors(boots.id)).toEqual([root.id, women.id, shoes.id]);
    expect(await subtree(women.id)).toEqual([shoes.id, boots.id].sort());
    expect(await subtree(men.id)).toEqual([]);
    expect(await subtree(root.id)).toEqual([men.id, women.id, shoes.id, boots.id].sort());

    // To the top level and back.
    await catalog.categories.moveCategory({ id: shoes.id, newParentId: '' });
    expect(await get(boots.id)).toMatchObject({
      ancestorIds: [shoes.id],
      depth: 1,
      path: '/shoes/boots',
    });
    expect(await subtree(root.id)).toEqual([men.id, women.id].sort());
    await catalog.categories.moveCategory({ id: shoes.id, newParentId: men.id });
    expect(await ancestors(boots.id)).toEqual([root.id, men.id, shoes.id]);
  });

  it('refuses a move into its own subtree or under itself with FAILED_PRECONDITION', async () => {
    const root = await freshRoot();
    const child = await mk('Child', root.id);
    const grandchild = await mk('Grandchild', child.id);
    for (const target of [grandchild.id, child.id, root.id]) {
      const id = target === root.id ? root.id : child.id;
      expect(
        await failure(
          catalog.categories.moveCategory({
            id,
            newParentId: target === root.id ? grandchild.id : target,
          }),
        ),
      ).toMatchObject({
        code: status.FAILED_PRECONDITION,
        reason: 'MOVE_INTO_OWN_SUBTREE',
      });
    }
    expect(await get(grandchild.id)).toMatchObject({ ancestorIds: [root.id, child.id] });
  });

  it('refuses a slug clash at the destination and a missing destination', async () => {
    const root = await freshRoot();
    const a = await mk('A', root.id);
    const b = await mk('B', root.id);
    const dup = await mk('A', b.id);
    expect(
      await failure(catalog.categories.moveCategory({ id: dup.id, newParentId: root.id })),
    ).toMatchObject({ code: status.ALREADY_EXISTS });
    expect(
      await failure(catalog.categories.moveCategory({ id: a.id, newParentId: 'gone' })),
    ).toMatchObject({ code: status.FAILED_PRECONDITION, reason: 'PARENT_NOT_FOUND' });
  });

  it('finishes a move interrupted between its two steps when the service restarts', async () => {
    const root = await freshRoot();
    const a = await mk('A', root.id);
    const b = await mk('B', root.id);
    const leaf = await mk('Leaf', (await mk('Mid', a.id)).id);
    // Simulate the crash window: the moved node is updated and marked, its descendants are not.
    const env = testEnv();
    const database = catalog.categoryDatabase;
    const mongo: MongoHandle = await connectMongo({
      url: env.mongoUrl,
      database,
      logger: quietLogger,
    });
    try {
      await mongo.db.collection('categories').updateOne(
        { _id: a.id as never },
        {
          $set: {
            parentId: b.id,
            ancestorIds: [root.id, b.id],
            path: `${root.path}/b/a`,
            depth: 2,
            moving: true,
          },
        },
      );
      expect((await get(leaf.id)).path).toBe(`${root.path}/a/mid/leaf`);
      const port = await freePort();
      const restarted = await startCategoryService(
        loadCategoryConfig({
          AUTH_TRUST_IDENTITY_METADATA: 'true',
          // These suites exercise domain rules; the RPC access policy has its own tests.
          ENFORCE_POLICY: 'false',
          MONGO_URL: env.mongoUrl,
          MONGO_DATABASE: database,
          KAFKA_BROKERS: env.kafkaBrokers.join(','),
          CATALOG_EVENTS_TOPIC: catalog.catalogTopic,
          GRPC_PORT: String(port),
          METRICS_PORT: '0',
        }),
        { logger: quietLogger },
      );
      await restarted.stop();
      expect(await get(leaf.id)).toMatchObject({ path: `${root.path}/b/a/mid/leaf`, depth: 4 });
      expect(await subtree(b.id)).toContain(leaf.id);
      expect(await mongo.db.collection('categories').countDocuments({ moving: true })).toBe(0);
    } finally {
      await mongo.close();
    }
  });
});

describe('DeleteCategory', () => {
  const newProduct = (categoryId: string) =>
    product.CreateProductRequest.fromPartial({
      sku: uniqueId('SKU').toUpperCase(),
      name: 'Desk Lamp',
      price: { amount: 2999, currency: 'EUR' },
      categoryId,
    });

  it('deletes a leaf', async () => {
    const root = await freshRoot();
    const leaf = await mk('Leaf', root.id);
    expect(
      await catalog.categories.deleteCategory({
        id: leaf.id,
        reparentChildren: false,
        expectedVersion: 1,
      }),
    ).toEqual({ reparentedChildIds: [] });
    expect(await failure(catalog.categories.getCategory({ id: leaf.id }))).toMatchObject({
      code: status.NOT_FOUND,
    });
  });

  it('refuses while it has children or products, unless asked to reparent', async () => {
    const root = await freshRoot();
    const mid = await mk('Lighting', root.id);
    const lamps = await mk('Lamps', mid.id);
    const bulbs = await mk('Bulbs', mid.id);
    const lamp = (await catalog.products.createProduct(newProduct(mid.id))).product!;

    expect(
      await failure(catalog.categories.deleteCategory({ id: mid.id, reparentChildren: false })),
    ).toMatchObject({ code: status.FAILED_PRECONDITION, reason: 'HAS_CHILDREN' });
    const childless = await mk('Empty-ish', root.id);
    await catalog.products.createProduct(newProduct(childless.id));
    expect(
      await failure(
        catalog.categories.deleteCategory({ id: childless.id, reparentChildren: false }),
      ),
    ).toMatchObject({ code: status.FAILED_PRECONDITION, reason: 'HAS_PRODUCTS' });

    const res = await catalog.categories.deleteCategory({ id: mid.id, reparentChildren: true });
    expect(res.reparentedChildIds.sort()).toEqual([lamps.id, bulbs.id].sort());
    expect(await get(lamps.id)).toMatchObject({
      parentId: root.id,
      ancestorIds: [root.id],
      path: `${root.path}/lamps`,
    });
    expect((await catalog.products.getProduct({ id: lamp.id })).product!.categoryId).toBe(root.id);
    expect(await subtree(root.id)).toEqual([lamps.id, bulbs.id, childless.id].sort());
  });

  it('refuses to delete a root that holds products even with reparenting', async () => {
    const root = await freshRoot();
    await catalog.products.createProduct(newProduct(root.id));
    expect(
      await failure(catalog.categories.deleteCategory({ id: root.id, reparentChildren: true })),
    ).toMatchObject({ code: status.FAILED_PRECONDITION });
  });
});
