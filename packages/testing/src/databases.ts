import { MongoClient } from 'mongodb';

/** Database names a test run may drop: they carry the stamp of {@link uniqueId} (base36 ms, hex). */
const STAMP = /(?:^|_)([0-9a-z]{8})_[0-9a-f]{6}(?:_|$)/;
/** Stamps outside these years are not ours (a word that happens to look like one). */
const EARLIEST = Date.UTC(2024, 0, 1);
const LATEST = Date.UTC(2100, 0, 1);

/** When a test created the database, from its name; undefined for names without a stamp. */
export function createdAt(database: string): number | undefined {
  const match = STAMP.exec(database);
  if (!match) return undefined;
  const at = Number.parseInt(match[1], 36);
  return at >= EARLIEST && at < LATEST ? at : undefined;
}

/**
 * Drops the databases earlier test runs left in the store: every test file makes its own
 * (`<prefix>_<stamp>_<hex>_<service>`) and none drops it, so a developer's store grows by a few
 * hundred per run. Only stamped names older than `olderThanMs` go, so a run going on in parallel
 * keeps its own; `shop_*` (what `npm start` serves) never has a stamp.
 */
export async function dropStaleTestDatabases(
  mongoUrl: string,
  olderThanMs: number,
  now = Date.now(),
): Promise<string[]> {
  const client = await MongoClient.connect(mongoUrl, { serverSelectionTimeoutMS: 5_000 });
  try {
    const { databases } = await client.db('admin').admin().listDatabases({ nameOnly: true });
    const stale = databases
      .map((d) => d.name)
      .filter((name) => {
        const at = createdAt(name);
        return at !== undefined && now - at > olderThanMs;
      });
    for (const name of stale) await client.db(name).dropDatabase();
    return stale;
  } finally {
    await client.close();
  }
}
