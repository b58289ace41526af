import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { TaggedStore } from '../src/cache/store';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
import { CACHE_RULES, tagsOfEvent } from '../src/cache/rules';

// The entity cache's storage on its own: LRU under a byte budget, tag invalidation, and the
// ticket rule that keeps an answer read before a change out of the cache.

it('serves what it stored and drops it when one of its tags is invalidated', () => {
  const store = new TaggedStore(1_000_000);
  expect(store.set('a', '{"name":"A"}', ['product:1', 'products'], store.ticket())).toBe(true);
  expect(store.set('b', '{"name":"B"}', ['product:2', 'products'], store.ticket())).toBe(true);
  expect(store.get('a')).toBe('{"name":"A"}');
  expect(store.invalidate(['product:1'])).toBe(1);
  expect(store.get('a')).toBeUndefined();
  expect(store.get('b')).toBe('{"name":"B"}');
  expect(store.invalidate(['products'])).toBe(1);
  expect(store.size).toBe(0);
  expect(store.bytes).toBe(0);
});

it('refuses an answer fetched before an invalidation of its tags and keeps unrelated ones', () => {
  const store = new TaggedStore(1_000_000);
  const before = store.ticket();
  store.invalidate(['stock:p1']);
  expect(store.set('stale', '{"available":5}', ['stock:p1'], before)).toBe(false);
  expect(store.set('other', '{"available":7}', ['stock:p2'], before)).toBe(true);
  expect(store.set('fresh', '{"available":4}', ['stock:p1'], store.ticket())).toBe(true);
  expect(store.get('stale')).toBeUndefined();
  expect(store.get('fresh')).toBe('{"available":4}');
});

it('tells beforehand whether a fill would be refused, exactly as set decides', () => {
  const store = new TaggedStore(1_000_000);
  const before = store.ticket();
  store.invalidate(['stock:p1']);
  expect(store.accepts(['stock:p1', 'products'], before)).toBe(false);
  expect(store.accepts(['stock:p2', 'products'], before)).toBe(true);
  expect(store.accepts(['stock:p1'], store.ticket())).toBe(true);
  store.clear();
  expect(store.accepts(['stock:p2'], before)).toBe(false);
  expect(store.set('p2', '{"available":7}', ['stock:p2'], before)).toBe(false);
});

it('refuses every fill that started before a clear', () => {
  const store = new TaggedStore(1_000_000);
  const before = store.ticket();
  store.set('x', '1', ['t'], before);
  store.clear();
  expect(store.get('x')).toBeUndefined();
  expect(store.set('y', '2', ['u'], before)).toBe(false);
  expect(store.set('y', '2', ['u'], store.ticket())).toBe(true);
});

it('evicts the least recently used entries to stay within its byte budget', () => {
  const evicted: number[] = [];
  const store = new TaggedStore(5_000, { evicted: (n) => evicted.push(n) });
  const value = 'v'.repeat(1_000);
  for (const key of ['k1', 'k2', 'k3']) store.set(key, value, ['t'], store.ticket());
  store.get('k1'); // k1 is now the most recently used
  store.set('k4', value, ['t'], store.ticket());
  expect(store.bytes).toBeLessThanOrEqual(5_000);
  expect(store.get('k1')).toBe(value);
  expect(store.get('k2')).toBeUndefined();
  expect(evicted.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
});

it('holds its byte budget with 100k distinct entities, in its accounting and in the heap', () => {
  const budget = 8 * 1_048_576;
  const store = new TaggedStore(budget);
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  let mostBytes = 0;
  for (let i = 0; i < 100_000; i++) {
    const id = `0b7c${i.toString(16).padStart(8, '0')}-5f7e-4a51-9d7a-6a3c1c7f1e2d`;
    store.set(
      `inventory|0|{"__typename":"Product","id":"${id}"}`,
      `{"inventory":{"available":${i % 50},"productId":"${id}"}}`,
      [`stock:${id}`, 'inventory'],
      store.ticket(),
    );
    mostBytes = Math.max(mostBytes, store.bytes);
  }
  expect(mostBytes).toBeLessThanOrEqual(budget);
  // Invalidating one of the evicted or kept entities costs nothing beyond its tag.
  store.invalidate(['stock:missing']);
  gc();
  const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
  expect(store.size).toBeGreaterThan(10_000);
  expect(store.size).toBeLessThan(100_000);
  // The accounting is an estimate; the heap must stay within twice the budget.
  expect(heapGrowth).toBeLessThan(2 * budget);
});

describe('the cache rules', () => {
  it('file each entity under its own change and each listing under any product change', () => {
    expect(CACHE_RULES.inventory.entityTags({ __typename: 'Product', id: 'p1' })).toContain(
      'stock:p1',
    );
    expect(CACHE_RULES.inventory.entityTags({ __typename: 'Stock', productId: 'p2' })).toContain(
      'stock:p2',
    );
    expect(CACHE_RULES.products.entityTags({ __typename: 'Product', id: 'p1' })).toContain(
      'product:p1',
    );
    expect(CACHE_RULES.products.rootTags).toContain('product-lists');
    expect(tagsOfEvent({ eventType: 'shop.product.v1.ProductChanged', aggregateId: 'p1' })).toEqual(
      ['product:p1', 'product-lists'],
    );
    expect(
      tagsOfEvent({ eventType: 'shop.inventory.v1.StockLevelChanged', aggregateId: 'p1' }),
    ).toEqual(['stock:p1', 'stock-roots']);
    expect(
      tagsOfEvent({ eventType: 'shop.inventory.v1.StockReserved', aggregateId: 'o1' }),
    ).toEqual([]);
  });

  it('cache nothing of the subgraphs whose answers depend on the caller', () => {
    for (const subgraph of ['orders', 'users', 'notifications']) {
      expect(CACHE_RULES[subgraph]).toBeUndefined();
    }
  });
});
