import { MongoClient, ObjectId } from 'mongodb';
import { ensureInfra } from '../src';

// Stock correctness rests on single-document atomic updates. These tests hammer one document
// from several connections and count what survives. FerretDB 1.24 (SQLite), tried first, failed
// all three (200 reservations of 50 units all "succeeded"; 500 increments ended at 1..27; two
// versioned updates won the same version), which is why the local store is mongo-java-server.
const CLIENTS = 8;
let clients: MongoClient[] = [];

beforeAll(async () => {
  const { mongoUrl } = await ensureInfra({ only: ['mongo'] });
  clients = await Promise.all(
    Array.from({ length: CLIENTS }, () => new MongoClient(mongoUrl, { maxPoolSize: 20 }).connect()),
  );
}, 600_000);

afterAll(async () => {
  await clients[0]?.db('infra_concurrency_test').dropDatabase();
  await Promise.all(clients.map((client) => client.close()));
});

function collection(index: number) {
  const client = clients[index % clients.length];
  if (!client) throw new Error('no MongoDB client');
  return client
    .db('infra_concurrency_test')
    .collection<{ _id: ObjectId; available?: number; version?: number }>('stock');
}

describe('the MongoDB-wire store keeps single-document updates atomic under concurrency', () => {
  it('conditional $inc: 200 concurrent reservations of 50 units succeed exactly 50 times and leave 0', async () => {
    const _id = new ObjectId();
    await collection(0).insertOne({ _id, available: 50 });

    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        collection(i).findOneAndUpdate(
          { _id, available: { $gte: 1 } },
          { $inc: { available: -1 } },
          { returnDocument: 'after' },
        ),
      ),
    );

    const succeeded = results.filter((doc) => doc !== null).length;
    const final = await collection(0).findOne({ _id });
    expect({ succeeded, available: final?.available }).toEqual({ succeeded: 50, available: 0 });
    expect(results.every((doc) => doc === null || (doc.available ?? -1) >= 0)).toBe(true);
  });

  it('unconditional $inc: 500 concurrent increments by 1 are all counted', async () => {
    const _id = new ObjectId();
    await collection(0).insertOne({ _id, available: 0 });
    await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        collection(i).updateOne({ _id }, { $inc: { available: 1 } }),
      ),
    );
    expect((await collection(0).findOne({ _id }))?.available).toBe(500);
  });

  it('optimistic concurrency: of 100 concurrent updates expecting version 0, exactly one wins', async () => {
    const _id = new ObjectId();
    await collection(0).insertOne({ _id, version: 0 });
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        collection(i).updateOne({ _id, version: 0 }, { $set: { version: 1 } }),
      ),
    );
    expect(results.filter((r) => r.modifiedCount === 1)).toHaveLength(1);
  });
});
