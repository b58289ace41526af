import { waitFor } from '@shop/testing';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import {
  CategoryPathDocument,
  CreateCategoryDocument,
  CreateProductDocument,
  RootCategoriesDocument,
} from './generated/operations';
import { adminHeaders, rpcCount, startStack, type Stack } from './harness';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('catalog');
});
afterAll(async () => {
  await stack?.stop();
});

/** Runs an admin mutation and returns its data, failing loudly on errors. */
async function admin<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await stack.query<T>(query, variables, adminHeaders);
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data as T;
}

/** Runs a typed admin operation and returns its data, failing loudly on errors. */
async function adminOp<TResult, TVariables extends Record<string, unknown>>(
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
): Promise<TResult> {
  const res = await stack.operation(document, variables, adminHeaders);
  if (res.errors || !res.data) throw new Error(JSON.stringify(res.errors));
  return res.data;
}

const createCategory = async (name: string, parentId?: string): Promise<string> =>
  (
    await adminOp(CreateCategoryDocument, {
      input: { name, ...(parentId ? { parentId } : {}) },
    })
  ).createCategory.id;

const createProduct = async (
  sku: string,
  categoryId: string,
  amount = 1000,
  name = sku,
): Promise<string> =>
  (
    await adminOp(CreateProductDocument, {
      input: { sku, name, categoryId, price: { amount, currency: 'EUR' } },
    })
  ).createProduct.id;

interface ProductPage {
  products: {
    edges: Array<{ node: { id: string; name: string }; cursor: string }>;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

describe('browsing the catalog', () => {
  let electronics: string;
  let phones: string;
  let android: string;
  let pixel: string;

  beforeAll(async () => {
    electronics = await createCategory('Electronics');
    phones = await createCategory('Phones', electronics);
    android = await createCategory('Android', phones);
    await createCategory('Laptops', electronics);
    pixel = await createProduct('tree-pixel', android, 59900, 'Pixel');
    await createProduct('tree-cable', electronics, 999, 'Cable');
  });

  it('lists the root categories with their children', async () => {
    const res = await stack.operation(RootCategoriesDocument, {});
    const root = res.data?.categories.find((c) => c.id === electronics);
    expect(root?.children.map((c) => c.name)).toEqual(['Phones', 'Laptops']);
  });

  it('reads a category with its parent, ancestors and path', async () => {
    const res = await stack.operation(CategoryPathDocument, { id: android });
    expect(res.data).toEqual({
      category: {
        name: 'Android',
        path: '/electronics/phones/android',
        depth: 2,
        parent: { name: 'Phones' },
        ancestors: [{ name: 'Electronics' }, { name: 'Phones' }],
      },
    });
  });

  it('filters products by a category subtree', async () => {
    const query = `query($f: ProductFilter) { products(filter: $f) { edges { node { name } } } }`;
    const subtree = await stack.query<ProductPage>(query, {
      f: { categoryId: electronics, includeSubcategories: true },
    });
    expect(subtree.data?.products.edges.map((e) => e.node.name).sort()).toEqual(['Cable', 'Pixel']);
    const own = await stack.query<ProductPage>(query, { f: { categoryId: electronics } });
    expect(own.data?.products.edges.map((e) => e.node.name)).toEqual(['Cable']);
  });

  it("lists a category's products from the products subgraph", async () => {
    const res = await stack.query<{
      category: { products: { edges: Array<{ node: { name: string } }> } };
    }>(
      'query($id: ID!) { category(id: $id) { products(first: 10) { edges { node { name } } } } }',
      { id: phones },
    );
    expect(res.data?.category.products.edges.map((e) => e.node.name)).toEqual(['Pixel']);
  });

  it('shows a product with its category path and live inventory', async () => {
    await admin('mutation($p: ID!) { setInitialStock(productId: $p, onHand: 5) { available } }', {
      p: pixel,
    });
    const adjusted = await admin<{ adjustStock: { onHand: number; available: number } }>(
      'mutation($p: ID!) { adjustStock(productId: $p, delta: 3, reason: "restock") { onHand available } }',
      { p: pixel },
    );
    expect(adjusted.adjustStock).toEqual({ onHand: 8, available: 8 });
    const res = await stack.query(
      `query($id: ID!) { product(id: $id) { sku name price { amount currency }
         category { name ancestors { name } } inventory { available reserved } } }`,
      { id: pixel },
    );
    expect(res).toEqual({
      status: 200,
      data: {
        product: {
          sku: 'tree-pixel',
          name: 'Pixel',
          price: { amount: 59900, currency: 'EUR' },
          category: { name: 'Android', ancestors: [{ name: 'Electronics' }, { name: 'Phones' }] },
          inventory: { available: 8, reserved: 0 },
        },
      },
    });
  });
});

describe('pagination', () => {
  it('walks every page with cursors, from the last edge or from the middle of a page', async () => {
    const cat = await createCategory('Paged');
    for (let i = 0; i < 5; i++) await createProduct(`page-${i}`, cat, 100 + i, `Paged ${i}`);
    const query = `query($after: String, $c: ID!) {
      products(filter: { categoryId: $c }, first: 2, after: $after, orderBy: NAME_ASC) {
        edges { node { name } cursor } pageInfo { hasNextPage endCursor } } }`;
    const names: string[] = [];
    let after: string | null = null;
    for (let guard = 0; guard < 5; guard++) {
      const res: { data?: ProductPage | null } = await stack.query<ProductPage>(query, {
        after,
        c: cat,
      });
      const page = res.data!.products;
      names.push(...page.edges.map((e) => e.node.name));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(names).toEqual(['Paged 0', 'Paged 1', 'Paged 2', 'Paged 3', 'Paged 4']);

    const first = await stack.query<ProductPage>(query.replace('first: 2', 'first: 3'), {
      after: null,
      c: cat,
    });
    const middle = first.data!.products.edges[0].cursor;
    const rest = await stack.query<ProductPage>(query, { after: middle, c: cat });
    expect(rest.data!.products.edges.map((e) => e.node.name)).toEqual(['Paged 1', 'Paged 2']);
  });

  it('rejects a forged cursor and an oversized page with BAD_USER_INPUT', async () => {
    const forged = await stack.query('{ products(after: "not-a-cursor") { edges { cursor } } }');
    expect(forged.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const huge = await stack.query('{ products(first: 1000) { edges { cursor } } }');
    expect(huge.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('admin mutations', () => {
  it('reports invalid input with field paths and a duplicate SKU as ALREADY_EXISTS', async () => {
    const cat = await createCategory('Admin');
    const bad = await stack.query(
      'mutation($c: ID!) { createProduct(input: { sku: "", name: "", categoryId: $c, price: { amount: -1, currency: "euro" } }) { id } }',
      { c: cat },
      adminHeaders,
    );
    expect(bad.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(bad.errors?.[0].extensions?.fieldViolations).toEqual(
      expect.arrayContaining([expect.objectContaining({ field: 'sku' })]),
    );
    await createProduct('admin-dup', cat);
    const dup = await stack.query(
      'mutation($c: ID!) { createProduct(input: { sku: "admin-dup", name: "x", categoryId: $c, price: { amount: 1, currency: "EUR" } }) { id } }',
      { c: cat },
      adminHeaders,
    );
    expect(dup.errors?.[0].extensions?.code).toBe('ALREADY_EXISTS');
    expect(JSON.stringify(dup)).not.toMatch(/grpc|stack|at \//i);
  });

  it('updates only the given fields', async () => {
    const cat = await createCategory('Updates');
    const id = await createProduct('upd-1', cat, 500, 'Before');
    const res = await admin<{ updateProduct: unknown }>(
      'mutation($id: ID!) { updateProduct(id: $id, input: { name: "After" }) { name sku price { amount } version } }',
      { id },
    );
    expect(res.updateProduct).toEqual({
      name: 'After',
      sku: 'upd-1',
      price: { amount: 500 },
      version: 2,
    });
  });

  it('answers an unknown product with null and unknown stock with NOT_FOUND', async () => {
    const res = await stack.query('{ product(id: "nope") { id } }');
    expect(res.data).toEqual({ product: null });
    const stock = await stack.query(
      'mutation { adjustStock(productId: "nope", delta: 1, reason: "x") { available } }',
      {},
      adminHeaders,
    );
    expect(stock.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });
});

describe('batching', () => {
  it('reads 50 products with category and inventory in one list, one category and one stock RPC', async () => {
    const cats = await Promise.all([0, 1, 2, 3, 4].map((i) => createCategory(`Bulk ${i}`)));
    for (let i = 0; i < 50; i++) {
      const id = await createProduct(`bulk-${i}`, cats[i % 5], 100 + i, `bulk-${i}`);
      if (i % 2 === 0) {
        await admin(
          'mutation($p: ID!) { setInitialStock(productId: $p, onHand: 3) { available } }',
          { p: id },
        );
      }
    }
    const m = stack.serviceMetrics;
    const before = {
      list: await rpcCount(m.product, 'ListProducts'),
      categories: await rpcCount(m.category, 'BatchGetCategories'),
      stock: await rpcCount(m.inventory, 'BatchGetStock'),
      getCategory: await rpcCount(m.category, 'GetCategory'),
      getStock: await rpcCount(m.inventory, 'GetStock'),
    };
    const res = await stack.query<ProductPage>(
      `{ products(filter: { nameQuery: "bulk-" }, first: 50) {
          edges { node { id name category { id name } inventory { available } } } } }`,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!.products.edges).toHaveLength(50);
    const after = {
      list: await rpcCount(m.product, 'ListProducts'),
      categories: await rpcCount(m.category, 'BatchGetCategories'),
      stock: await rpcCount(m.inventory, 'BatchGetStock'),
      getCategory: await rpcCount(m.category, 'GetCategory'),
      getStock: await rpcCount(m.inventory, 'GetStock'),
    };
    expect({
      list: after.list - before.list,
      categories: after.categories - before.categories,
      stock: after.stock - before.stock,
      getCategory: after.getCategory - before.getCategory,
      getStock: after.getStock - before.getStock,
    }).toEqual({ list: 1, categories: 1, stock: 1, getCategory: 0, getStock: 0 });
  });
});

describe('a backing service going down', () => {
  it('gives partial data with SERVICE_UNAVAILABLE, then recovers when it returns', async () => {
    const cat = await createCategory('Outage');
    const id = await createProduct('outage-1', cat);
    await admin('mutation($p: ID!) { setInitialStock(productId: $p, onHand: 2) { available } }', {
      p: id,
    });
    const query = 'query($id: ID!) { product(id: $id) { name inventory { available } } }';

    await stack.stopInventory();
    const down = await stack.query(query, { id });
    expect(down.data).toEqual({ product: { name: 'outage-1', inventory: null } });
    expect(down.errors?.map((e) => e.extensions?.code)).toEqual(['SERVICE_UNAVAILABLE']);
    expect(down.errors?.[0].path).toEqual(['product', 'inventory']);

    await stack.restartInventory();
    const back = await waitFor(
      'the inventory to answer again',
      async () => {
        const res = await stack.query(query, { id });
        return res.errors === undefined ? res : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(back.data).toEqual({ product: { name: 'outage-1', inventory: { available: 2 } } });
  });
});
