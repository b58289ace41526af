import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { createdAt, dropStaleTestDatabases } from '../src/databases';
import { testEnv } from '../src/env';
import { uniqueId } from '../src/wait';

const HOUR = 60 * 60 * 1000;
/** A test database name as the suites make them, created at `at`. */
const stamped = (prefix: string, at: number, suffix = 'product'): string =>
  `${prefix}_${at.toString(36)}_${randomBytes(3).toString('hex')}_${suffix}`;

describe('test database names', () => {
  it('reads the creation time from the stamp uniqueId puts in every test database name', () => {
    const name = uniqueId('auth').replace(/-/g, '_');
    const at = createdAt(`${name}_category`);
    expect(at).toBeDefined();
    expect(Math.abs(Date.now() - at!)).toBeLessThan(60_000);
    expect(createdAt('race_inv_mx7blrpm_b57047')).toBe(Number.parseInt('mx7blrpm', 36));
  });

  it('finds no stamp in the names npm start and fixed-name tests use', () => {
    for (const name of ['shop_product', 'shop_inventory', 'refl_test', 'cost_product', 'admin']) {
      expect(createdAt(name)).toBeUndefined();
    }
    // Eight base36 characters that decode to a time long before any test ran.
    expect(createdAt('x_00000001_abcdef_y')).toBeUndefined();
  });
});

describe('dropStaleTestDatabases (real store)', () => {
  const { mongoUrl } = testEnv();
  let client: MongoClient;
  beforeAll(async () => {
    client = await MongoClient.connect(mongoUrl);
  });
  afterAll(async () => {
    await client.close();
  });

  const names = async (): Promise<Set<string>> =>
    new Set(
      (await client.db('admin').admin().listDatabases({ nameOnly: true })).databases.map(
        (d) => d.name,
      ),
    );

  it('drops stamped databases older than the cut-off and keeps recent and unstamped ones', async () => {
    const now = Date.now();
    const old = stamped('dbclean', now - 5 * HOUR);
    const recent = stamped('dbclean', now - 10 * 60 * 1000);
    const fixed = `dbclean_fixed_${randomBytes(3).toString('hex')}`;
    for (const name of [old, recent, fixed]) {
      await client.db(name).collection('c').insertOne({ at: new Date() });
    }
    try {
      const dropped = await dropStaleTestDatabases(mongoUrl, 3 * HOUR, now);
      expect(dropped).toContain(old);
      expect(dropped).not.toContain(recent);
      expect(dropped).not.toContain(fixed);
      const left = await names();
      expect(left.has(old)).toBe(false);
      expect(left.has(recent)).toBe(true);
      expect(left.has(fixed)).toBe(true);
    } finally {
      await client.db(recent).dropDatabase();
      await client.db(fixed).dropDatabase();
    }
  });
});
