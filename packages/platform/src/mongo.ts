import { MongoClient, MongoServerError, type Db, type IndexDescription } from 'mongodb';
import type { Logger } from './logger';

/** Indexes a collection needs; created (idempotently) at start-up. */
export type IndexDeclarations = Readonly<Record<string, readonly IndexDescription[]>>;

/** Options for {@link connectMongo}. */
export interface MongoOptions {
  url: string;
  /** One database per service. */
  database: string;
  logger: Logger;
  /** Connection attempts before giving up (the store may still be starting). */
  attempts?: number;
  /** Delay before the second attempt; doubles each time, capped at 5 s. */
  initialDelayMs?: number;
  maxPoolSize?: number;
  /** How long each attempt waits for a reachable server (default 5 s). */
  serverSelectionTimeoutMs?: number;
}

/** A connected database and its client. */
export interface MongoHandle {
  readonly client: MongoClient;
  readonly db: Db;
  close(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Connects with retry and backoff, then pings, so start-up fails clearly when the store is down. */
export async function connectMongo(options: MongoOptions): Promise<MongoHandle> {
  const attempts = options.attempts ?? 10;
  let delay = options.initialDelayMs ?? 250;
  for (let attempt = 1; ; attempt += 1) {
    const client = new MongoClient(options.url, {
      maxPoolSize: options.maxPoolSize ?? 20,
      serverSelectionTimeoutMS: options.serverSelectionTimeoutMs ?? 5_000,
      appName: options.database,
    });
    try {
      await client.connect();
      const db = client.db(options.database);
      await db.command({ ping: 1 });
      options.logger.info({ database: options.database }, 'connected to MongoDB');
      return { client, db, close: () => client.close() };
    } catch (err) {
      await client.close().catch(() => undefined);
      if (attempt >= attempts) {
        throw new Error(
          `could not connect to MongoDB at ${redactUrl(options.url)} after ${attempts} attempts: ${(err as Error).message}`,
        );
      }
      options.logger.warn({ attempt, delayMs: delay, err }, 'MongoDB not reachable yet; retrying');
      await sleep(delay);
      delay = Math.min(delay * 2, 5_000);
    }
  }
}

/** Creates the declared indexes; safe to call on every start. */
export async function ensureIndexes(db: Db, declarations: IndexDeclarations): Promise<void> {
  for (const [collection, indexes] of Object.entries(declarations)) {
    if (indexes.length > 0) await db.collection(collection).createIndexes([...indexes]);
  }
}

/** True for a unique-index violation (E11000). */
export function isDuplicateKeyError(err: unknown): err is MongoServerError {
  return err instanceof MongoServerError && err.code === 11000;
}

/** Hides credentials in a connection string before it is logged. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]+)@/, '//[redacted]@');
}
