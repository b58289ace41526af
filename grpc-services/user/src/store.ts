/**
 * MongoDB access for user profiles: one document per user, `_id` = the identity provider's
 * subject, changed by whole-document replacement guarded by its `version`.
 *
 * Concurrency note: the guard `replaceOne({_id, version: v})` is exact on MongoDB and
 * mongo-java-server, but FerretDB 1.24 (SQLite) does not re-check the filter at write time
 * (measured in the inventory service: 21–148 of 200 version-guarded writers "won" one version).
 * Profiles are edited by one person at a time, so there the worst case is last-writer-wins
 * between two simultaneous edits of the same profile; nothing is ever counted or sold from it.
 */
import { isDuplicateKeyError, type IndexDeclarations } from '@shop/platform';
import type { Collection, Db, Filter } from 'mongodb';

/** A saved address (fields of shop.common.v1.PostalAddress). */
export interface AddressRecord {
  readonly id: string;
  readonly label: string;
  readonly postalAddress: {
    readonly recipientName: string;
    readonly line1: string;
    readonly line2: string;
    readonly city: string;
    readonly region: string;
    readonly postalCode: string;
    readonly countryCode: string;
    readonly phone: string;
  };
}

/** A user profile as stored. */
export interface UserRecord {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly phone: string;
  readonly addresses: readonly AddressRecord[];
  readonly defaultAddressId: string;
  readonly notificationPreferences: {
    readonly emailEnabled: boolean;
    readonly smsEnabled: boolean;
  };
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly version: number;
}

/** Position after which a listing continues. */
export interface ListCursor {
  readonly createdAt: Date;
  readonly id: string;
}

/** MongoDB access of the user service. */
export interface UserStore {
  get(id: string): Promise<UserRecord | null>;
  getMany(ids: readonly string[]): Promise<UserRecord[]>;
  /** Profiles by creation time (then id), optionally filtered by a lower-case substring. */
  list(query: { search: string; after?: ListCursor; limit: number }): Promise<UserRecord[]>;
  /** Inserts a new profile; false when one with this id already exists. */
  insert(record: UserRecord): Promise<boolean>;
  /** Replaces a profile if it is still at `fromVersion`; false when it moved on. */
  replace(record: UserRecord, fromVersion: number): Promise<boolean>;
}

/** Indexes the user store needs, created at start-up. */
export const userIndexes: IndexDeclarations = {
  users: [{ key: { createdAt: 1, _id: 1 }, name: 'created' }],
};

interface UserDoc extends Omit<UserRecord, 'id'> {
  _id: string;
  /** Lower-case "email name", for case-insensitive substring search without `$text`. */
  search: string;
}

const toDoc = (r: UserRecord): UserDoc => {
  const { id, ...rest } = r;
  return { _id: id, ...rest, search: `${r.email} ${r.name}`.toLowerCase() };
};

const toRecord = (d: UserDoc): UserRecord => {
  const { _id, search, ...rest } = d;
  void search;
  return { id: _id, ...rest };
};

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Builds the store over one service database. */
export function createUserStore(db: Db): UserStore {
  const users: Collection<UserDoc> = db.collection('users');
  return {
    async get(id) {
      const doc = await users.findOne({ _id: id });
      return doc ? toRecord(doc) : null;
    },
    async getMany(ids) {
      if (ids.length === 0) return [];
      return (await users.find({ _id: { $in: [...ids] } }).toArray()).map(toRecord);
    },
    async list({ search, after, limit }) {
      const clauses: Array<Filter<UserDoc>> = [];
      if (search) clauses.push({ search: { $regex: escapeRegex(search) } });
      if (after) {
        clauses.push({
          $or: [
            { createdAt: { $gt: after.createdAt } },
            { createdAt: after.createdAt, _id: { $gt: after.id } },
          ],
        });
      }
      const filter: Filter<UserDoc> = clauses.length > 0 ? { $and: clauses } : {};
      const docs = await users.find(filter).sort({ createdAt: 1, _id: 1 }).limit(limit).toArray();
      return docs.map(toRecord);
    },
    async insert(record) {
      try {
        await users.insertOne(toDoc(record));
        return true;
      } catch (err) {
        if (isDuplicateKeyError(err)) return false;
        throw err;
      }
    },
    async replace(record, fromVersion) {
      const result = await users.replaceOne(
        { _id: record.id, version: fromVersion },
        toDoc(record),
      );
      return result.matchedCount === 1;
    },
  };
}
