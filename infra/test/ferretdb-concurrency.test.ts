import { MongoClient, ObjectId } from 'mongodb';
import { ensureInfra } from '../src';

// Stock correctness rests on single-document atomic updates. FerretDB's SQLite backend
// implements updates as read–modify–write in Go, so these tests hammer one document from
// several connections and count what survives.
//
// KNOWN DEFECT (FerretDB v1.24.2, SQLite backend), measured on 2 cores: with 8 clients x pool 20,
// all 200 conditional reservations "succeed" and ~42 of 50 units remain (oversold by ~190);
// 500 concurrent +1 end at ~1..27. With one connection (maxPoolSize 1) both are exact.
// The assertions state the behaviour stock needs; `it.failing` keeps the suite green while the
// defect stands and turns red once the store is fixed or replaced, so the marker gets removed.
const CLIENTS = 8;
let clients: MongoClient[] = [];

beforeAll(async () => {
  const { mongoUrl } = await ensureInfra({ only: ['mongo'] });
  clients = await Promise.all(
    Array.from({ length: CLIENTS }, () => new MongoClient(mongoUrl, { maxPoolSize: 20 }).connect()),
  );
}, 600_000);

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
});

function stock(index: number) {
  const client = clients[index % clients.length];
  if (!client) throw new Error('no MongoDB client');
  return client
    .db('infra_concurrency_test')
    .collection<{ _id: ObjectId; available: number }>('stock');
}

describe('FerretDB (SQLite) single-document atomicity under concurrency [KNOWN DEFECT: loses concurrent updates]', () => {
  it.failing(
    'LOSES UPDATES: conditional $inc: 200 concurrent reservations of 50 units succeed exactly 50 times and leave 0',
    async () => {
      const _id = new ObjectId();
      await stock(0).insertOne({ _id, available: 50 });

      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          stock(i).findOneAndUpdate(
            { _id, available: { $gte: 1 } },
            { $inc: { available: -1 } },
            { returnDocument: 'after' },
          ),
        ),
      );

      const succeeded = results.filter((doc) => doc !== null).length;
      const final = await stock(0).findOne({ _id });
      expect({ succeeded, available: final?.available }).toEqual({ succeeded: 50, available: 0 });
    },
  );

  it.failing(
    'LOSES UPDATES: unconditional $inc: 500 concurrent increments by 1 are all counted',
    async () => {
      const _id = new ObjectId();
      await stock(0).insertOne({ _id, available: 0 });

      await Promise.all(
        Array.from({ length: 500 }, (_, i) =>
          stock(i).updateOne({ _id }, { $inc: { available: 1 } }),
        ),
      );

      const final = await stock(0).findOne({ _id });
      expect(final?.available).toBe(500);
    },
  );
});

describe('FerretDB (SQLite) through a single connection', () => {
  it('serialised conditional $inc reserves exactly the available units', async () => {
    const { mongoUrl } = await ensureInfra({ only: ['mongo'] });
    const single = await new MongoClient(mongoUrl, { maxPoolSize: 1 }).connect();
    try {
      const collection = single
        .db('infra_concurrency_test')
        .collection<{ _id: ObjectId; available: number }>('stock');
      const _id = new ObjectId();
      await collection.insertOne({ _id, available: 50 });
      const results = await Promise.all(
        Array.from({ length: 200 }, () =>
          collection.findOneAndUpdate({ _id, available: { $gte: 1 } }, { $inc: { available: -1 } }),
        ),
      );
      const final = await collection.findOne({ _id });
      expect({
        succeeded: results.filter((doc) => doc !== null).length,
        available: final?.available,
      }).toEqual({ succeeded: 50, available: 0 });
    } finally {
      await single.close();
    }
  });
});
