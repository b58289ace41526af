import {
  Validator,
  checkPageSize,
  createdAtTokens,
  readPage,
  type AsyncServiceImplementation,
} from '@shop/platform';
import type { common, user } from '@shop/proto';
import { randomUUID } from 'node:crypto';
import { userErrors } from './errors';
import type { IdentityProvider } from './identity-provider';
import type { AddressRecord, UserRecord, UserStore } from './store';

/** Largest batch BatchGetUsers accepts. */
export const MAX_BATCH_IDS = 500;
/** Saved addresses per profile. */
export const MAX_ADDRESSES = 20;
const MAX_ID_LENGTH = 128;
const MAX_TEXT_LENGTH = 200;
const E164 = /^\+[1-9]\d{6,14}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const COUNTRY = /^[A-Z]{2}$/;

/** Dependencies of {@link createUserService}. */
export interface UserServiceDeps {
  store: UserStore;
  /** Where Register creates accounts; without one, Register answers UNAVAILABLE. */
  identityProvider?: IdentityProvider;
  clock?: () => Date;
}

/** Shortest password Register accepts (the identity provider may demand more). */
export const MIN_PASSWORD_LENGTH = 8;
const MAX_PASSWORD_LENGTH = 128;

const toAddressMessage = (a: AddressRecord): user.Address => ({
  id: a.id,
  label: a.label,
  postalAddress: { ...a.postalAddress },
});

const toUserMessage = (u: UserRecord): user.User => ({
  id: u.id,
  email: u.email,
  name: u.name,
  phone: u.phone,
  addresses: u.addresses.map(toAddressMessage),
  defaultAddressId: u.defaultAddressId,
  notificationPreferences: { ...u.notificationPreferences },
  createdAt: u.createdAt,
  updatedAt: u.updatedAt,
  version: u.version,
});

const checkId = (v: Validator, id: string, field: string): void => {
  if (v.check(id.length > 0, field, 'must not be empty')) {
    v.check(id.length <= MAX_ID_LENGTH, field, `must be at most ${MAX_ID_LENGTH} characters`);
  }
};

const checkText = (v: Validator, value: string, field: string, required: boolean): void => {
  if (required && !v.check(value.trim().length > 0, field, 'must not be empty')) return;
  v.check(value.length <= MAX_TEXT_LENGTH, field, `must be at most ${MAX_TEXT_LENGTH} characters`);
};

const checkPhone = (v: Validator, phone: string, field: string): void => {
  if (phone) v.check(E164.test(phone), field, 'must be in E.164 format, e.g. +4930123456');
};

const checkPostalAddress = (
  v: Validator,
  a: common.PostalAddress | undefined,
  field: string,
): void => {
  if (!v.check(a !== undefined, field, 'is required') || !a) return;
  checkText(v, a.recipientName, `${field}.recipient_name`, true);
  checkText(v, a.line1, `${field}.line1`, true);
  checkText(v, a.line2, `${field}.line2`, false);
  checkText(v, a.city, `${field}.city`, true);
  checkText(v, a.region, `${field}.region`, false);
  checkText(v, a.postalCode, `${field}.postal_code`, true);
  v.check(
    COUNTRY.test(a.countryCode),
    `${field}.country_code`,
    'must be an ISO 3166-1 alpha-2 code in upper case',
  );
  checkPhone(v, a.phone, `${field}.phone`);
};

const postal = (a: common.PostalAddress): AddressRecord['postalAddress'] => ({
  recipientName: a.recipientName.trim(),
  line1: a.line1.trim(),
  line2: a.line2.trim(),
  city: a.city.trim(),
  region: a.region.trim(),
  postalCode: a.postalCode.trim(),
  countryCode: a.countryCode,
  phone: a.phone,
});

/** User pages continue after the last user's creation time and id, within one search. */
const userPages = createdAtTokens();

/** The UserService RPC handlers. */
export function createUserService(
  deps: UserServiceDeps,
): AsyncServiceImplementation<typeof user.UserServiceService> {
  const { store } = deps;
  const clock = deps.clock ?? (() => new Date());

  /**
   * Applies a change to the current profile and stores it at the next version, retrying on a
   * concurrent change unless the caller pinned a version (then ABORTED).
   */
  const mutate = async (
    userId: string,
    change: (u: UserRecord) => Omit<UserRecord, 'version' | 'updatedAt'>,
    expectedVersion?: number,
  ): Promise<UserRecord> => {
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const current = await store.get(userId);
      if (!current) throw userErrors.USER_NOT_FOUND({ metadata: { user_id: userId } });
      if (expectedVersion !== undefined && current.version !== expectedVersion) {
        throw userErrors.STALE_VERSION({ metadata: { current_version: String(current.version) } });
      }
      const next: UserRecord = {
        ...change(current),
        updatedAt: clock(),
        version: current.version + 1,
      };
      if (await store.replace(next, current.version)) return next;
      if (expectedVersion !== undefined) {
        throw userErrors.STALE_VERSION();
      }
    }
    throw userErrors.STALE_VERSION({ message: 'The profile is changing too often; retry' });
  };

  const findAddress = (u: UserRecord, addressId: string): AddressRecord => {
    const found = u.addresses.find((a) => a.id === addressId);
    if (!found) throw userErrors.ADDRESS_NOT_FOUND({ metadata: { address_id: addressId } });
    return found;
  };

  return {
    async getUser(req) {
      const v = new Validator();
      checkId(v, req.id, 'id');
      v.throwIfInvalid();
      const found = await store.get(req.id);
      if (!found) throw userErrors.USER_NOT_FOUND({ metadata: { user_id: req.id } });
      return { user: toUserMessage(found) };
    },

    async batchGetUsers(req) {
      const v = new Validator();
      v.check(req.ids.length > 0, 'ids', 'must not be empty');
      v.check(req.ids.length <= MAX_BATCH_IDS, 'ids', `must have at most ${MAX_BATCH_IDS} ids`);
      req.ids.forEach((id, i) => checkId(v, id, `ids[${i}]`));
      v.throwIfInvalid();
      const ids = [...new Set(req.ids)];
      const found = new Map((await store.getMany(ids)).map((u) => [u.id, u]));
      return {
        users: ids.flatMap((id) => {
          const u = found.get(id);
          return u ? [toUserMessage(u)] : [];
        }),
        notFoundIds: ids.filter((id) => !found.has(id)),
      };
    },

    async listUsers(req) {
      const v = new Validator();
      v.check(
        req.query.length <= MAX_TEXT_LENGTH,
        'query',
        `must be at most ${MAX_TEXT_LENGTH} characters`,
      );
      checkPageSize(v, req.page);
      v.throwIfInvalid();
      const search = req.query.trim().toLowerCase();
      const { items, nextPageToken } = await readPage(
        req.page,
        { tokens: userPages, positionOf: (row: UserRecord) => row, listing: search },
        (after, limit) => store.list({ search, ...(after ? { after } : {}), limit }),
      );
      return { users: items.map(toUserMessage), page: { nextPageToken } };
    },

    async register(req) {
      const v = new Validator();
      const email = req.email.trim().toLowerCase();
      v.check(EMAIL.test(email) && email.length <= 254, 'email', 'must be an email address');
      v.check(
        req.password.length >= MIN_PASSWORD_LENGTH && req.password.length <= MAX_PASSWORD_LENGTH,
        'password',
        `must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`,
      );
      checkText(v, req.name, 'name', true);
      v.throwIfInvalid();
      if (!deps.identityProvider) throw userErrors.IDENTITY_PROVIDER_UNAVAILABLE();
      const { subject } = await deps.identityProvider.createCustomer({
        email,
        password: req.password,
        name: req.name.trim(),
      });
      const now = clock();
      const fresh: UserRecord = {
        id: subject,
        email,
        name: req.name.trim(),
        phone: '',
        addresses: [],
        defaultAddressId: '',
        notificationPreferences: { emailEnabled: true, smsEnabled: false },
        createdAt: now,
        updatedAt: now,
        version: 1,
      };
      // A profile already there (the user signed in between) is kept as it is.
      if (await store.insert(fresh)) return { user: toUserMessage(fresh) };
      const existing = await store.get(subject);
      if (!existing) throw userErrors.USER_NOT_FOUND();
      return { user: toUserMessage(existing) };
    },

    async upsertUserFromClaims(req) {
      const v = new Validator();
      checkId(v, req.subject, 'subject');
      if (req.email)
        v.check(
          EMAIL.test(req.email) && req.email.length <= 254,
          'email',
          'must be an email address',
        );
      checkText(v, req.name, 'name', false);
      v.throwIfInvalid();
      const email = req.email.trim().toLowerCase();
      const name = req.name.trim();
      const now = clock();
      const fresh: UserRecord = {
        id: req.subject,
        email,
        name,
        phone: '',
        addresses: [],
        defaultAddressId: '',
        notificationPreferences: { emailEnabled: true, smsEnabled: false },
        createdAt: now,
        updatedAt: now,
        version: 1,
      };
      if (await store.insert(fresh)) return { user: toUserMessage(fresh), created: true };
      const existing = await store.get(req.subject);
      if (!existing) throw userErrors.USER_NOT_FOUND();
      // Claims only refresh what the identity provider owns; an unchanged token writes nothing.
      const wanted = { email: email || existing.email, name: name || existing.name };
      if (wanted.email === existing.email && wanted.name === existing.name) {
        return { user: toUserMessage(existing), created: false };
      }
      const updated = await mutate(req.subject, (u) => ({ ...u, ...wanted }));
      return { user: toUserMessage(updated), created: false };
    },

    async updateProfile(req) {
      const v = new Validator();
      checkId(v, req.userId, 'user_id');
      if (req.name !== undefined) checkText(v, req.name, 'name', true);
      if (req.phone !== undefined) checkPhone(v, req.phone, 'phone');
      if (req.expectedVersion !== undefined)
        v.check(req.expectedVersion >= 1, 'expected_version', 'must be at least 1');
      v.throwIfInvalid();
      const updated = await mutate(
        req.userId,
        (u) => {
          const phone = req.phone ?? u.phone;
          return {
            ...u,
            name: req.name?.trim() ?? u.name,
            phone,
            // Removing the phone number turns SMS off: there is nowhere left to send it.
            notificationPreferences: {
              ...u.notificationPreferences,
              smsEnabled: u.notificationPreferences.smsEnabled && phone !== '',
            },
          };
        },
        req.expectedVersion,
      );
      return { user: toUserMessage(updated) };
    },

    async addAddress(req) {
      const v = new Validator();
      checkId(v, req.userId, 'user_id');
      checkText(v, req.label, 'label', false);
      checkPostalAddress(v, req.postalAddress, 'postal_address');
      v.throwIfInvalid();
      const id = randomUUID();
      const updated = await mutate(req.userId, (u) => {
        if (u.addresses.length >= MAX_ADDRESSES) throw userErrors.TOO_MANY_ADDRESSES();
        const address: AddressRecord = {
          id,
          label: req.label.trim(),
          postalAddress: postal(req.postalAddress!),
        };
        return {
          ...u,
          addresses: [...u.addresses, address],
          defaultAddressId: req.makeDefault || u.addresses.length === 0 ? id : u.defaultAddressId,
        };
      });
      return { user: toUserMessage(updated), addressId: id };
    },

    async updateAddress(req) {
      const v = new Validator();
      checkId(v, req.userId, 'user_id');
      checkId(v, req.addressId, 'address_id');
      checkText(v, req.label, 'label', false);
      checkPostalAddress(v, req.postalAddress, 'postal_address');
      v.throwIfInvalid();
      const updated = await mutate(req.userId, (u) => {
        findAddress(u, req.addressId);
        return {
          ...u,
          addresses: u.addresses.map((a) =>
            a.id === req.addressId
              ? { id: a.id, label: req.label.trim(), postalAddress: postal(req.postalAddress!) }
              : a,
          ),
        };
      });
      return { user: toUserMessage(updated) };
    },

    async removeAddress(req) {
      const v = new Validator();
      checkId(v, req.userId, 'user_id');
      checkId(v, req.addressId, 'address_id');
      v.throwIfInvalid();
      const updated = await mutate(req.userId, (u) => {
        findAddress(u, req.addressId);
        return {
          ...u,
          addresses: u.addresses.filter((a) => a.id !== req.addressId),
          defaultAddressId: u.defaultAddressId === req.addressId ? '' : u.defaultAddressId,
        };
      });
      return { user: toUserMessage(updated) };
    },

    async setDefaultAddress(req) {
      const v = new Validator();
      checkId(v, req.userId, 'user_id');
      checkId(v, req.addressId, 'address_id');
      v.throwIfInvalid();
      const updated = await mutate(req.userId, (u) => {
        findAddress(u, req.addressId);
        return { ...u, defaultAddressId: req.addressId };
      });
      return { user: toUserMessage(updated) };
    },

    async updateNotificationPreferences(req) {
      const v = new Validator();
      checkId(v, req.userId, 'user_id');
      v.throwIfInvalid();
      const updated = await mutate(req.userId, (u) => {
        const smsEnabled = req.smsEnabled ?? u.notificationPreferences.smsEnabled;
        if (smsEnabled && !u.phone) throw userErrors.PHONE_REQUIRED_FOR_SMS();
        return {
          ...u,
          notificationPreferences: {
            emailEnabled: req.emailEnabled ?? u.notificationPreferences.emailEnabled,
            smsEnabled,
          },
        };
      });
      return { user: toUserMessage(updated) };
    },
  };
}
