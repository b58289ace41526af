import { SUBSCRIPTION_CLOSE_CODES } from '@shop/supergraph';
import { passwordGrantToken, testEnv, uniqueId, waitFor } from '@shop/testing';
import type { FormattedExecutionResult as ExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { startStack, type Stack } from './harness';

// Subscriptions end to end: real graphql-ws clients against the gateway, events from the real
// Kafka topics of the stack's services, real Keycloak tokens everywhere.
const { oidcIssuerUrl: issuer } = testEnv();
let stack: Stack;
let tokens: { admin: string; alice: string; bob: string };
let categoryId: string;
const clients: Client[] = [];

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  stack = await startStack('subs', {
    orders: true,
    tokens: true,
    subscriptions: true,
    gatewayEnv: {
      SUBSCRIPTIONS_PER_CONNECTION: '40',
      SUBSCRIPTION_MAX_QUEUED: '8',
      SUBSCRIPTION_MAX_BUFFERED_BYTES: '65536',
    },
  });
  tokens = {
    admin: await passwordGrantToken(issuer, 'admin@shop.local', 'admin-password'),
    alice: await passwordGrantToken(issuer, 'alice@shop.local', 'alice-password'),
    bob: await passwordGrantToken(issuer, 'bob@shop.local', 'bob-password'),
  };
  const category = await stack.query<{ createCategory: { id: string } }>(
    'mutation($input: CreateCategoryInput!) { createCategory(input: $input) { id } }',
    { input: { name: uniqueId('Live') } },
    bearer(tokens.admin),
  );
  expect(category.errors).toBeUndefined();
  categoryId = category.data!.createCategory.id;
}, 120_000);
afterAll(async () => {
  for (const c of clients) await c.dispose();
  await stack?.stop();
});

/** A stocked product created by the admin through the gateway. */
async function stockedProduct(name: string, onHand: number, description = ''): Promise<string> {
  const created = await stack.query<{ createProduct: { id: string } }>(
    'mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }',
    {
      input: {
        sku: uniqueId('LIVE'),
        name,
        description,
        categoryId,
        price: { amount: 1_250, currency: 'EUR' },
      },
    },
    bearer(tokens.admin),
  );
  expect(created.errors).toBeUndefined();
  const id = created.data!.createProduct.id;
  const stocked = await stack.query(
    'mutation($p: ID!, $n: Int!) { setInitialStock(productId: $p, onHand: $n) { available } }',
    { p: id, n: onHand },
    bearer(tokens.admin),
  );
  expect(stocked.errors).toBeUndefined();
  return id;
}

const adjust = (productId: string, delta: number) =>
  stack.query(
    'mutation($p: ID!, $d: Int!, $k: String) { adjustStock(productId: $p, delta: $d, reason: "count", idempotencyKey: $k) { available } }',
    { p: productId, d: delta, k: uniqueId('adj') },
    bearer(tokens.admin),
  );

const placeOrder = async (productId: string, token: string, quantity = 1): Promise<string> => {
  const placed = await stack.query<{ placeOrder: { id: string; status: string } }>(
    'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }',
    {
      input: {
        items: [{ productId, quantity }],
        shippingAddress: {
          recipientName: 'Alice',
          line1: 'Street 1',
          city: 'Berlin',
          postalCode: '10115',
          countryCode: 'DE',
        },
        paymentMethod: 'pm_card_visa',
        idempotencyKey: uniqueId('live-order'),
      },
    },
    bearer(token),
  );
  expect(placed.errors).toBeUndefined();
  return placed.data!.placeOrder.id;
};

interface Connected {
  client: Client;
  /** The first close event of the connection. */
  closed: Promise<{ code: number; reason: string }>;
}

/** A graphql-ws client (the `ws` implementation) with an optional token in connection_init. */
function connect(token?: string, retry = false): Connected {
  let onClosed: (e: { code: number; reason: string }) => void = () => undefined;
  const closed = new Promise<{ code: number; reason: string }>((r) => (onClosed = r));
  const client = createClient({
    url: stack.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: token === undefined ? {} : bearer(token),
    retryAttempts: retry ? 150 : 0,
    retryWait: () => new Promise((r) => setTimeout(r, 200)),
    shouldRetry: () => retry,
    on: {
      closed: (event) => {
        const e = event as { code: number; reason: string | Buffer };
        onClosed({ code: e.code, reason: String(e.reason) });
      },
    },
  });
  clients.push(client);
  return { client, closed };
}

/** Collects a subscription's messages; `until` waits for one matching a predicate. */
function collect<T>(client: Client, query: string, variables: Record<string, unknown> = {}) {
  const results: Array<ExecutionResult<T>> = [];
  let error: unknown;
  let completed = false;
  const dispose = client.subscribe<T>(
    { query, variables },
    {
      next: (r) => void results.push(r as ExecutionResult<T>),
      error: (e) => {
        error = e;
      },
      complete: () => {
        completed = true;
      },
    },
  );
  return {
    results,
    dispose,
    get error() {
      return error;
    },
    get completed() {
      return completed;
    },
    until: (predicate: (r: ExecutionResult<T>) => boolean, timeoutMs = 30_000) =>
      waitFor(`a message on ${query.slice(0, 40)}`, () => results.find(predicate), {
        timeoutMs,
        intervalMs: 25,
      }),
  };
}

const STOCK = `subscription($p: ID!) {
  stockChanged(productId: $p) { productId available onHand version product { name } }
}`;
type StockData = {
  stockChanged: {
    productId: string;
    available: number;
    onHand: number;
    version: number;
    product: { name: string };
  };
};

const ORDER = `subscription($o: ID!) {
  orderStatusChanged(orderId: $o) { id status items { quantity product { name } } }
}`;
type OrderData = {
  orderStatusChanged: {
    id: string;
    status: string;
    items: Array<{ quantity: number; product: { name: string } }>;
  } | null;
};

describe('stockChanged', () => {
  it('delivers the current stock first, then each change, to subscribers of that product only', async () => {
    const lamp = await stockedProduct('Live lamp', 20);
    const desk = await stockedProduct('Live desk', 7);
    const { client } = connect();
    const lampStock = collect<StockData>(client, STOCK, { p: lamp });
    const deskStock = collect<StockData>(client, STOCK, { p: desk });

    const first = await lampStock.until(() => true);
    expect(first.data?.stockChanged).toMatchObject({
      available: 20,
      product: { name: 'Live lamp' },
    });
    await deskStock.until((r) => r.data?.stockChanged.available === 7);

    // An admin adjustment, then an order reserving stock: each reaches the lamp's subscriber.
    expect((await adjust(lamp, 5)).errors).toBeUndefined();
    await lampStock.until((r) => r.data?.stockChanged.available === 25);
    await placeOrder(lamp, tokens.alice, 2);
    await lampStock.until((r) => r.data?.stockChanged.available === 23);

    const availabilities = lampStock.results.map((r) => r.data?.stockChanged.available);
    expect(availabilities.slice(0, 3)).toEqual([20, 25, 23]);
    // Versions only grow: events of one product arrive in order.
    const versions = lampStock.results.map((r) => r.data!.stockChanged.version);
    expect([...versions].sort((a, b) => a - b)).toEqual(versions);
    // The desk did not change: its subscriber got its current state and nothing else.
    expect(deskStock.results.map((r) => r.data?.stockChanged.available)).toEqual([7]);
    expect(lampStock.error).toBeUndefined();
  });

  it('cuts off a client that stops reading while other subscribers keep receiving', async () => {
    const description = 'A very long description. '.repeat(190);
    const shelf = await stockedProduct('Live shelf', 1_000, description);
    const fast = collect<StockData>(connect().client, STOCK, { p: shelf });
    await fast.until(() => true);

    // A raw socket that subscribes 40 times to the shelf with its description, then stops
    // reading: the gateway's send buffer fills and the connection must be cut.
    const slow = new WebSocket(stack.wsUrl, 'graphql-transport-ws');
    const slowClosed = new Promise<number>((r) => slow.once('close', (code) => r(code)));
    await new Promise((r) => slow.once('open', r));
    slow.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    await new Promise((r) => slow.once('message', r));
    let received = 0;
    slow.on('message', () => (received += 1));
    for (let i = 0; i < 40; i += 1) {
      slow.send(
        JSON.stringify({
          id: String(i),
          type: 'subscribe',
          payload: {
            query:
              'subscription($p: ID!) { stockChanged(productId: $p) { available product { description } } }',
            variables: { p: shelf },
          },
        }),
      );
    }
    await waitFor('the condition', () => (received >= 40 ? true : undefined), {
      timeoutMs: 20_000,
    });
    slow.pause();
    const before = stack.gateway.subscriptions!.stats();

    let target = 1_000;
    for (
      let i = 0;
      i < 200 && stack.gateway.subscriptions!.stats().connections >= before.connections;
      i += 1
    ) {
      expect((await adjust(shelf, 1)).errors).toBeUndefined();
      target += 1;
    }
    await waitFor(
      'the condition',
      () =>
        stack.gateway.subscriptions!.stats().connections < before.connections ? true : undefined,
      { timeoutMs: 20_000 },
    );
    // The slow connection is gone with all of its subscriptions; the fast one saw the last change.
    expect(stack.gateway.subscriptions!.stats().subscriptions).toBe(before.subscriptions - 40);
    await fast.until((r) => r.data?.stockChanged.available === target);
    expect(fast.error).toBeUndefined();
    slow.resume();
    expect([SUBSCRIPTION_CLOSE_CODES.slowConsumer, 1006]).toContain(await slowClosed);
    const metrics = await (
      await fetch(`http://127.0.0.1:${stack.gateway.metricsPort}/metrics`)
    ).text();
    expect(metrics).toMatch(/gateway_ws_disconnects_total\{reason="slow_consumer"[^}]*\} [1-9]/);
  });
});

/** A raw graphql-transport-ws socket holding one subscription with id "1", keeping its frames. */
async function rawSubscription(query: string, variables: Record<string, unknown>) {
  const socket = new WebSocket(stack.wsUrl, 'graphql-transport-ws');
  const frames: Array<{ text: string; binary: boolean }> = [];
  await new Promise((r) => socket.once('open', r));
  socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
  await new Promise((r) => socket.once('message', r));
  socket.on('message', (data: Buffer, binary: boolean) =>
    frames.push({ text: data.toString(), binary }),
  );
  socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables } }));
  return { socket, frames };
}

/** The gateway's counters for one subscription field. */
async function subscriptionCounters(field: string) {
  const metrics = await (
    await fetch(`http://127.0.0.1:${stack.gateway.metricsPort}/metrics`)
  ).text();
  const sum = (name: string) =>
    [...metrics.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\d+)$`, 'gm'))]
      .filter((m) => m[1].includes(`field="${field}"`))
      .reduce((n, m) => n + Number(m[2]), 0);
  return {
    executions: sum('gateway_subscription_executions_total'),
    serialisations: sum('gateway_subscription_serialisations_total'),
    messages: sum('gateway_subscription_messages_total'),
  };
}

describe('stockChanged fan-out', () => {
  it('serialises each change once for a feed, and its subscribers receive byte-identical frames', async () => {
    const lamp = await stockedProduct('Shared lamp', 50);
    const query =
      'subscription($p: ID!) { stockChanged(productId: $p) { productId available version } }';
    const first = await rawSubscription(query, { p: lamp });
    const second = await rawSubscription(query, { p: lamp });
    const received = (n: number) =>
      waitFor(
        `${n} messages on both sockets`,
        () => (first.frames.length >= n && second.frames.length >= n ? true : undefined),
        { timeoutMs: 20_000 },
      );
    await received(1);
    const before = await subscriptionCounters('stockChanged');

    expect((await adjust(lamp, -1)).errors).toBeUndefined();
    await received(2);
    expect((await adjust(lamp, -2)).errors).toBeUndefined();
    await received(3);
    const after = await subscriptionCounters('stockChanged');

    // Same feed, same subscription id: the very same bytes, as text frames, exactly what
    // graphql-ws writes for a `next` message.
    expect(second.frames).toEqual(first.frames);
    for (const { text, binary } of first.frames) {
      expect(binary).toBe(false);
      const message = JSON.parse(text) as { payload: unknown };
      expect(text).toBe(JSON.stringify({ id: '1', type: 'next', payload: message.payload }));
    }
    const available = first.frames.map(
      (f) =>
        (JSON.parse(f.text) as { payload: { data: { stockChanged: { available: number } } } })
          .payload.data.stockChanged.available,
    );
    expect(available).toEqual([50, 49, 47]);
    // One serialisation per execution (one per event; an execution that finds nothing changed
    // is serialised to compare and sends nothing), never one per subscriber.
    const serialised = after.serialisations - before.serialisations;
    expect(serialised).toBe(after.executions - before.executions);
    expect(serialised).toBeGreaterThanOrEqual(2);
    expect(after.messages - before.messages).toBe(4);
    first.socket.close();
    second.socket.close();
  });
});

describe('orderStatusChanged', () => {
  it('lets a customer follow their order from PENDING to CONFIRMED with product names', async () => {
    const chair = await stockedProduct('Live chair', 5);
    // With the inventory service down the order stays PENDING until it comes back.
    await stack.stopInventory();
    let orderId: string;
    try {
      orderId = await placeOrder(chair, tokens.alice);
    } catch (err) {
      await stack.restartInventory();
      throw err;
    }
    const { client } = connect(tokens.alice);
    const followed = collect<OrderData>(client, ORDER, { o: orderId });
    const pending = await followed.until(() => true);
    expect(pending.errors).toBeUndefined();
    expect(pending.data?.orderStatusChanged).toEqual({
      id: orderId,
      status: 'PENDING',
      items: [{ quantity: 1, product: { name: 'Live chair' } }],
    });
    await stack.restartInventory();
    const confirmed = await followed.until(
      (r) => r.data?.orderStatusChanged?.status === 'CONFIRMED',
      45_000,
    );
    expect(confirmed.data?.orderStatusChanged?.items).toEqual([
      { quantity: 1, product: { name: 'Live chair' } },
    ]);
    const statuses = followed.results.map((r) => r.data?.orderStatusChanged?.status);
    expect(statuses[0]).toBe('PENDING');
    expect(statuses[statuses.length - 1]).toBe('CONFIRMED');
    expect(followed.error).toBeUndefined();
  });

  it("refuses Bob on Alice's order exactly like the query, and anonymous callers outright", async () => {
    const rug = await stockedProduct('Live rug', 5);
    const orderId = await placeOrder(rug, tokens.alice);
    const query = await stack.query(
      'query($o: ID!) { order(id: $o) { id } }',
      { o: orderId },
      bearer(tokens.bob),
    );
    expect(query.errors?.map((e) => e.extensions?.['code'])).toEqual(['NOT_FOUND']);

    const bob = collect<OrderData>(connect(tokens.bob).client, ORDER, { o: orderId });
    await waitFor('the condition', () => (bob.completed ? true : undefined), { timeoutMs: 20_000 });
    expect(bob.error).toBeUndefined();
    expect(bob.results).toHaveLength(1);
    expect(bob.results[0].data).toBeNull();
    expect(bob.results[0].errors?.map((e) => e.extensions?.['code'])).toEqual(['NOT_FOUND']);
    expect(bob.results[0].errors?.[0].message).toBe(query.errors?.[0].message);

    const anonymous = collect<OrderData>(connect().client, ORDER, { o: orderId });
    await waitFor('the condition', () => (anonymous.error !== undefined ? true : undefined), {
      timeoutMs: 10_000,
    });
    const errors = anonymous.error as Array<{ extensions?: Record<string, unknown> }>;
    expect(errors.map((e) => e.extensions?.['code'])).toEqual(['UNAUTHENTICATED']);
  });
});

describe('notificationReceived', () => {
  it("delivers a customer's own notifications and nobody else's", async () => {
    const vase = await stockedProduct('Live vase', 5);
    const NOTES = 'subscription { notificationReceived { id channel order { id status } } }';
    type Notes = {
      notificationReceived: { id: string; channel: string; order: { id: string } | null };
    };
    const alice = collect<Notes>(connect(tokens.alice).client, NOTES);
    const bob = collect<Notes>(connect(tokens.bob).client, NOTES);
    // Subscriptions register before the first event that may concern them.
    await waitFor(
      'the condition',
      () => (stack.gateway.subscriptions!.stats().subscriptions >= 2 ? true : undefined),
      { timeoutMs: 10_000 },
    );
    const orderId = await placeOrder(vase, tokens.alice);
    const note = await alice.until(
      (r) => r.data?.notificationReceived.order?.id === orderId,
      45_000,
    );
    expect(note.data?.notificationReceived.channel).toBe('EMAIL');
    expect(alice.error).toBeUndefined();
    expect(bob.results.filter((r) => r.data?.notificationReceived.order?.id === orderId)).toEqual(
      [],
    );
  });
});

describe('the graphql-ws connection', () => {
  it('closes with 4403 when connection_init carries a bad token', async () => {
    const { client, closed } = connect('not-a-jwt');
    collect(client, STOCK, { p: 'x' });
    expect((await closed).code).toBe(SUBSCRIPTION_CLOSE_CODES.forbidden);
  });

  it('answers queries, refuses invalid operations with codes, and limits subscriptions per connection', async () => {
    const { client } = connect();
    const query = collect<{ __typename: string }>(client, '{ __typename }');
    await waitFor('the condition', () => (query.completed ? true : undefined), {
      timeoutMs: 10_000,
    });
    expect(query.results[0].data).toEqual({ __typename: 'Query' });

    const invalid = collect(client, 'subscription { stockChanged(productId: "x") { nope } }');
    await waitFor('the condition', () => (invalid.error !== undefined ? true : undefined), {
      timeoutMs: 10_000,
    });
    expect((invalid.error as Array<{ extensions?: { code?: string } }>)[0].extensions?.code).toBe(
      'GRAPHQL_VALIDATION_FAILED',
    );

    const lamp = await stockedProduct('Limit lamp', 1);
    const before = stack.gateway.subscriptions!.stats().subscriptions;
    const subs = Array.from({ length: 41 }, () => collect<StockData>(client, STOCK, { p: lamp }));
    await waitFor(
      'the condition',
      () => (subs.some((s) => s.error !== undefined) ? true : undefined),
      {
        timeoutMs: 10_000,
      },
    );
    const refused = subs.filter((s) => s.error !== undefined);
    expect(refused).toHaveLength(1);
    expect(
      (refused[0].error as Array<{ extensions?: { code?: string } }>)[0].extensions?.code,
    ).toBe('RATE_LIMITED');
    for (const s of subs) s.dispose();
    // Teardown: completing the subscriptions frees them on the gateway.
    await waitFor(
      'the condition',
      () => (stack.gateway.subscriptions!.stats().subscriptions === before ? true : undefined),
      { timeoutMs: 10_000 },
    );
  });

  it('closes with 4401 when the token expires', async () => {
    const shortLived = await shortLivedToken(4);
    const { client, closed } = connect(shortLived);
    const lamp = await stockedProduct('Expiry lamp', 3);
    const live = collect<StockData>(client, STOCK, { p: lamp });
    await live.until(() => true);
    const { code } = await closed;
    expect(code).toBe(SUBSCRIPTION_CLOSE_CODES.tokenExpired);
  });

  it('lets clients resubscribe after a gateway restart and get the current state first', async () => {
    const stool = await stockedProduct('Live stool', 9);
    const { client } = connect(undefined, true);
    const live = collect<StockData>(client, STOCK, { p: stool });
    await live.until((r) => r.data?.stockChanged.available === 9);
    await stack.restartGateway();
    // The client reconnects by itself and is sent the current state again.
    await waitFor('the condition', () => (live.results.length >= 2 ? true : undefined), {
      timeoutMs: 30_000,
    });
    expect(live.results[1].data?.stockChanged.available).toBe(9);
    expect((await adjust(stool, -4)).errors).toBeUndefined();
    await live.until((r) => r.data?.stockChanged.available === 5);
  });
});

/**
 * A customer token that expires in `seconds`: Alice's password grant through a public client
 * created for this run with that access-token lifespan (and the shop-api audience).
 */
async function shortLivedToken(seconds: number): Promise<string> {
  const admin = await passwordGrantToken(
    issuer.replace(/\/realms\/[^/]+$/, '/realms/master'),
    'admin',
    'admin',
    'admin-cli',
  );
  const adminBase = issuer.replace('/realms/', '/admin/realms/');
  const clientId = uniqueId('short-lived');
  const res = await fetch(`${adminBase}/clients`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
    body: JSON.stringify({
      clientId,
      publicClient: true,
      directAccessGrantsEnabled: true,
      standardFlowEnabled: false,
      attributes: { 'access.token.lifespan': String(seconds) },
      protocolMappers: [
        {
          name: 'audience-shop-api',
          protocol: 'openid-connect',
          protocolMapper: 'oidc-audience-mapper',
          config: {
            'included.custom.audience': 'shop-api',
            'access.token.claim': 'true',
            'id.token.claim': 'false',
          },
        },
      ],
    }),
  });
  expect(res.status).toBe(201);
  return passwordGrantToken(issuer, 'alice@shop.local', 'alice-password', clientId);
}
