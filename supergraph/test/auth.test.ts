import { Metadata, status } from '@grpc/grpc-js';
import { createGrpcClient, identityMetadata, type PromiseClient } from '@shop/platform';
import { category, inventory, notification, order, product, user } from '@shop/proto';
import { badCredentials, passwordGrantToken, testEnv, uniqueId, waitFor } from '@shop/testing';
import { startStack, type Stack } from './harness';

// Production-like auth end to end: the gateway, every subgraph and every service verify real
// Keycloak tokens (jose against the realm's JWKS); nothing trusts identity headers.
const { oidcIssuerUrl: issuer } = testEnv();
let stack: Stack;
let tokens: { admin: string; alice: string; bob: string };
/** A category the admin creates first; the product writes below file under it. */
let categoryId: string;

const passwordToken = (username: string, password: string) =>
  passwordGrantToken(issuer, username, password);

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  stack = await startStack('auth', { orders: true, tokens: true });
  tokens = {
    admin: await passwordToken('admin@shop.local', 'admin-password'),
    alice: await passwordToken('alice@shop.local', 'alice-password'),
    bob: await passwordToken('bob@shop.local', 'bob-password'),
  };
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

const codes = (res: { errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> }) =>
  (res.errors ?? []).map((e) => e.extensions?.['code']);

const CREATE_PRODUCT =
  'mutation($input: CreateProductInput!) { createProduct(input: $input) { id name } }';

describe('auth through the gateway with real Keycloak tokens', () => {
  let productId: string;

  beforeAll(async () => {
    const category = await stack.query<{ createCategory: { id: string } }>(
      'mutation($input: CreateCategoryInput!) { createCategory(input: $input) { id } }',
      { input: { name: uniqueId('Auth') } },
      bearer(tokens.admin),
    );
    expect(category.errors).toBeUndefined();
    categoryId = category.data!.createCategory.id;
  });

  it('lets the admin create a product and stock it', async () => {
    const res = await stack.query<{ createProduct: { id: string; name: string } }>(
      CREATE_PRODUCT,
      {
        input: {
          sku: uniqueId('AUTH'),
          name: 'Guarded lamp',
          categoryId,
          price: { amount: 2_500, currency: 'EUR' },
        },
      },
      bearer(tokens.admin),
    );
    expect(res.errors).toBeUndefined();
    productId = res.data!.createProduct.id;
    const stocked = await stack.query(
      'mutation($p: ID!, $n: Int!) { setInitialStock(productId: $p, onHand: $n) { available } }',
      { p: productId, n: 20 },
      bearer(tokens.admin),
    );
    expect(stocked.errors).toBeUndefined();
  });

  it('refuses a customer the admin mutation with FORBIDDEN', async () => {
    const res = await stack.query(
      CREATE_PRODUCT,
      {
        input: {
          sku: uniqueId('NOPE'),
          name: 'Not allowed',
          categoryId,
          price: { amount: 1, currency: 'EUR' },
        },
      },
      bearer(tokens.alice),
    );
    expect(codes(res)).toEqual(['FORBIDDEN']);
  });

  it('lets an anonymous caller browse the catalog but not place an order', async () => {
    const browse = await stack.query<{ product: { name: string } | null }>(
      'query($id: ID!) { product(id: $id) { name } }',
      { id: productId },
    );
    expect(browse.errors).toBeUndefined();
    expect(browse.data?.product?.name).toBe('Guarded lamp');

    const order = await stack.query(
      'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }',
      { input: placeInput(productId) },
    );
    expect(codes(order)).toEqual(['UNAUTHENTICATED']);
  });

  it('ignores forged identity headers: without a token the caller is anonymous', async () => {
    const res = await stack.query(
      CREATE_PRODUCT,
      {
        input: {
          sku: uniqueId('FORGED'),
          name: 'x',
          categoryId,
          price: { amount: 1, currency: 'EUR' },
        },
      },
      { 'x-shop-subject': 'root', 'x-shop-roles': 'admin', 'x-shop-caller-kind': 'user' },
    );
    expect(codes(res)).toEqual(['UNAUTHENTICATED']);
  });

  it.each([
    ['garbage', 'not-a-jwt'],
    ['tampered', () => tamper(tokens.admin)],
  ])(
    'answers a %s token with UNAUTHENTICATED, HTTP 401 and a Bearer challenge',
    async (_name, token) => {
      const value = typeof token === 'function' ? token() : token;
      const res = await stack.query('{ categories { id } }', {}, bearer(value));
      expect(res.status).toBe(401);
      expect(codes(res)).toEqual(['UNAUTHENTICATED']);
      // The challenge RFC 6750 asks for, so HTTP clients know to get a new token.
      const raw = await fetch(stack.gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(value) },
        body: JSON.stringify({ query: '{ categories { id } }' }),
      });
      expect(raw.status).toBe(401);
      expect(raw.headers.get('www-authenticate')).toMatch(
        /^Bearer realm="shop", error="invalid_token"/,
      );
    },
  );

  it("lets Alice place and read her order, and answers Bob's attempts with NOT_FOUND", async () => {
    const placed = await stack.query<{ placeOrder: { id: string; status: string } }>(
      'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }',
      { input: placeInput(productId) },
      bearer(tokens.alice),
    );
    expect(placed.errors).toBeUndefined();
    const orderId = placed.data!.placeOrder.id;

    const final = await waitFor(
      'the order to be confirmed',
      async () => {
        const res = await stack.query<{ order: { status: string } | null }>(
          'query($id: ID!) { order(id: $id) { status } }',
          { id: orderId },
          bearer(tokens.alice),
        );
        const s = res.data?.order?.status;
        return s && s !== 'PENDING' ? s : undefined;
      },
      { timeoutMs: 40_000 },
    );
    expect(final).toBe('CONFIRMED');

    const read = await stack.query(
      'query($id: ID!) { order(id: $id) { id } }',
      { id: orderId },
      bearer(tokens.bob),
    );
    expect(read.data).toEqual({ order: null });
    expect(codes(read)).toEqual(['NOT_FOUND']);
    const cancel = await stack.query(
      'mutation($id: ID!) { cancelOrder(id: $id) { id } }',
      { id: orderId },
      bearer(tokens.bob),
    );
    expect(codes(cancel)).toEqual(['NOT_FOUND']);
  });
});

describe('sign-up', () => {
  const REGISTER = `mutation($input: RegisterInput!) { register(input: $input) { id email name } }`;

  it('registers a customer who can then log in and place an order', async () => {
    const email = `${uniqueId('newcomer')}@shop.local`.toLowerCase();
    const registered = await stack.query<{ register: { id: string; email: string; name: string } }>(
      REGISTER,
      { input: { email, password: 'a-good-passphrase', name: 'Nova Newcomer' } },
    );
    expect(registered.errors).toBeUndefined();
    expect(registered.data?.register).toMatchObject({ email, name: 'Nova Newcomer' });

    const token = await passwordToken(email, 'a-good-passphrase');
    const me = await stack.query<{ me: { id: string; email: string } }>(
      '{ me { id email } }',
      {},
      bearer(token),
    );
    expect(me.data?.me).toEqual({ id: registered.data!.register.id, email });

    const productId = await stockedProduct();
    const placed = await stack.query<{ placeOrder: { id: string; customer: { id: string } } }>(
      'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id customer { id } } }',
      { input: placeInput(productId) },
      bearer(token),
    );
    expect(placed.errors).toBeUndefined();
    expect(placed.data?.placeOrder.customer.id).toBe(registered.data!.register.id);

    const again = await stack.query(REGISTER, {
      input: { email, password: 'another-passphrase', name: 'Copycat' },
    });
    expect(codes(again)).toEqual(['ALREADY_EXISTS']);
  });

  it.each([
    ['a short password', { email: 'short@shop.local', password: 'short', name: 'S' }, 'password'],
    ['a malformed email', { email: 'not-an-email', password: 'long-enough-1', name: 'M' }, 'email'],
    ['an empty name', { email: 'noname@shop.local', password: 'long-enough-1', name: ' ' }, 'name'],
  ])('refuses %s with BAD_USER_INPUT naming the field', async (_name, input, field) => {
    const res = await stack.query(REGISTER, { input });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(JSON.stringify(res.errors)).toContain(field);
  });
});

describe('services verify tokens themselves, for callers that skip the gateway', () => {
  let products: PromiseClient<typeof product.ProductServiceService>;
  beforeAll(() => {
    products = createGrpcClient(
      'shop.product.v1.ProductService',
      product.ProductServiceService,
      `127.0.0.1:${stack.grpcPorts['product']}`,
      { deadlineMs: 10_000 },
    );
  });
  afterAll(() => products.close());

  const create = (metadata: Metadata) =>
    products.createProduct(
      product.CreateProductRequest.fromPartial({
        sku: uniqueId('DIRECT'),
        name: 'Direct',
        categoryId,
        price: { amount: 100, currency: 'EUR' },
      }),
      { metadata },
    );
  const withToken = (token: string) => {
    const md = new Metadata();
    md.set('authorization', `Bearer ${token}`);
    return md;
  };

  it.each([
    ['forged admin headers and no token', () => forgedAdmin(), status.UNAUTHENTICATED],
    ['a garbage token', () => withToken('garbage'), status.UNAUTHENTICATED],
    ['a tampered token', () => withToken(tamper(tokens.admin)), status.UNAUTHENTICATED],
    ["a customer's token", () => withToken(tokens.alice), status.PERMISSION_DENIED],
  ])('refuses CreateProduct with %s', async (_name, metadata, code) => {
    await expect(create(metadata())).rejects.toMatchObject({ code });
  });

  it("accepts the admin's token", async () => {
    const res = await create(withToken(tokens.admin));
    expect(res.product?.id).toBeTruthy();
  });
});

/** A product with stock, created by the admin (the test's own, so it runs alone too). */
async function stockedProduct(): Promise<string> {
  const category = await stack.query<{ createCategory: { id: string } }>(
    'mutation($input: CreateCategoryInput!) { createCategory(input: $input) { id } }',
    { input: { name: uniqueId('Signup') } },
    bearer(tokens.admin),
  );
  const created = await stack.query<{ createProduct: { id: string } }>(
    CREATE_PRODUCT,
    {
      input: {
        sku: uniqueId('SIGNUP'),
        name: 'Welcome mug',
        categoryId: category.data!.createCategory.id,
        price: { amount: 900, currency: 'EUR' },
      },
    },
    bearer(tokens.admin),
  );
  const productId = created.data!.createProduct.id;
  const stocked = await stack.query(
    'mutation($p: ID!, $n: Int!) { setInitialStock(productId: $p, onHand: $n) { available } }',
    { p: productId, n: 5 },
    bearer(tokens.admin),
  );
  expect(stocked.errors).toBeUndefined();
  return productId;
}

/** Identity headers claiming admin, the way a caller without a token might try. */
function forgedAdmin(): Metadata {
  return identityMetadata({ kind: 'user', subject: 'root', roles: ['admin'] }, new Metadata());
}

/** The token with its payload changed (roles added) and the original signature kept. */
function tamper(token: string): string {
  const [header, payload, signature] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<
    string,
    unknown
  >;
  claims['realm_access'] = { roles: ['admin', 'customer'] };
  claims['sub'] = 'someone-else';
  return [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
}

function placeInput(productId: string) {
  return {
    items: [{ productId, quantity: 1 }],
    shippingAddress: {
      recipientName: 'Alice',
      line1: 'Street 1',
      city: 'Berlin',
      postalCode: '10115',
      countryCode: 'DE',
    },
    paymentMethod: 'pm_card_visa',
    idempotencyKey: uniqueId('auth-key'),
  };
}

describe('a table of bad credentials, refused at the gateway and by every service', () => {
  let table: Array<[string, string | undefined]>;
  beforeAll(async () => {
    table = await badCredentials(issuer);
  });

  const metadataFor = (authorization: string | undefined) => {
    const md = new Metadata();
    if (authorization !== undefined) md.set('authorization', authorization);
    return md;
  };
  const address = (name: string) => `127.0.0.1:${stack.grpcPorts[name]}`;
  /** One RPC per service that needs a signed-in caller (operators, or the user themselves). */
  const calls: Array<[string, (md: Metadata) => Promise<unknown>]> = [
    [
      'product',
      (md) => {
        const c = createGrpcClient(
          'shop.product.v1.ProductService',
          product.ProductServiceService,
          address('product'),
        );
        return c
          .createProduct(product.CreateProductRequest.fromPartial({ sku: 'X', name: 'x' }), {
            metadata: md,
          })
          .finally(() => c.close());
      },
    ],
    [
      'category',
      (md) => {
        const c = createGrpcClient(
          'shop.category.v1.CategoryService',
          category.CategoryServiceService,
          address('category'),
        );
        return c
          .createCategory(category.CreateCategoryRequest.fromPartial({ name: 'x' }), {
            metadata: md,
          })
          .finally(() => c.close());
      },
    ],
    [
      'inventory',
      (md) => {
        const c = createGrpcClient(
          'shop.inventory.v1.InventoryService',
          inventory.InventoryServiceService,
          address('inventory'),
        );
        return c
          .listMovements(inventory.ListMovementsRequest.fromPartial({ productId: 'x' }), {
            metadata: md,
          })
          .finally(() => c.close());
      },
    ],
    [
      'user',
      (md) => {
        const c = createGrpcClient(
          'shop.user.v1.UserService',
          user.UserServiceService,
          address('user'),
        );
        return c.getUser({ id: 'x' }, { metadata: md }).finally(() => c.close());
      },
    ],
    [
      'order',
      (md) => {
        const c = createGrpcClient(
          'shop.order.v1.OrderService',
          order.OrderServiceService,
          address('order'),
        );
        return c.getOrder({ id: 'x' }, { metadata: md }).finally(() => c.close());
      },
    ],
    [
      'notification',
      (md) => {
        const c = createGrpcClient(
          'shop.notification.v1.NotificationService',
          notification.NotificationServiceService,
          address('notification'),
        );
        return c
          .listNotifications(notification.ListNotificationsRequest.fromPartial({}), {
            metadata: md,
          })
          .finally(() => c.close());
      },
    ],
  ];

  it.each(calls)('the %s service answers each with UNAUTHENTICATED', async (_name, call) => {
    const outcome: Record<string, string> = {};
    for (const [name, authorization] of table) {
      outcome[name] = await call(metadataFor(authorization)).then(
        () => 'accepted',
        (err: { code?: number }) => status[err.code ?? status.UNKNOWN],
      );
    }
    expect(outcome).toEqual(Object.fromEntries(table.map(([name]) => [name, 'UNAUTHENTICATED'])));
  });

  it('the gateway answers each with UNAUTHENTICATED (HTTP 401 when a credential was sent)', async () => {
    const outcome: Record<string, string> = {};
    for (const [name, authorization] of table) {
      const res = await stack.query(
        '{ me { id } }',
        {},
        authorization === undefined ? {} : { authorization },
      );
      outcome[name] = `${res.status} ${(codes(res)[0] as string | undefined) ?? 'ok'}`;
    }
    expect(outcome).toEqual(
      Object.fromEntries(
        table.map(([name, authorization]) => [
          name,
          `${authorization === undefined ? 200 : 401} UNAUTHENTICATED`,
        ]),
      ),
    );
  });
});
