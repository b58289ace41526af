import { status } from '@grpc/grpc-js';
import {
  createEventPublisher,
  createKafka,
  outgoingEvent,
  type AsyncServiceImplementation,
  type CallContext,
  type Caller,
  type EventPublisher,
  withPolicy,
} from '@shop/platform';
import { inventory, inventoryEvents, product } from '@shop/proto';
import {
  asAdmin,
  consumerGroupMembers,
  failure,
  occupiedPort,
  quietLogger,
  testEnv,
  uniqueId,
  waitFor,
} from '@shop/testing';
import { loadProductConfig, productPolicy, startProductService } from '@shop/product-service';
import { startCatalog, type Catalog } from '@shop/testing/stack';

const { ProductOrderBy } = product;

let catalog: Catalog;
let rootId: string;
let childId: string;
let grandchildId: string;
let otherRootId: string;

const sku = (): string => uniqueId('SKU').toUpperCase();

/** A valid create request, with overrides. */
const newProduct = (
  overrides: Partial<product.CreateProductRequest> = {},
): product.CreateProductRequest =>
  product.CreateProductRequest.fromPartial({
    sku: sku(),
    name: 'Trail Runner 2 Shoe',
    description: 'Light trail shoe with a grippy outsole.',
    price: { amount: 8999, currency: 'EUR' },
    categoryId: childId,
    images: [{ url: 'https://img.shop.local/trail-runner.jpg', altText: 'Side view' }],
    attributes: [{ name: 'colour', value: 'red' }],
    ...overrides,
  });

const create = async (overrides: Partial<product.CreateProductRequest> = {}) =>
  (await catalog.products.createProduct(newProduct(overrides), asAdmin())).product!;

/** Every page of a listing, following cursors. */
async function listAll(request: Partial<product.ListProductsRequest>): Promise<product.Product[]> {
  const out: product.Product[] = [];
  let pageToken = '';
  for (;;) {
    const res = await catalog.products.listProducts(
      product.ListProductsRequest.fromPartial({
        ...request,
        page: { pageSize: request.page?.pageSize ?? 3, pageToken },
      }),
    );
    out.push(...res.products);
    pageToken = res.page!.nextPageToken;
    if (pageToken === '') return out;
  }
}

beforeAll(async () => {
  catalog = await startCatalog('product', { domainRules: true });
  const mk = async (name: string, parentId = '') =>
    (await catalog.categories.createCategory({ name, slug: '', parentId }, asAdmin())).category!.id;
  rootId = await mk('Sports');
  childId = await mk('Running', rootId);
  grandchildId = await mk('Trail Running', childId);
  otherRootId = await mk('Kitchen');
}, 120_000);

afterAll(async () => {
  await catalog.stop();
});

describe('CreateProduct and GetProduct', () => {
  it('creates a product with a server id, version 1 and timestamps, and reads it back', async () => {
    const created = await create({ name: '  Alpine Jacket  ' });
    expect(created).toMatchObject({
      name: 'Alpine Jacket',
      price: { amount: 8999, currency: 'EUR' },
      categoryId: childId,
      version: 1,
      deleted: false,
      images: [{ url: 'https://img.shop.local/trail-runner.jpg', altText: 'Side view' }],
      attributes: [{ name: 'colour', value: 'red' }],
    });
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.createdAt).toBeInstanceOf(Date);
    const { product: got } = await catalog.products.getProduct({ id: created.id });
    expect(got).toEqual(created);
  });

  it('accepts a price of zero (free samples)', async () => {
    expect((await create({ price: { amount: 0, currency: 'EUR' } })).price).toEqual({
      amount: 0,
      currency: 'EUR',
    });
  });

  it('refuses a second product with the same SKU with ALREADY_EXISTS', async () => {
    const first = await create();
    expect(
      await failure(catalog.products.createProduct(newProduct({ sku: first.sku }))),
    ).toMatchObject({ code: status.ALREADY_EXISTS, reason: 'SKU_TAKEN' });
  });

  it('refuses a category that does not exist with FAILED_PRECONDITION', async () => {
    expect(
      await failure(catalog.products.createProduct(newProduct({ categoryId: 'no-such-category' }))),
    ).toMatchObject({ code: status.FAILED_PRECONDITION, reason: 'CATEGORY_NOT_FOUND' });
  });

  it('answers NOT_FOUND for an unknown id', async () => {
    expect(await failure(catalog.products.getProduct({ id: 'nope' }))).toMatchObject({
      code: status.NOT_FOUND,
    });
  });
});

describe('validation', () => {
  const base = () => newProduct();
  it.each<[string, () => Partial<product.CreateProductRequest>, string[]]>([
    ['an empty SKU', () => ({ sku: '' }), ['sku']],
    ['a SKU with spaces', () => ({ sku: 'A B' }), ['sku']],
    ['an empty name', () => ({ name: '   ' }), ['name']],
    ['a name over 200 characters', () => ({ name: 'x'.repeat(201) }), ['name']],
    ['no price', () => ({ price: undefined }), ['price']],
    ['a negative price', () => ({ price: { amount: -1, currency: 'EUR' } }), ['price.amount']],
    [
      'a lower-case currency',
      () => ({ price: { amount: 100, currency: 'eur' } }),
      ['price.currency'],
    ],
    [
      'a four-letter currency',
      () => ({ price: { amount: 100, currency: 'EURO' } }),
      ['price.currency'],
    ],
    ['no category', () => ({ categoryId: '' }), ['category_id']],
    [
      'a relative image URL',
      () => ({ images: [{ url: '/a.jpg', altText: '' }] }),
      ['images[0].url'],
    ],
    [
      'duplicate attribute names',
      () => ({
        attributes: [
          { name: 'size', value: 'M' },
          { name: 'size', value: 'L' },
        ],
      }),
      ['attributes[1].name'],
    ],
    [
      'several problems at once',
      () => ({ sku: '', name: '', price: { amount: -5, currency: 'x' } }),
      ['sku', 'name', 'price.amount', 'price.currency'],
    ],
  ])(
    'CreateProduct with %s is INVALID_ARGUMENT naming the fields',
    async (_what, change, fields) => {
      const result = await failure(catalog.products.createProduct({ ...base(), ...change() }));
      expect(result.code).toBe(status.INVALID_ARGUMENT);
      expect(result.fields).toEqual(fields);
    },
  );

  it.each<[string, () => Promise<unknown>, number, string[]]>([
    [
      'GetProduct without id',
      () => catalog.products.getProduct({ id: '' }),
      status.INVALID_ARGUMENT,
      ['id'],
    ],
    [
      'BatchGetProducts with 501 ids',
      () =>
        catalog.products.batchGetProducts({ ids: Array.from({ length: 501 }, (_, i) => `p${i}`) }),
      status.INVALID_ARGUMENT,
      ['ids'],
    ],
    [
      'UpdateProduct with an empty mask',
      () => catalog.products.updateProduct({ id: 'x', updateMask: [] }),
      status.INVALID_ARGUMENT,
      ['update_mask'],
    ],
    [
      'UpdateProduct of a read-only field',
      () =>
        catalog.products.updateProduct({
          id: 'x',
          updateMask: ['version'],
          product: product.Product.fromPartial({}),
        }),
      status.INVALID_ARGUMENT,
      ['update_mask.paths[0]'],
    ],
    [
      'UpdateProduct with a bad price',
      () =>
        catalog.products.updateProduct({
          id: 'x',
          updateMask: ['price'],
          product: product.Product.fromPartial({ price: { amount: -1, currency: 'EUR' } }),
        }),
      status.INVALID_ARGUMENT,
      ['product.price.amount'],
    ],
    [
      'ListProducts with a forged page token',
      () =>
        catalog.products.listProducts(
          product.ListProductsRequest.fromPartial({ page: { pageToken: 'bm9wZQ' } }),
        ),
      status.INVALID_ARGUMENT,
      ['page.page_token'],
    ],
    [
      'ListProducts with a negative page size',
      () =>
        catalog.products.listProducts(
          product.ListProductsRequest.fromPartial({ page: { pageSize: -1 } }),
        ),
      status.INVALID_ARGUMENT,
      ['page.page_size'],
    ],
    [
      'ListProducts with min price above max price',
      () =>
        catalog.products.listProducts(
          product.ListProductsRequest.fromPartial({
            filter: {
              minPrice: { amount: 500, currency: 'EUR' },
              maxPrice: { amount: 100, currency: 'EUR' },
            },
          }),
        ),
      status.INVALID_ARGUMENT,
      ['filter.max_price.amount'],
    ],
    [
      'ListProducts with mixed price currencies',
      () =>
        catalog.products.listProducts(
          product.ListProductsRequest.fromPartial({
            filter: {
              minPrice: { amount: 1, currency: 'EUR' },
              maxPrice: { amount: 100, currency: 'USD' },
            },
          }),
        ),
      status.INVALID_ARGUMENT,
      ['filter.max_price.currency'],
    ],
    [
      'ListProducts with subcategories but no category',
      () =>
        catalog.products.listProducts(
          product.ListProductsRequest.fromPartial({ filter: { includeSubcategories: true } }),
        ),
      status.INVALID_ARGUMENT,
      ['filter.include_subcategories'],
    ],
    [
      'UpdateProduct of an unknown product',
      () =>
        catalog.products.updateProduct({
          id: 'nope',
          updateMask: ['name'],
          product: product.Product.fromPartial({ name: 'x' }),
        }),
      status.NOT_FOUND,
      [],
    ],
    [
      'DeleteProduct of an unknown product',
      () => catalog.products.deleteProduct({ id: 'nope' }),
      status.NOT_FOUND,
      [],
    ],
  ])('%s fails with the right code', async (_what, call, code, fields) => {
    const result = await failure(call());
    expect(result.code).toBe(code);
    expect(result.fields).toEqual(fields);
  });
});

describe('UpdateProduct', () => {
  it('changes only the masked fields and bumps the version', async () => {
    const p = await create();
    const { product: updated } = await catalog.products.updateProduct(
      {
        id: p.id,
        expectedVersion: 1,
        updateMask: ['name', 'price'],
        product: {
          ...p,
          name: 'Trail Runner 3',
          price: { amount: 9999, currency: 'EUR' },
          description: 'ignored',
        },
      },
      asAdmin(),
    );
    expect(updated).toMatchObject({
      name: 'Trail Runner 3',
      price: { amount: 9999, currency: 'EUR' },
      description: p.description,
      version: 2,
    });
    expect(updated!.updatedAt!.getTime()).toBeGreaterThanOrEqual(p.updatedAt!.getTime());
  });

  it('refuses a stale expected version with ABORTED and leaves the product unchanged', async () => {
    const p = await create();
    await catalog.products.updateProduct({
      id: p.id,
      expectedVersion: 1,
      updateMask: ['name'],
      product: { ...p, name: 'First' },
    });
    const stale = await failure(
      catalog.products.updateProduct({
        id: p.id,
        expectedVersion: 1,
        updateMask: ['name'],
        product: { ...p, name: 'Second' },
      }),
    );
    expect(stale).toMatchObject({ code: status.ABORTED, reason: 'STALE_VERSION' });
    expect((await catalog.products.getProduct({ id: p.id })).product).toMatchObject({
      name: 'First',
      version: 2,
    });
  });

  it('lets exactly one of several concurrent updates at the same version win', async () => {
    const p = await create();
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        catalog.products.updateProduct({
          id: p.id,
          expectedVersion: 1,
          updateMask: ['name'],
          product: { ...p, name: `Writer ${i}` },
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((await catalog.products.getProduct({ id: p.id })).product!.version).toBe(2);
  });

  it('refuses a move to a missing category and a SKU already taken', async () => {
    const [a, b] = [await create(), await create()];
    expect(
      await failure(
        catalog.products.updateProduct({
          id: a.id,
          updateMask: ['category_id'],
          product: { ...a, categoryId: 'gone' },
        }),
      ),
    ).toMatchObject({ code: status.FAILED_PRECONDITION });
    expect(
      await failure(
        catalog.products.updateProduct({
          id: a.id,
          updateMask: ['sku'],
          product: { ...a, sku: b.sku },
        }),
      ),
    ).toMatchObject({ code: status.ALREADY_EXISTS });
  });
});

describe('DeleteProduct', () => {
  it('soft-deletes: still readable by id and in batches, hidden from listings, frozen', async () => {
    const p = await create({ categoryId: otherRootId });
    const { product: deleted } = await catalog.products.deleteProduct({
      id: p.id,
      expectedVersion: 1,
    });
    expect(deleted).toMatchObject({ deleted: true, version: 2 });
    expect(deleted!.deletedAt).toBeInstanceOf(Date);
    expect((await catalog.products.getProduct({ id: p.id })).product!.deleted).toBe(true);
    expect((await catalog.products.batchGetProducts({ ids: [p.id] })).products).toHaveLength(1);
    const listed = await listAll({
      filter: product.ProductFilter.fromPartial({ categoryId: otherRootId }),
    });
    expect(listed.map((x) => x.id)).not.toContain(p.id);
    const withDeleted = await listAll({
      filter: product.ProductFilter.fromPartial({ categoryId: otherRootId, includeDeleted: true }),
    });
    expect(withDeleted.map((x) => x.id)).toContain(p.id);
    expect(
      await failure(
        catalog.products.updateProduct({
          id: p.id,
          updateMask: ['name'],
          product: { ...p, name: 'x' },
        }),
      ),
    ).toMatchObject({ code: status.FAILED_PRECONDITION, reason: 'PRODUCT_DELETED' });
    // A retried delete is a no-op.
    expect((await catalog.products.deleteProduct({ id: p.id })).product!.version).toBe(2);
  });

  it('refuses a stale expected version with ABORTED', async () => {
    const p = await create();
    expect(
      await failure(catalog.products.deleteProduct({ id: p.id, expectedVersion: 7 })),
    ).toMatchObject({
      code: status.ABORTED,
    });
  });
});

describe('BatchGetProducts', () => {
  it('returns products in request order, once each, and reports unknown ids', async () => {
    const [a, b, c] = [await create(), await create(), await create()];
    const res = await catalog.products.batchGetProducts({
      ids: [c.id, 'missing-1', a.id, c.id, b.id],
    });
    expect(res.products.map((p) => p.id)).toEqual([c.id, a.id, b.id]);
    expect(res.notFoundIds).toEqual(['missing-1']);
  });
});

describe('ListProducts', () => {
  let kitchen: string;
  beforeAll(async () => {
    kitchen = (
      await catalog.categories.createCategory({ name: 'Cookware', slug: '', parentId: otherRootId })
    ).category!.id;
    for (const [name, amount, currency] of [
      ['Cast Iron Pan (28cm)', 4500, 'EUR'],
      ['cast iron pot', 6500, 'EUR'],
      ['Steel Wok', 3000, 'EUR'],
      ['Copper Pan', 12000, 'USD'],
      ['Chef Knife [Pro]', 8000, 'EUR'],
    ] as const) {
      await create({ name, price: { amount, currency }, categoryId: kitchen });
    }
  });

  const names = (ps: product.Product[]) => ps.map((p) => p.name);
  const inKitchen = (filter: Partial<product.ProductFilter> = {}) =>
    product.ProductFilter.fromPartial({ categoryId: kitchen, ...filter });

  it('filters by name case-insensitively, treating regex characters literally', async () => {
    expect(names(await listAll({ filter: inKitchen({ nameQuery: 'CAST IRON' }) }))).toEqual([
      'Cast Iron Pan (28cm)',
      'cast iron pot',
    ]);
    expect(names(await listAll({ filter: inKitchen({ nameQuery: '(28' }) }))).toEqual([
      'Cast Iron Pan (28cm)',
    ]);
    expect(names(await listAll({ filter: inKitchen({ nameQuery: '[pro]' }) }))).toEqual([
      'Chef Knife [Pro]',
    ]);
    expect(await listAll({ filter: inKitchen({ nameQuery: '.*' }) })).toEqual([]);
  });

  it('filters by an inclusive price range in one currency', async () => {
    const filter = inKitchen({
      minPrice: { amount: 4500, currency: 'EUR' },
      maxPrice: { amount: 8000, currency: 'EUR' },
    });
    expect(
      names(await listAll({ filter, orderBy: ProductOrderBy.PRODUCT_ORDER_BY_PRICE_ASC })),
    ).toEqual(['Cast Iron Pan (28cm)', 'cast iron pot', 'Chef Knife [Pro]']);
    expect(
      names(await listAll({ filter: inKitchen({ minPrice: { amount: 0, currency: 'USD' } }) })),
    ).toEqual(['Copper Pan']);
  });

  it('orders by name, price and recency with stable cursors', async () => {
    expect(
      names(
        await listAll({
          filter: inKitchen(),
          orderBy: ProductOrderBy.PRODUCT_ORDER_BY_NAME_ASC,
          page: { pageSize: 2, pageToken: '' },
        }),
      ),
    ).toEqual([
      'Cast Iron Pan (28cm)',
      'cast iron pot',
      'Chef Knife [Pro]',
      'Copper Pan',
      'Steel Wok',
    ]);
    const byPriceDesc = await listAll({
      filter: inKitchen(),
      orderBy: ProductOrderBy.PRODUCT_ORDER_BY_PRICE_DESC,
      page: { pageSize: 2, pageToken: '' },
    });
    expect(byPriceDesc.map((p) => p.price!.amount)).toEqual([12000, 8000, 6500, 4500, 3000]);
    const oldest = names(await listAll({ filter: inKitchen() }));
    expect(
      names(
        await listAll({ filter: inKitchen(), orderBy: ProductOrderBy.PRODUCT_ORDER_BY_NEWEST }),
      ),
    ).toEqual(oldest.reverse());
  });

  it('finds a product by exact SKU', async () => {
    const p = await create({ categoryId: kitchen });
    expect(
      (await listAll({ filter: product.ProductFilter.fromPartial({ sku: p.sku }) })).map(
        (x) => x.id,
      ),
    ).toEqual([p.id]);
  });

  it('includes subcategories only when asked', async () => {
    const inGrandchild = await create({ categoryId: grandchildId });
    const inChild = await create({ categoryId: childId });
    const direct = await listAll({
      filter: product.ProductFilter.fromPartial({ categoryId: rootId }),
    });
    expect(direct).toEqual([]);
    const subtree = (
      await listAll({
        filter: product.ProductFilter.fromPartial({
          categoryId: rootId,
          includeSubcategories: true,
        }),
        page: { pageSize: 100, pageToken: '' },
      })
    ).map((p) => p.id);
    expect(subtree).toEqual(expect.arrayContaining([inGrandchild.id, inChild.id]));
    expect(subtree).not.toContain((await listAll({ filter: inKitchen() }))[0].id);
    expect(
      await listAll({
        filter: product.ProductFilter.fromPartial({
          categoryId: 'unknown',
          includeSubcategories: true,
        }),
      }),
    ).toEqual([]);
  });

  it('refuses a cursor reused with another filter', async () => {
    const first = await catalog.products.listProducts(
      product.ListProductsRequest.fromPartial({ filter: inKitchen(), page: { pageSize: 1 } }),
    );
    expect(first.page!.nextPageToken).not.toBe('');
    expect(
      await failure(
        catalog.products.listProducts(
          product.ListProductsRequest.fromPartial({
            filter: inKitchen({ nameQuery: 'pan' }),
            page: { pageSize: 1, pageToken: first.page!.nextPageToken },
          }),
        ),
      ),
    ).toMatchObject({ code: status.INVALID_ARGUMENT, fields: ['page.page_token'] });
  });

  it('neither skips nor repeats items while products are inserted concurrently', async () => {
    const shelf = (
      await catalog.categories.createCategory({
        name: uniqueId('Shelf'),
        slug: '',
        parentId: otherRootId,
      })
    ).category!.id;
    const before = [];
    for (let i = 0; i < 25; i += 1)
      before.push(await create({ categoryId: shelf, name: `Item ${i}` }));
    let inserting = true;
    const inserted: string[] = [];
    const writer = (async () => {
      while (inserting) inserted.push((await create({ categoryId: shelf, name: 'Late item' })).id);
    })();
    const seen: string[] = [];
    let pageToken = '';
    do {
      const res = await catalog.products.listProducts(
        product.ListProductsRequest.fromPartial({
          filter: { categoryId: shelf },
          page: { pageSize: 4, pageToken },
        }),
      );
      seen.push(...res.products.map((p) => p.id));
      pageToken = res.page!.nextPageToken;
      await new Promise((r) => setTimeout(r, 20));
    } while (pageToken !== '' && seen.length < 500);
    inserting = false;
    await writer;
    expect(inserted.length).toBeGreaterThan(0);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.slice(0, before.length)).toEqual(before.map((p) => p.id));
    // Whatever was listed beyond the originals was inserted meanwhile, in creation order.
    expect(seen.slice(before.length)).toEqual(inserted.slice(0, seen.length - before.length));
  });

  describe('in stock only (projection of StockLevelChanged)', () => {
    let publisher: EventPublisher;
    beforeAll(async () => {
      const kafka = createKafka({
        brokers: testEnv().kafkaBrokers,
        clientId: 'product-test',
        logger: quietLogger,
      });
      publisher = await createEventPublisher(kafka, { producerName: 'inventory-test' });
    });
    afterAll(async () => {
      await publisher.disconnect();
    });

    const stockChanged = (productId: string, available: number, version: number) =>
      outgoingEvent(
        inventoryEvents.StockLevelChanged,
        inventoryEvents.StockLevelChanged.fromPartial({
          productId,
          onHand: available,
          available,
          reason: inventory.MovementKind.MOVEMENT_KIND_ADJUSTMENT,
          version,
        }),
        { aggregateType: 'stock', aggregateId: productId, aggregateVersion: version },
      );

    it('lists only products whose last known available stock is above zero, ignoring stale events', async () => {
      const shelf = (
        await catalog.categories.createCategory({
          name: uniqueId('Stocked'),
          slug: '',
          parentId: otherRootId,
        })
      ).category!.id;
      const [stocked, soldOut, unknown] = [
        await create({ categoryId: shelf }),
        await create({ categoryId: shelf }),
        await create({ categoryId: shelf }),
      ];
      const filter = product.ProductFilter.fromPartial({ categoryId: shelf, inStockOnly: true });
      const listedIds = async () => (await listAll({ filter })).map((p) => p.id).sort();
      const until = (what: string, expected: string[]) =>
        waitFor(
          what,
          async () => {
            const ids = await listedIds();
            return ids.join() === [...expected].sort().join() ? ids : undefined;
          },
          { timeoutMs: 30_000 },
        );

      expect(await listedIds()).toEqual([]);
      await publisher.publish(catalog.inventoryTopic, [
        stockChanged(stocked.id, 5, 1),
        stockChanged(soldOut.id, 3, 1),
      ]);
      await until('both products in stock', [stocked.id, soldOut.id]);
      await publisher.publish(catalog.inventoryTopic, [stockChanged(soldOut.id, 0, 2)]);
      await until('the sold-out product to drop out', [stocked.id]);

      // A redelivered older event must not resurrect sold-out stock. The second event rides on
      // the same record key (so the same partition, processed after the first): once it shows,
      // the stale one has been handled.
      const late = stockChanged(unknown.id, 2, 1);
      await publisher.publish(catalog.inventoryTopic, [
        stockChanged(soldOut.id, 3, 1),
        { ...late, aggregateId: soldOut.id },
      ]);
      await until('the third product to come in stock', [stocked.id, unknown.id]);
      expect(await listedIds()).toEqual([stocked.id, unknown.id].sort());
    });
  });
});

describe('policy', () => {
  it('marks every write admin-only and every read public, in one table', () => {
    const customer: Caller = { kind: 'user', subject: 'alice', roles: ['customer'] };
    const admin: Caller = { kind: 'user', subject: 'root', roles: ['admin'] };
    const who = Object.fromEntries(
      Object.entries(productPolicy).map(([rpc, rule]) => [
        rpc,
        rule(customer, {}) ? 'public' : rule(admin, {}) ? 'admin' : 'nobody',
      ]),
    );
    expect(who).toEqual({
      createProduct: 'admin',
      getProduct: 'public',
      batchGetProducts: 'public',
      listProducts: 'public',
      updateProduct: 'admin',
      deleteProduct: 'admin',
    });
  });

  it('lets anyone write while off, and guards admin RPCs once ENFORCE_POLICY turns it on', async () => {
    type Impl = AsyncServiceImplementation<product.ProductServiceService>;
    const reply = () => Promise.resolve({});
    const impl = Object.fromEntries(
      Object.keys(productPolicy).map((k) => [k, reply]),
    ) as unknown as Impl;
    const ctx = (caller: Caller) => ({ caller }) as CallContext;
    const anonymous: Caller = { kind: 'anonymous' };
    const customer: Caller = { kind: 'user', subject: 'alice', roles: ['customer'] };
    const admin: Caller = { kind: 'user', subject: 'root', roles: ['admin'] };
    const service: Caller = { kind: 'service', subject: 'category-service', roles: [] };

    await expect(
      withPolicy(impl, productPolicy, false).createProduct(newProduct(), ctx(anonymous)),
    ).resolves.toEqual({});
    const guarded = withPolicy(impl, productPolicy, true);
    await expect(guarded.getProduct({ id: 'x' }, ctx(anonymous))).resolves.toEqual({});
    await expect(guarded.createProduct(newProduct(), ctx(anonymous))).rejects.toMatchObject({
      grpcStatus: status.UNAUTHENTICATED,
    });
    await expect(guarded.createProduct(newProduct(), ctx(customer))).rejects.toMatchObject({
      grpcStatus: status.PERMISSION_DENIED,
    });
    await expect(guarded.createProduct(newProduct(), ctx(admin))).resolves.toEqual({});
    await expect(guarded.createProduct(newProduct(), ctx(service))).resolves.toEqual({});
  });
});

describe('start-up', () => {
  it('releases what it opened when a later step fails (the stock consumer leaves its group)', async () => {
    const env = testEnv();
    // The gRPC port is taken, so the service fails at its last step, after it joined Kafka.
    const taken = await occupiedPort();
    const group = uniqueId('product-startup-stock');
    try {
      await expect(
        startProductService(
          loadProductConfig({
            AUTH_TRUST_IDENTITY_METADATA: 'true',
            MONGO_URL: env.mongoUrl,
            MONGO_DATABASE: `${uniqueId('startup').replace(/-/g, '_')}_product`,
            KAFKA_BROKERS: env.kafkaBrokers.join(','),
            GRPC_PORT: String(taken.port),
            METRICS_PORT: '0',
            LOG_LEVEL: 'fatal',
            STOCK_CONSUMER_GROUP: group,
            CATEGORY_GRPC_URL: '127.0.0.1:1',
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
