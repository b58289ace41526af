import { status } from '@grpc/grpc-js';
import { unpackPayload, type PromiseClient } from '@shop/platform';
import { common, events, inventory, inventoryEvents } from '@shop/proto';
import { uniqueId, waitFor } from '@shop/testing';
import type { RunningInventoryService } from '@shop/inventory-service';
import {
  adminMetadata,
  collect,
  remoteError,
  sandbox,
  startInventory,
  testKafka,
  type Sandbox,
} from './harness';

type Client = PromiseClient<typeof inventory.InventoryServiceService>;

describe('inventory stock RPCs', () => {
  let box: Sandbox;
  let service: RunningInventoryService;
  let client: Client;
  const md = { metadata: adminMetadata() };
  const newProduct = async (onHand: number): Promise<string> => {
    const productId = uniqueId('p');
    await client.setInitialStock({ productId, onHand }, md);
    return productId;
  };

  beforeAll(async () => {
    box = sandbox('stock');
    ({ service, client } = await startInventory(box, { consume: false }));
  });

  afterAll(async () => {
    client.close();
    await service.stop();
  });

  it('sets initial stock once and treats a repeat with the same quantity as a no-op', async () => {
    const productId = uniqueId('p');
    const first = await client.setInitialStock({ productId, onHand: 7 }, md);
    expect(first.stock).toMatchObject({
      productId,
      onHand: 7,
      reserved: 0,
      available: 7,
      version: 1,
    });
    const again = await client.setInitialStock({ productId, onHand: 7 }, md);
    expect(again.stock).toMatchObject({ onHand: 7, version: 1 });
    const conflict = await remoteError(client.setInitialStock({ productId, onHand: 8 }, md));
    expect(conflict).toMatchObject({ code: status.ALREADY_EXISTS, reason: 'STOCK_ALREADY_EXISTS' });
    const { movements } = await client.listMovements({ productId, orderId: '' }, md);
    expect(movements).toHaveLength(1);
    expect(movements[0]).toMatchObject({
      kind: inventory.MovementKind.MOVEMENT_KIND_INITIAL,
      deltaOnHand: 7,
      actor: { type: common.ActorType.ACTOR_TYPE_USER, id: 'admin-1' },
    });
  });

  it('gets one product and reports NOT_FOUND for one without stock', async () => {
    const productId = await newProduct(3);
    expect((await client.getStock({ productId })).stock).toMatchObject({ available: 3 });
    expect(await remoteError(client.getStock({ productId: 'nope' }))).toMatchObject({
      code: status.NOT_FOUND,
      reason: 'STOCK_NOT_FOUND',
    });
  });

  it('batch-gets stock in request order, once per id, and lists the ids without stock', async () => {
    const a = await newProduct(1);
    const b = await newProduct(2);
    const res = await client.batchGetStock({ productIds: [b, 'missing-1', a, b, 'missing-1'] });
    expect(res.stocks.map((s) => [s.productId, s.available])).toEqual([
      [b, 2],
      [a, 1],
    ]);
    expect(res.notFoundProductIds).toEqual(['missing-1']);
  });

  it('adjusts stock with a ledger entry naming who, why, before and after', async () => {
    const productId = await newProduct(5);
    const res = await client.adjustStock(
      { productId, delta: -2, reason: 'damaged in warehouse', idempotencyKey: '' },
      md,
    );
    expect(res.stock).toMatchObject({ onHand: 3, reserved: 0, available: 3, version: 2 });
    expect(res.movement).toMatchObject({
      kind: inventory.MovementKind.MOVEMENT_KIND_ADJUSTMENT,
      deltaOnHand: -2,
      deltaReserved: 0,
      before: { onHand: 5, reserved: 0, available: 5 },
      after: { onHand: 3, reserved: 0, available: 3 },
      reason: 'damaged in warehouse',
      actor: { type: common.ActorType.ACTOR_TYPE_USER, id: 'admin-1' },
    });
    expect(res.movement?.at).toBeInstanceOf(Date);
  });

  it('refuses to take on hand below what is reserved', async () => {
    const productId = await newProduct(5);
    const outcome = await service.reservations.reserve(
      uniqueId('o'),
      [{ productId, quantity: 4 }],
      uniqueId('e'),
    );
    expect(outcome.kind).toBe('reserved');
    const err = await remoteError(
      client.adjustStock({ productId, delta: -2, reason: 'count', idempotencyKey: '' }, md),
    );
    expect(err).toMatchObject({ code: status.FAILED_PRECONDITION, reason: 'INSUFFICIENT_STOCK' });
    expect((await client.getStock({ productId })).stock).toMatchObject({
      onHand: 5,
      reserved: 4,
      available: 1,
    });
  });

  it('applies an adjustment once per idempotency key and refuses the key for another change', async () => {
    const productId = await newProduct(0);
    const calls = await Promise.all(
      Array.from({ length: 5 }, () =>
        client.adjustStock(
          { productId, delta: 10, reason: 'restock', idempotencyKey: 'delivery-42' },
          md,
        ),
      ),
    );
    expect(new Set(calls.map((c) => c.movement?.id)).size).toBe(1);
    expect((await client.getStock({ productId })).stock).toMatchObject({ onHand: 10, version: 2 });
    const reused = await remoteError(
      client.adjustStock(
        { productId, delta: 3, reason: 'restock', idempotencyKey: 'delivery-42' },
        md,
      ),
    );
    expect(reused).toMatchObject({
      code: status.FAILED_PRECONDITION,
      reason: 'IDEMPOTENCY_KEY_REUSED',
    });
  });

  it('applies an adjustment at the expected version and aborts a stale one', async () => {
    const productId = await newProduct(4);
    await client.adjustStock(
      { productId, delta: 1, reason: 'count', idempotencyKey: '', expectedVersion: 1 },
      md,
    );
    const stale = await remoteError(
      client.adjustStock(
        { productId, delta: 1, reason: 'count', idempotencyKey: '', expectedVersion: 1 },
        md,
      ),
    );
    expect(stale).toMatchObject({
      code: status.ABORTED,
      reason: 'STALE_VERSION',
      metadata: { current_version: '2' },
    });
  });

  it('never lets concurrent removals take stock below zero', async () => {
    const productId = await newProduct(10);
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        client.adjustStock({ productId, delta: -1, reason: `pick ${i}`, idempotencyKey: '' }, md),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
    expect((await client.getStock({ productId })).stock).toMatchObject({
      onHand: 0,
      available: 0,
      version: 11,
    });
  });

  it('pages movements newest first without skipping or repeating', async () => {
    const productId = await newProduct(0);
    for (let i = 1; i <= 12; i += 1) {
      await client.adjustStock({ productId, delta: i, reason: `r${i}`, idempotencyKey: '' }, md);
    }
    const seen: number[] = [];
    let pageToken = '';
    let pages = 0;
    do {
      const res = await client.listMovements(
        { productId, orderId: '', page: { pageSize: 5, pageToken } },
        md,
      );
      seen.push(...res.movements.map((m) => m.deltaOnHand));
      pageToken = res.page?.nextPageToken ?? '';
      pages += 1;
    } while (pageToken);
    expect(pages).toBe(3);
    expect(seen).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
  });

  it.each<[string, Partial<inventory.AdjustStockRequest>, string[]]>([
    ['an empty product id', { productId: '' }, ['product_id']],
    ['a too long product id', { productId: 'x'.repeat(129) }, ['product_id']],
    ['a zero delta', { delta: 0 }, ['delta']],
    ['a huge delta', { delta: 2_000_000 }, ['delta']],
    ['a blank reason', { reason: '   ' }, ['reason']],
    ['a too long reason', { reason: 'r'.repeat(501) }, ['reason']],
    ['a too long idempotency key', { idempotencyKey: 'k'.repeat(129) }, ['idempotency_key']],
    ['a negative expected version', { expectedVersion: -1 }, ['expected_version']],
    [
      'several problems at once',
      { productId: '', delta: 0, reason: '' },
      ['product_id', 'delta', 'reason'],
    ],
  ])('rejects AdjustStock with %s', async (_name, patch, fields) => {
    const req = { productId: 'p-1', delta: 1, reason: 'restock', idempotencyKey: '', ...patch };
    const err = await remoteError(client.adjustStock(req, md));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.fieldViolations.map((v) => v.field)).toEqual(fields);
  });

  it.each<[string, () => Promise<unknown>, number, string[]]>([
    [
      'GetStock without id',
      () => client.getStock({ productId: '' }),
      status.INVALID_ARGUMENT,
      ['product_id'],
    ],
    [
      'BatchGetStock without ids',
      () => client.batchGetStock({ productIds: [] }),
      status.INVALID_ARGUMENT,
      ['product_ids'],
    ],
    [
      'BatchGetStock with 501 ids',
      () => client.batchGetStock({ productIds: Array.from({ length: 501 }, (_, i) => `p${i}`) }),
      status.INVALID_ARGUMENT,
      ['product_ids'],
    ],
    [
      'BatchGetStock with an empty id',
      () => client.batchGetStock({ productIds: ['a', ''] }),
      status.INVALID_ARGUMENT,
      ['product_ids[1]'],
    ],
    [
      'SetInitialStock below zero',
      () => client.setInitialStock({ productId: 'p', onHand: -1 }),
      status.INVALID_ARGUMENT,
      ['on_hand'],
    ],
    [
      'ListMovements without product',
      () => client.listMovements({ productId: '', orderId: '' }),
      status.INVALID_ARGUMENT,
      ['product_id'],
    ],
    [
      'ListMovements with a negative page size',
      () =>
        client.listMovements({
          productId: 'p',
          orderId: '',
          page: { pageSize: -1, pageToken: '' },
        }),
      status.INVALID_ARGUMENT,
      ['page.page_size'],
    ],
    [
      'ListMovements with a forged token',
      () =>
        client.listMovements({
          productId: 'p',
          orderId: '',
          page: { pageSize: 5, pageToken: 'garbage' },
        }),
      status.INVALID_ARGUMENT,
      ['page.page_token'],
    ],
    [
      'AdjustStock of a product without stock',
      () => client.adjustStock({ productId: 'ghost', delta: 1, reason: 'x', idempotencyKey: '' }),
      status.NOT_FOUND,
      [],
    ],
  ])('answers %s with the right status', async (_name, call, code, fields) => {
    const err = await remoteError(call());
    expect(err.code).toBe(code);
    expect(err.fieldViolations.map((v) => v.field)).toEqual(fields);
  });

  it('keeps the ledger summing to the stock level through a random mix of changes', async () => {
    const productId = await newProduct(20);
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const orders: string[] = [];
    const steps = Array.from({ length: 40 }, () => rand(5));
    await Promise.all(
      steps.map(async (step, i) => {
        if (step === 0) {
          await client.adjustStock(
            { productId, delta: rand(7) + 1, reason: 'restock', idempotencyKey: '' },
            md,
          );
        } else if (step === 1) {
          await client
            .adjustStock(
              { productId, delta: -(rand(5) + 1), reason: 'shrinkage', idempotencyKey: '' },
              md,
            )
            .catch(() => undefined);
        } else {
          const orderId = `o-${i}`;
          orders.push(orderId);
          await service.reservations.reserve(
            orderId,
            [{ productId, quantity: rand(4) + 1 }],
            uniqueId('e'),
          );
          if (step === 3) await service.reservations.release(orderId, uniqueId('e'), 'cancelled');
          if (step === 4) await service.reservations.commit(orderId, uniqueId('e'));
        }
      }),
    );
    const stock = (await client.getStock({ productId })).stock!;
    const all: inventory.Movement[] = [];
    let pageToken = '';
    do {
      const res = await client.listMovements(
        { productId, orderId: '', page: { pageSize: 100, pageToken } },
        md,
      );
      all.push(...res.movements);
      pageToken = res.page?.nextPageToken ?? '';
    } while (pageToken);
    expect(all.length).toBe(stock.version);
    expect(all.reduce((n, m) => n + m.deltaOnHand, 0)).toBe(stock.onHand);
    expect(all.reduce((n, m) => n + m.deltaReserved, 0)).toBe(stock.reserved);
    expect(stock.available).toBe(stock.onHand - stock.reserved);
    // Each movement starts where the previous one ended, and nothing ever went negative.
    const chain = [...all].reverse();
    chain.slice(1).forEach((m, i) => expect(m.before).toEqual(chain[i].after));
    for (const m of chain) expect(m.after!.available).toBeGreaterThanOrEqual(0);
  });

  it('publishes StockLevelChanged, keyed by product id, when stock changes', async () => {
    const { kafka, publisher } = await testKafka();
    const reader = await collect(kafka, box.inventoryUpdatesTopic);
    try {
      const productId = await newProduct(3);
      await client.adjustStock({ productId, delta: 4, reason: 'restock', idempotencyKey: '' }, md);
      const mine = await waitFor(
        'two StockLevelChanged events',
        () => {
          const found = reader.messages.filter((m) => m.key?.toString() === productId);
          return found.length >= 2 ? found : undefined;
        },
        { timeoutMs: 30_000 },
      );
      const changes = mine.map((m) => {
        const envelope = events.EventEnvelope.decode(m.value!);
        expect(envelope.eventType).toBe('shop.inventory.v1.StockLevelChanged');
        return unpackPayload(envelope, inventoryEvents.StockLevelChanged);
      });
      expect(changes).toEqual([
        expect.objectContaining({
          productId,
          onHand: 3,
          available: 3,
          version: 1,
          reason: inventory.MovementKind.MOVEMENT_KIND_INITIAL,
        }),
        expect.objectContaining({
          productId,
          onHand: 7,
          available: 7,
          version: 2,
          reason: inventory.MovementKind.MOVEMENT_KIND_ADJUSTMENT,
        }),
      ]);
    } finally {
      await reader.stop();
      await publisher.disconnect();
    }
  });
});
