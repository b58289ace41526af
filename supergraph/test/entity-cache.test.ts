import { Metadata } from '@grpc/grpc-js';
import { createGrpcClient } from '@shop/platform';
import { inventory, product } from '@shop/proto';
import {
  passwordGrantToken,
  startKafkaInstance,
  testEnv,
  uniqueId,
  waitFor,
  type KafkaInstance,
} from '@shop/testing';
import { rpcCount, startStack, type Stack } from './harness';

// The gateway's entity cache against the real stack: Kafka, the store, Keycloak tokens. Catalog
// answers are served from the cache, changes show on the next query (through this gateway) or as
// soon as their event arrives (behind its back), caller-dependent data is never shared, and while
// the invalidation feed is down the cache is bypassed.

const PRODUCT = `query($id: ID!) { product(id: $id) {
  id name price { amount currency } category { id name ancestors { id name } } inventory { available } } }`;

interface ProductAnswer {
  product: {
    id: string;
    name: string;
    category: { id: string; name: string };
    inventory: { available: number } | null;
  } | null;
}

/** Waits until `condition` holds. */
const until = (what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number) =>
  waitFor(what, async () => ((await condition()) ? true : undefined), { timeoutMs });

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const grpcAuth = (token: string): Metadata => {
  const md = new Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
};

async function metric(stack: Stack, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${stack.gateway.metricsPort}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{${labels}`) || line.startsWith(`${name} `)) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

/** Creates a category and a product with stock through the gateway, as an operator. */
async function seedProduct(stack: Stack, admin: string, onHand: number): Promise<string> {
  const headers = bearer(admin);
  const category = await stack.query<{ createCategory: { id: string } }>(
    'mutation($input: CreateCategoryInput!) { createCategory(input: $input) { id } }',
    { input: { name: uniqueId('Cached') } },
    headers,
  );
  expect(category.errors).toBeUndefined();
  const sku = uniqueId('CACHE');
  const created = await stack.query<{ createProduct: { id: string } }>(
    'mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }',
    {
      input: {
        sku,
        name: sku,
        categoryId: category.data!.createCategory.id,
        price: { amount: 990, currency: 'EUR' },
      },
    },
    headers,
  );
  expect(created.errors).toBeUndefined();
  const id = created.data!.createProduct.id;
  const stock = await stack.query(
    'mutation($id: ID!, $n: Int!) { setInitialStock(productId: $id, onHand: $n) { available } }',
    { id, n: onHand },
    headers,
  );
  expect(stock.errors).toBeUndefined();
  return id;
}

const BUDGET = 1_048_576;

describe('with the shared broker', () => {
  let stack: Stack;
  let admin: string;
  let alice: string;
  let bob: string;
  beforeAll(async () => {
    const issuer = testEnv().oidcIssuerUrl;
    [admin, alice, bob] = await Promise.all([
      passwordGrantToken(issuer, 'admin@shop.local', 'admin-password'),
      passwordGrantToken(issuer, 'alice@shop.local', 'alice-password'),
      passwordGrantToken(issuer, 'bob@shop.local', 'bob-password'),
    ]);
    stack = await startStack('cache', {
      cache: true,
      orders: true,
      tokens: true,
      // The smallest budget the gateway accepts, so the budget test below overflows it quickly.
      gatewayEnv: {
        ENTITY_CACHE_MAX_BYTES: String(BUDGET),
        OPERATION_CACHE_MAX_BYTES: String(BUDGET),
      },
    });
    await until(
      'the cache feed to be live',
      () => stack.gateway.entityCache?.stats().live === true,
      20_000,
    );
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('serves a repeated product read from the cache, without calling the services', async () => {
    const id = await seedProduct(stack, admin, 10);
    const first = await stack.query<ProductAnswer>(PRODUCT, { id });
    expect(first.errors).toBeUndefined();
    expect(first.data?.product?.inventory?.available).toBe(10);

    const stockCalls = await rpcCount(stack.serviceMetrics.inventory, 'BatchGetStock');
    const productCalls = await rpcCount(stack.serviceMetrics.product, 'BatchGetProducts');
    const hits = await metric(stack, 'gateway_entity_cache_hits_total');
    // A different selection of the same entities: the plan runs, its fetches hit the cache.
    const again = await stack.query<ProductAnswer>(
      PRODUCT.replace('id name price', 'name id price'),
      { id },
      bearer(alice),
    );
    expect(again).toEqual(first);
    expect(await rpcCount(stack.serviceMetrics.inventory, 'BatchGetStock')).toBe(stockCalls);
    expect(await rpcCount(stack.serviceMetrics.product, 'BatchGetProducts')).toBe(productCalls);
    expect(await metric(stack, 'gateway_entity_cache_hits_total')).toBeGreaterThan(hits);
  });

  it('answers a repeated public query whole, for every caller, until what it shows changes', async () => {
    const id = await seedProduct(stack, admin, 12);
    const first = await stack.query<ProductAnswer>(PRODUCT, { id });
    expect(first.data?.product?.inventory?.available).toBe(12);
    const hits = await metric(stack, 'gateway_operation_cache_hits_total');
    const entityHits = await metric(stack, 'gateway_entity_cache_hits_total');
    const stockCalls = await rpcCount(stack.serviceMetrics.inventory, 'BatchGetStock');
    for (const headers of [{}, bearer(alice), bearer(bob)]) {
      expect(await stack.query<ProductAnswer>(PRODUCT, { id }, headers)).toEqual(first);
    }
    expect(await metric(stack, 'gateway_operation_cache_hits_total')).toBe(hits + 3);
    // Served whole: not even the entity cache was asked.
    expect(await metric(stack, 'gateway_entity_cache_hits_total')).toBe(entityHits);
    expect(await rpcCount(stack.serviceMetrics.inventory, 'BatchGetStock')).toBe(stockCalls);
    expect(stack.gateway.entityCache?.stats().operations.entries).toBeGreaterThan(0);

    const adjusted = await stack.query(
      'mutation($id: ID!) { adjustStock(productId: $id, delta: -2, reason: "recount") { available } }',
      { id },
      bearer(admin),
    );
    expect(adjusted.errors).toBeUndefined();
    expect((await stack.query<ProductAnswer>(PRODUCT, { id })).data?.product?.inventory).toEqual({
      available: 10,
    });
  });

  it('never stores a query whole when part of it depends on the caller', async () => {
    const id = await seedProduct(stack, admin, 7);
    const MIXED = `query($id: ID!) { product(id: $id) { id inventory { available } }
      me { email } }`;
    const privateBefore = await metric(
      stack,
      'gateway_operation_cache_stored_total',
      'outcome="private"',
    );
    const hits = await metric(stack, 'gateway_operation_cache_hits_total');
    const emails: Array<string | undefined> = [];
    for (const token of [alice, bob, alice, bob]) {
      const answer = await stack.query<{ product: { id: string }; me: { email: string } }>(
        MIXED,
        { id },
        bearer(token),
      );
      expect(answer.errors).toBeUndefined();
      expect(answer.data?.product.id).toBe(id);
      emails.push(answer.data?.me.email);
    }
    expect(emails).toEqual([
      'alice@shop.local',
      'bob@shop.local',
      'alice@shop.local',
      'bob@shop.local',
    ]);
    expect(await metric(stack, 'gateway_operation_cache_hits_total')).toBe(hits);
    expect(await metric(stack, 'gateway_operation_cache_stored_total', 'outcome="private"')).toBe(
      privateBefore + 4,
    );
  });

  it('shows a stock adjustment made through the gateway on the very next query', async () => {
    const id = await seedProduct(stack, admin, 20);
    expect((await stack.query<ProductAnswer>(PRODUCT, { id })).data?.product?.inventory).toEqual({
      available: 20,
    });
    const adjusted = await stack.query(
      'mutation($id: ID!) { adjustStock(productId: $id, delta: 5, reason: "recount") { available } }',
      { id },
      bearer(admin),
    );
    expect(adjusted.errors).toBeUndefined();
    expect((await stack.query<ProductAnswer>(PRODUCT, { id })).data?.product?.inventory).toEqual({
      available: 25,
    });
  });

  it('drops a cached answer when the change made behind its back arrives as an event', async () => {
    const id = await seedProduct(stack, admin, 30);
    expect((await stack.query<ProductAnswer>(PRODUCT, { id })).data?.product?.inventory).toEqual({
      available: 30,
    });
    const invalidations = await metric(
      stack,
      'gateway_entity_cache_invalidations_total',
      'source="event"',
    );
    const stock = createGrpcClient(
      'shop.inventory.v1.InventoryService',
      inventory.InventoryServiceService,
      `127.0.0.1:${stack.grpcPorts.inventory}`,
    );
    const products = createGrpcClient(
      'shop.product.v1.ProductService',
      product.ProductServiceService,
      `127.0.0.1:${stack.grpcPorts.product}`,
    );
    try {
      await stock.adjustStock(
        { productId: id, delta: -4, reason: 'damaged', idempotencyKey: uniqueId('adj') },
        { metadata: grpcAuth(admin) },
      );
      await until(
        'the adjusted stock',
        async () =>
          (await stack.query<ProductAnswer>(PRODUCT, { id })).data?.product?.inventory
            ?.available === 26,
        10_000,
      );
      const renamed = uniqueId('Renamed');
      await products.updateProduct(
        product.UpdateProductRequest.fromPartial({
          id,
          product: { name: renamed },
          updateMask: ['name'],
        }),
        { metadata: grpcAuth(admin) },
      );
      await until(
        'the new name',
        async () =>
          (await stack.query<ProductAnswer>(PRODUCT, { id })).data?.product?.name === renamed,
        10_000,
      );
    } finally {
      stock.close();
      products.close();
    }
    expect(
      await metric(stack, 'gateway_entity_cache_invalidations_total', 'source="event"'),
    ).toBeGreaterThanOrEqual(invalidations + 2);
  });

  it("never serves Alice's order to Bob or to anonymous callers, at once or in turn", async () => {
    const productId = await seedProduct(stack, admin, 50);
    const placed = await stack.query<{ placeOrder: { id: string } }>(
      'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }',
      {
        input: {
          items: [{ productId, quantity: 1 }],
          shippingAddress: {
            recipientName: 'Alice',
            line1: 'Street 1',
            city: 'Berlin',
            postalCode: '10115',
            countryCode: 'DE',
          },
          paymentMethod: 'pm_card_visa',
          idempotencyKey: uniqueId('cache-order'),
        },
      },
      bearer(alice),
    );
    expect(placed.errors).toBeUndefined();
    const orderId = placed.data!.placeOrder.id;
    const ORDER = `query($id: ID!) { order(id: $id) { id status items { quantity product { name inventory { available } } } } }`;
    for (let round = 0; round < 5; round++) {
      // Identical operations at the same moment: the fetches are identical but for the caller.
      const answers = await Promise.all(
        [alice, bob, undefined, alice, bob, undefined].map((token) =>
          stack.query<{ order: { id: string } | null }>(
            ORDER,
            { id: orderId },
            token === undefined ? {} : bearer(token),
          ),
        ),
      );
      const [a1, b1, n1, a2, b2, n2] = answers;
      for (const a of [a1, a2]) {
        expect(a?.errors).toBeUndefined();
        expect(a?.data?.order?.id).toBe(orderId);
      }
      for (const b of [b1, b2]) {
        expect(b?.data?.order ?? null).toBeNull();
        expect(b?.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      }
      for (const n of [n1, n2]) {
        expect(n?.data?.order ?? null).toBeNull();
        expect(n?.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      }
    }
    const mine = await stack.query<{ myOrders: { edges: Array<{ node: { id: string } }> } }>(
      '{ myOrders(first: 50) { edges { node { id } } } }',
      {},
      bearer(bob),
    );
    expect(mine.data?.myOrders.edges.map((e) => e.node.id)).not.toContain(orderId);
  });

  it('keeps the cache within its byte budget through 100,000 distinct product lookups', async () => {
    const id = await seedProduct(stack, admin, 4);
    // 25 lookups per request (aliases; the gateway allows 30), each of a distinct id that does
    // not exist: every request is a distinct cacheable answer of about 2 KiB with its key, so
    // 4,000 requests would hold several times the budget.
    const PER_REQUEST = 25;
    const aliases = Array.from(
      { length: PER_REQUEST },
      (_, i) => `p${i}: product(id: $i${i}) { id }`,
    );
    const lookup = `query(${aliases.map((_, i) => `$i${i}: ID!`).join(', ')}) { ${aliases.join(' ')} }`;
    const evictions = await metric(stack, 'gateway_entity_cache_evictions_total');
    let peak = 0;
    let operationsPeak = 0;
    const requests = Array.from({ length: 100_000 / PER_REQUEST }, (_, r) => r);
    // Eight at a time, as clients would send them.
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let r = requests.pop(); r !== undefined; r = requests.pop()) {
          const variables = Object.fromEntries(
            Array.from({ length: PER_REQUEST }, (_, i) => [`i${i}`, `missing-${r}-${i}-${id}`]),
          );
          const answer = await stack.query<Record<string, unknown>>(lookup, variables);
          expect(answer.errors).toBeUndefined();
          expect(Object.values(answer.data ?? {}).every((v) => v === null)).toBe(true);
          const stats = stack.gateway.entityCache?.stats();
          peak = Math.max(peak, stats?.bytes ?? Infinity);
          operationsPeak = Math.max(operationsPeak, stats?.operations.bytes ?? Infinity);
        }
      }),
    );
    expect(peak).toBeLessThanOrEqual(BUDGET);
    expect(operationsPeak).toBeLessThanOrEqual(BUDGET);
    expect(await metric(stack, 'gateway_entity_cache_evictions_total')).toBeGreaterThan(evictions);
    // Still a working cache, with right answers.
    expect((await stack.query<ProductAnswer>(PRODUCT, { id })).data?.product?.inventory).toEqual({
      available: 4,
    });
    const stockCalls = await rpcCount(stack.serviceMetrics.inventory, 'BatchGetStock');
    await stack.query<ProductAnswer>(PRODUCT, { id });
    expect(await rpcCount(stack.serviceMetrics.inventory, 'BatchGetStock')).toBe(stockCalls);
  }, 180_000);
});

describe('with a broker that goes down', () => {
  let kafka: KafkaInstance;
  let stack: Stack;
  let admin: string;
  beforeAll(async () => {
    admin = await passwordGrantToken(testEnv().oidcIssuerUrl, 'admin@shop.local', 'admin-password');
    kafka = await startKafkaInstance();
    stack = await startStack('cache-down', {
      cache: true,
      tokens: true,
      kafkaBrokers: kafka.broker,
      gatewayEnv: { ENTITY_CACHE_FEED_STALE_MS: '500' },
    });
    await until(
      'the cache feed to be live',
      () => stack.gateway.entityCache?.stats().live === true,
      30_000,
    );
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    await kafka?.destroy();
  }, 60_000);

  it('bypasses the cache while the feed is down, answers correctly, and resumes after', async () => {
    const id = await seedProduct(stack, admin, 8);
    await stack.query<ProductAnswer>(PRODUCT, { id });
    expect((await stack.query<ProductAnswer>(PRODUCT, { id })).data?.product?.inventory).toEqual({
      available: 8,
    });
    expect(stack.gateway.entityCache?.stats().entries).toBeGreaterThan(0);

    await kafka.stop({ abrupt: true });
    await until(
      'the cache feed to be down',
      () => stack.gateway.entityCache?.stats().live === false,
      20_000,
    );
    expect(stack.gateway.entityCache?.stats().entries).toBe(0);

    // The change is committed (its event waits in the outbox), and no event can arrive.
    const stock = createGrpcClient(
      'shop.inventory.v1.InventoryService',
      inventory.InventoryServiceService,
      `127.0.0.1:${stack.grpcPorts.inventory}`,
    );
    try {
      await stock.adjustStock(
        { productId: id, delta: 3, reason: 'found', idempotencyKey: uniqueId('adj') },
        { metadata: grpcAuth(admin) },
      );
    } finally {
      stock.close();
    }
    const bypassed = await metric(
      stack,
      'gateway_entity_cache_bypasses_total',
      'reason="not_live"',
    );
    const stockCalls = await rpcCount(stack.serviceMetrics.inventory, 'BatchGetStock');
    for (let i = 0; i < 3; i++) {
      expect((await stack.query<ProductAnswer>(PRODUCT, { id })).data?.product?.inventory).toEqual({
        available: 11,
      });
    }
    expect(await rpcCount(stack.serviceMetrics.inventory, 'BatchGetStock')).toBe(stockCalls + 3);
    expect(
      await metric(stack, 'gateway_entity_cache_bypasses_total', 'reason="not_live"'),
    ).toBeGreaterThan(bypassed);
    expect(stack.gateway.entityCache?.stats().entries).toBe(0);

    await kafka.start();
    await until(
      'the cache feed to be live again',
      () => stack.gateway.entityCache?.stats().live === true,
      60_000,
    );
    expect((await stack.query<ProductAnswer>(PRODUCT, { id })).data?.product?.inventory).toEqual({
      available: 11,
    });
    expect(stack.gateway.entityCache?.stats().entries).toBeGreaterThan(0);
  }, 180_000);

  it('starts without its broker, answers uncached meanwhile, and turns the cache on after', async () => {
    const id = await seedProduct(stack, admin, 6);
    await kafka.stop({ abrupt: true });
    // Before, the gateway did not start while the broker was down.
    await stack.restartGateway();
    expect(stack.gateway.entityCache?.stats().live).toBe(false);
    const stockCalls = await rpcCount(stack.serviceMetrics.inventory, 'BatchGetStock');
    for (let i = 0; i < 2; i++) {
      const answer = await stack.query<ProductAnswer>(PRODUCT, { id });
      expect(answer.errors).toBeUndefined();
      expect(answer.data?.product?.inventory).toEqual({ available: 6 });
    }
    expect(await rpcCount(stack.serviceMetrics.inventory, 'BatchGetStock')).toBe(stockCalls + 2);
    expect(stack.gateway.entityCache?.stats().entries).toBe(0);

    await kafka.start();
    await until(
      'the cache feed to be live once the broker is up',
      () => stack.gateway.entityCache?.stats().live === true,
      90_000,
    );
    await stack.query<ProductAnswer>(PRODUCT, { id });
    const cached = await rpcCount(stack.serviceMetrics.inventory, 'BatchGetStock');
    expect((await stack.query<ProductAnswer>(PRODUCT, { id })).data?.product?.inventory).toEqual({
      available: 6,
    });
    expect(await rpcCount(stack.serviceMetrics.inventory, 'BatchGetStock')).toBe(cached);
  }, 240_000);
});
