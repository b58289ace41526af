import { status } from '@grpc/grpc-js';
import {
  connectMongo,
  createLogger,
  defineErrors,
  ensureIndexes,
  isDuplicateKeyError,
  toServiceError,
  type MongoHandle,
} from '@shop/platform';
import { testEnv, uniqueId } from '@shop/testing';
import { Writable } from 'node:stream';

const logger = createLogger({
  service: 'mongo-test',
  level: 'fatal',
  stream: new Writable({ write: (_c, _e, done) => done() }),
});

const errors = defineErrors('shop.product', {
  SKU_TAKEN: { grpc: status.ALREADY_EXISTS, message: 'A product with this SKU already exists' },
});

describe('MongoDB helper against the MongoDB-wire store', () => {
  let mongo: MongoHandle;
  const database = uniqueId('platform_test').replace(/-/g, '_');

  beforeAll(async () => {
    mongo = await connectMongo({ url: testEnv().mongoUrl, database, logger });
  });

  afterAll(async () => {
    await mongo.db.dropDatabase();
    await mongo.close();
  });

  it('creates declared indexes idempotently', async () => {
    const declarations = { products: [{ key: { sku: 1 }, name: 'sku_unique', unique: true }] };
    await ensureIndexes(mongo.db, declarations);
    await ensureIndexes(mongo.db, declarations);
    const indexes = await mongo.db.collection('products').indexes();
    expect(indexes.find((i) => i.name === 'sku_unique')).toMatchObject({
      unique: true,
      key: { sku: 1 },
    });
  });

  it('round-trips a document and reports a unique index violation as ALREADY_EXISTS', async () => {
    const products = mongo.db.collection<{ _id: string; sku: string }>('products');
    await products.insertOne({ _id: 'p1', sku: 'SKU-1' });
    expect(await products.findOne({ _id: 'p1' })).toEqual({ _id: 'p1', sku: 'SKU-1' });

    const failure = await products.insertOne({ _id: 'p2', sku: 'SKU-1' }).catch((e: unknown) => e);
    expect(isDuplicateKeyError(failure)).toBe(true);
    const mapped = toServiceError(errors.SKU_TAKEN({ cause: failure }), logger, '/CreateProduct');
    expect(mapped).toMatchObject({
      code: status.ALREADY_EXISTS,
      details: 'A product with this SKU already exists',
    });
    expect(await products.countDocuments()).toBe(1);
  });

  it('gives up with a clear error naming the store when it cannot connect', async () => {
    await expect(
      connectMongo({
        url: 'mongodb://127.0.0.1:1',
        database: 'x',
        logger,
        attempts: 2,
        initialDelayMs: 10,
      }),
    ).rejects.toThrow('could not connect to MongoDB at mongodb://127.0.0.1:1 after 2 attempts');
  });
});
