import { uniqueId, waitFor } from '@shop/testing';
import { adminHeaders, startStack, type Stack } from './harness';

// The whole order path through the gateway: catalog, inventory, order (deterministic test
// payments) and notification services, all real, in-process.
let stack: Stack;
beforeAll(async () => {
  stack = await startStack('orders', { orders: true });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

/** Identity headers of a shopper (trusted by the test gateway). */
const shopper = (subject = uniqueId('shopper')): Record<string, string> => ({
  'x-shop-subject': subject,
  'x-shop-roles': 'customer',
  'x-shop-caller-kind': 'user',
  'x-shop-email': `${subject}@shop.local`,
});

/** Runs an operation and returns its data, failing loudly on errors. */
async function ok<T>(
  query: string,
  variables: Record<string, unknown>,
  headers: Record<string, string>,
): Promise<T> {
  const res = await stack.query<T>(query, variables, headers);
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data as T;
}

const address = {
  recipientName: 'Ada Lovelace',
  line1: 'Street 1',
  city: 'Berlin',
  postalCode: '10115',
  countryCode: 'DE',
};

const PLACE = `mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) {
    id status total { amount currency } customer { id }
    items { quantity unitPrice { amount currency } lineTotal { amount } product { id name } }
  }
}`;

interface PlacedOrder {
  id: string;
  status: string;
  total: { amount: number; currency: string };
  customer: { id: string };
  items: Array<{
    quantity: number;
    unitPrice: { amount: number; currency: string };
    lineTotal: { amount: number };
    product: { id: string; name: string };
  }>;
}

let lamp: string;
let vase: string;

beforeAll(async () => {
  const { createCategory } = await ok<{ createCategory: { id: string } }>(
    'mutation($input: CreateCategoryInput!) { createCategory(input: $input) { id } }',
    { input: { name: 'Home' } },
    adminHeaders,
  );
  const create = async (sku: string, name: string, amount: number, onHand: number) => {
    const { createProduct } = await ok<{ createProduct: { id: string } }>(
      'mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }',
      { input: { sku, name, categoryId: createCategory.id, price: { amount, currency: 'EUR' } } },
      adminHeaders,
    );
    await ok(
      'mutation($p: ID!, $n: Int!) { setInitialStock(productId: $p, onHand: $n) { available } }',
      { p: createProduct.id, n: onHand },
      adminHeaders,
    );
    return createProduct.id;
  };
  lamp = await create(uniqueId('LAMP'), 'Lamp', 1_500, 100);
  vase = await create(uniqueId('VASE'), 'Vase', 9_900, 100);
}, 60_000);

const place = (headers: Record<string, string>, items = [{ productId: lamp, quantity: 2 }]) =>
  ok<{ placeOrder: PlacedOrder }>(
    PLACE,
    {
      input: {
        items,
        shippingAddress: address,
        paymentMethod: 'pm_card_visa',
        idempotencyKey: uniqueId('key'),
      },
    },
    headers,
  ).then((d) => d.placeOrder);

const statusOf = async (id: string, headers: Record<string, string>) =>
  (
    await ok<{ order: { status: string; cancellationReason: string | null } }>(
      'query($id: ID!) { order(id: $id) { status cancellationReason } }',
      { id },
      headers,
    )
  ).order;

describe('placing an order through the gateway', () => {
  it('places an order as PENDING with product names resolved across subgraphs, then CONFIRMED', async () => {
    const me = shopper();
    const placed = await place(me, [
      { productId: lamp, quantity: 2 },
      { productId: vase, quantity: 1 },
    ]);
    expect(placed).toMatchObject({
      status: 'PENDING',
      total: { amount: 2 * 1_500 + 9_900, currency: 'EUR' },
      customer: { id: me['x-shop-subject'] },
      items: [
        {
          quantity: 2,
          unitPrice: { amount: 1_500, currency: 'EUR' },
          lineTotal: { amount: 3_000 },
          product: { id: lamp, name: 'Lamp' },
        },
        {
          quantity: 1,
          unitPrice: { amount: 9_900, currency: 'EUR' },
          lineTotal: { amount: 9_900 },
          product: { id: vase, name: 'Vase' },
        },
      ],
    });

    const confirmed = await waitFor(
      `order ${placed.id} to be confirmed`,
      async () => {
        const o = await statusOf(placed.id, me);
        return o.status === 'PENDING' ? undefined : o;
      },
      { timeoutMs: 40_000 },
    );
    expect(confirmed).toEqual({ status: 'CONFIRMED', cancellationReason: null });

    // Read back with the product's live data (name, category, inventory) from three subgraphs.
    const read = await ok<{
      order: {
        statusHistory: Array<{ status: string }>;
        items: Array<{ product: { name: string; inventory: { available: number } | null } }>;
      };
    }>(
      `query($id: ID!) { order(id: $id) { statusHistory { status }
         items { product { name category { name } inventory { available } } } } }`,
      { id: placed.id },
      me,
    );
    expect(read.order.statusHistory.map((s) => s.status)).toEqual(['PENDING', 'CONFIRMED']);
    expect(read.order.items.map((i) => i.product.name)).toEqual(['Lamp', 'Vase']);
    expect(read.order.items[0]?.product.inventory?.available).toBeLessThanOrEqual(98);
  });

  it('pages through myOrders, newest first, and shows them on the user', async () => {
    const me = shopper();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await place(me)).id);
    const page = (after: string | null) =>
      ok<{
        myOrders: {
          edges: Array<{ node: { id: string }; cursor: string }>;
          pageInfo: { hasNextPage: boolean; endCursor: string | null };
        };
      }>(
        'query($after: String) { myOrders(first: 2, after: $after) { edges { node { id } cursor } pageInfo { hasNextPage endCursor } } }',
        { after },
        me,
      ).then((d) => d.myOrders);
    const first = await page(null);
    expect(first.edges.map((e) => e.node.id)).toEqual([ids[2], ids[1]]);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = await page(first.pageInfo.endCursor);
    expect(second.edges.map((e) => e.node.id)).toEqual([ids[0]]);
    expect(second.pageInfo.hasNextPage).toBe(false);

    // Order.customer is a User reference; User.orders comes back from the orders subgraph.
    const viaUser = await ok<{ order: { customer: { id: string; orders: { edges: unknown[] } } } }>(
      'query($id: ID!) { order(id: $id) { customer { id orders(first: 10) { edges { node { id } } } } } }',
      { id: ids[0] },
      me,
    );
    expect(viaUser.order.customer.orders.edges).toHaveLength(3);
  });

  it('cancels an order', async () => {
    const me = shopper();
    const placed = await place(me);
    const { cancelOrder } = await ok<{
      cancelOrder: { status: string; cancellationReason: string };
    }>(
      'mutation($id: ID!) { cancelOrder(id: $id) { status cancellationReason } }',
      { id: placed.id },
      me,
    );
    expect(cancelOrder).toEqual({ status: 'CANCELLED', cancellationReason: 'CUSTOMER_CANCELLED' });
    const again = await stack.query(
      'mutation($id: ID!) { cancelOrder(id: $id) { status } }',
      { id: placed.id },
      me,
    );
    expect(again.errors?.[0]?.extensions?.code).toBe('FAILED_PRECONDITION');
  });

  it("answers NOT_FOUND for another customer's order", async () => {
    const placed = await place(shopper());
    const res = await stack.query(
      'query($id: ID!) { order(id: $id) { id status } }',
      {
        id: placed.id,
      },
      shopper(),
    );
    expect(res.data).toEqual({ order: null });
    expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
    const cancel = await stack.query(
      'mutation($id: ID!) { cancelOrder(id: $id) { id } }',
      { id: placed.id },
      shopper(),
    );
    expect(cancel.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('rejects invalid input with BAD_USER_INPUT and anonymous callers with UNAUTHENTICATED', async () => {
    const res = await stack.query(
      PLACE,
      {
        input: {
          items: [{ productId: lamp, quantity: 0 }],
          shippingAddress: address,
          paymentMethod: 'pm_card_visa',
          idempotencyKey: uniqueId('key'),
        },
      },
      shopper(),
    );
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    // The schema and the service agree that an order needs somewhere to go.
    const nowhere = await stack.query(
      PLACE,
      {
        input: {
          items: [{ productId: lamp, quantity: 1 }],
          paymentMethod: 'pm_card_visa',
          idempotencyKey: uniqueId('key'),
        },
      },
      shopper(),
    );
    expect(nowhere.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(nowhere.errors?.[0]?.message).toMatch(/shippingAddress/);
    // An unknown product is the caller's mistake too, and the error names the line.
    const unknown = await stack.query(
      PLACE,
      {
        input: {
          items: [{ productId: uniqueId('no-such-product'), quantity: 1 }],
          shippingAddress: address,
          paymentMethod: 'pm_card_visa',
          idempotencyKey: uniqueId('key'),
        },
      },
      shopper(),
    );
    expect(unknown.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'PRODUCT_NOT_FOUND',
      fieldViolations: [{ field: 'items[0].productId', description: 'no such product' }],
    });
    const anonymous = await stack.query('{ myOrders { edges { node { id } } } }');
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('cancels an order asynchronously when stock runs out (OUT_OF_STOCK)', async () => {
    const me = shopper();
    const placed = await place(me, [{ productId: vase, quantity: 1_000 }]);
    expect(placed.status).toBe('PENDING');
    const settled = await waitFor(
      `order ${placed.id} to settle`,
      async () => {
        const o = await statusOf(placed.id, me);
        return o.status === 'PENDING' ? undefined : o;
      },
      { timeoutMs: 40_000 },
    );
    expect(settled).toEqual({ status: 'CANCELLED', cancellationReason: 'OUT_OF_STOCK' });
  });

  it("lists the customer's notifications about their orders", async () => {
    const me = shopper();
    const placed = await place(me);
    const notes = await waitFor(
      'a notification',
      async () => {
        const { myNotifications } = await ok<{
          myNotifications: {
            edges: Array<{
              node: { template: string; channel: string | null; order: { id: string } | null };
            }>;
          };
        }>(
          '{ myNotifications(first: 10) { edges { node { template channel status order { id } } } } }',
          {},
          me,
        );
        return myNotifications.edges.length > 0 ? myNotifications.edges : undefined;
      },
      { timeoutMs: 40_000 },
    );
    expect(notes[0]?.node).toMatchObject({ channel: 'EMAIL', order: { id: placed.id } });
  });
});
