import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import {
  createGrpcClient,
  createLogger,
  graphqlCodeForGrpcStatus,
  identityMetadata,
  readServiceError,
  type PromiseClient,
  type RemoteError,
  type RunningService,
} from '@shop/platform';
import type { common } from '@shop/proto';
import { user } from '@shop/proto';
import { testEnv, uniqueId } from '@shop/testing';
import { Writable } from 'node:stream';
import { loadUserConfig, startUserService, userPolicy } from '@shop/user-service';

type Client = PromiseClient<typeof user.UserServiceService>;

const quietLogger = createLogger({
  service: 'user-test',
  level: 'fatal',
  stream: new Writable({ write: (_c, _e, done) => done() }),
});

async function remoteError(promise: Promise<unknown>): Promise<RemoteError> {
  try {
    await promise;
  } catch (err) {
    return readServiceError(err as ServiceError, graphqlCodeForGrpcStatus);
  }
  throw new Error('expected the call to fail');
}

const home: common.PostalAddress = {
  recipientName: 'Alice Example',
  line1: 'Hauptstr. 1',
  line2: '',
  city: 'Berlin',
  region: '',
  postalCode: '10115',
  countryCode: 'DE',
  phone: '',
};

async function start(enforce: boolean): Promise<{ service: RunningService; client: Client }> {
  const service = await startUserService(
    loadUserConfig({
      AUTH_TRUST_IDENTITY_METADATA: 'true',
      MONGO_URL: testEnv().mongoUrl,
      MONGO_DATABASE: uniqueId('user').replace(/-/g, '_'),
      GRPC_PORT: '0',
      METRICS_PORT: '0',
      LOG_LEVEL: 'fatal',
      ENFORCE_POLICY: String(enforce),
    }),
    { logger: quietLogger },
  );
  const client = createGrpcClient(
    'shop.user.v1.UserService',
    user.UserServiceService,
    `127.0.0.1:${service.grpcPort}`,
  );
  return { service, client };
}

describe('user service', () => {
  let service: RunningService;
  let client: Client;
  const provision = async (name = 'Alice Example') => {
    const subject = uniqueId('sub');
    const res = await client.upsertUserFromClaims({
      subject,
      email: `${subject}@shop.local`,
      name,
    });
    return res.user!;
  };

  beforeAll(async () => {
    ({ service, client } = await start(false));
  });

  afterAll(async () => {
    client.close();
    await service.stop();
  });

  it('provisions a profile on the first call from claims and refreshes it idempotently later', async () => {
    const subject = uniqueId('sub');
    const first = await client.upsertUserFromClaims({
      subject,
      email: 'Alice@Shop.Local',
      name: 'Alice',
    });
    expect(first).toMatchObject({
      created: true,
      user: {
        id: subject,
        email: 'alice@shop.local',
        name: 'Alice',
        version: 1,
        notificationPreferences: { emailEnabled: true, smsEnabled: false },
      },
    });
    const same = await client.upsertUserFromClaims({
      subject,
      email: 'alice@shop.local',
      name: 'Alice',
    });
    expect(same).toMatchObject({ created: false, user: { version: 1 } });
    const renamed = await client.upsertUserFromClaims({
      subject,
      email: 'alice@new.example',
      name: 'Alice B.',
    });
    expect(renamed).toMatchObject({
      created: false,
      user: { email: 'alice@new.example', name: 'Alice B.', version: 2 },
    });
    expect((await client.getUser({ id: subject })).user).toMatchObject({
      email: 'alice@new.example',
    });
  });

  it('provisions exactly one profile when a new user signs in from ten tabs at once', async () => {
    const subject = uniqueId('sub');
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        client.upsertUserFromClaims({ subject, email: 'x@shop.local', name: 'X' }),
      ),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect((await client.getUser({ id: subject })).user?.version).toBe(1);
  });

  it('gets one profile and answers NOT_FOUND for a user who never signed in', async () => {
    const u = await provision();
    expect((await client.getUser({ id: u.id })).user).toMatchObject({
      id: u.id,
      name: 'Alice Example',
    });
    expect(await remoteError(client.getUser({ id: 'nobody' }))).toMatchObject({
      code: status.NOT_FOUND,
      reason: 'USER_NOT_FOUND',
    });
  });

  it('batch-gets profiles in request order, once each, listing unknown ids', async () => {
    const a = await provision('A');
    const b = await provision('B');
    const res = await client.batchGetUsers({ ids: [b.id, 'ghost', a.id, b.id] });
    expect(res.users.map((u) => u.id)).toEqual([b.id, a.id]);
    expect(res.notFoundIds).toEqual(['ghost']);
  });

  it('lists profiles by creation time, page by page, filtered case-insensitively', async () => {
    const tag = uniqueId('zebra').replace(/-/g, '');
    const made: string[] = [];
    for (let i = 0; i < 7; i += 1) made.push((await provision(`${tag.toUpperCase()} ${i}`)).id);
    const seen: string[] = [];
    let pageToken = '';
    do {
      const res = await client.listUsers({ query: tag, page: { pageSize: 3, pageToken } });
      seen.push(...res.users.map((u) => u.id));
      pageToken = res.page?.nextPageToken ?? '';
    } while (pageToken);
    expect(seen).toEqual(made);
    expect(
      await remoteError(
        client.listUsers({ query: 'other', page: { pageSize: 3, pageToken: 'bad' } }),
      ),
    ).toMatchObject({
      code: status.INVALID_ARGUMENT,
      fieldViolations: [{ field: 'page.page_token' }],
    });
  });

  it('updates name and phone, and aborts an update at a stale version', async () => {
    const u = await provision();
    const res = await client.updateProfile({
      userId: u.id,
      name: 'Alice New',
      phone: '+4930123456',
      expectedVersion: 1,
    });
    expect(res.user).toMatchObject({ name: 'Alice New', phone: '+4930123456', version: 2 });
    expect(
      await remoteError(client.updateProfile({ userId: u.id, name: 'Late', expectedVersion: 1 })),
    ).toMatchObject({
      code: status.ABORTED,
      reason: 'STALE_VERSION',
    });
  });

  it('manages addresses: the first becomes default, defaults move, removing the default leaves none', async () => {
    const u = await provision();
    const first = await client.addAddress({
      userId: u.id,
      label: 'Home',
      postalAddress: home,
      makeDefault: false,
    });
    expect(first.user?.defaultAddressId).toBe(first.addressId);
    const work = await client.addAddress({
      userId: u.id,
      label: 'Work',
      postalAddress: { ...home, line1: 'Werkstr. 9' },
      makeDefault: false,
    });
    expect(work.user?.defaultAddressId).toBe(first.addressId);
    const updated = await client.updateAddress({
      userId: u.id,
      addressId: work.addressId,
      label: 'Office',
      postalAddress: { ...home, line1: 'Bürostr. 2' },
    });
    expect(updated.user?.addresses.find((a) => a.id === work.addressId)).toMatchObject({
      label: 'Office',
      postalAddress: { line1: 'Bürostr. 2' },
    });
    const moved = await client.setDefaultAddress({ userId: u.id, addressId: work.addressId });
    expect(moved.user?.defaultAddressId).toBe(work.addressId);
    const removed = await client.removeAddress({ userId: u.id, addressId: work.addressId });
    expect(removed.user).toMatchObject({
      defaultAddressId: '',
      addresses: [{ id: first.addressId }],
    });
    expect(
      await remoteError(client.setDefaultAddress({ userId: u.id, addressId: work.addressId })),
    ).toMatchObject({
      code: status.NOT_FOUND,
      reason: 'ADDRESS_NOT_FOUND',
    });
  });

  it('refuses SMS without a phone, allows it with one, and turns it off when the phone is removed', async () => {
    const u = await provision();
    expect(
      await remoteError(client.updateNotificationPreferences({ userId: u.id, smsEnabled: true })),
    ).toMatchObject({
      code: status.FAILED_PRECONDITION,
      reason: 'PHONE_REQUIRED_FOR_SMS',
    });
    await client.updateProfile({ userId: u.id, phone: '+4930123456' });
    const on = await client.updateNotificationPreferences({
      userId: u.id,
      smsEnabled: true,
      emailEnabled: false,
    });
    expect(on.user?.notificationPreferences).toEqual({ emailEnabled: false, smsEnabled: true });
    const off = await client.updateProfile({ userId: u.id, phone: '' });
    expect(off.user).toMatchObject({ phone: '', notificationPreferences: { smsEnabled: false } });
  });

  it.each<[string, () => Promise<unknown>, number, string[]]>([
    ['GetUser without id', () => client.getUser({ id: '' }), status.INVALID_ARGUMENT, ['id']],
    [
      'BatchGetUsers without ids',
      () => client.batchGetUsers({ ids: [] }),
      status.INVALID_ARGUMENT,
      ['ids'],
    ],
    [
      'BatchGetUsers with 501 ids',
      () => client.batchGetUsers({ ids: Array.from({ length: 501 }, (_, i) => `u${i}`) }),
      status.INVALID_ARGUMENT,
      ['ids'],
    ],
    [
      'ListUsers with a negative page size',
      () => client.listUsers({ query: '', page: { pageSize: -1, pageToken: '' } }),
      status.INVALID_ARGUMENT,
      ['page.page_size'],
    ],
    [
      'UpsertUserFromClaims without subject and with a bad email',
      () => client.upsertUserFromClaims({ subject: '', email: 'not-an-email', name: 'x' }),
      status.INVALID_ARGUMENT,
      ['subject', 'email'],
    ],
    [
      'UpdateProfile with a blank name',
      () => client.updateProfile({ userId: 'u', name: ' ' }),
      status.INVALID_ARGUMENT,
      ['name'],
    ],
    [
      'UpdateProfile with a malformed phone',
      () => client.updateProfile({ userId: 'u', phone: '030 123' }),
      status.INVALID_ARGUMENT,
      ['phone'],
    ],
    [
      'UpdateProfile of an unknown user',
      () => client.updateProfile({ userId: 'ghost', name: 'G' }),
      status.NOT_FOUND,
      [],
    ],
    [
      'AddAddress without a postal address',
      () => client.addAddress({ userId: 'u', label: 'Home', makeDefault: false }),
      status.INVALID_ARGUMENT,
      ['postal_address'],
    ],
    [
      'AddAddress with missing and malformed fields',
      () =>
        client.addAddress({
          userId: 'u',
          label: 'Home',
          postalAddress: { ...home, line1: '', countryCode: 'de', phone: '12' },
          makeDefault: false,
        }),
      status.INVALID_ARGUMENT,
      ['postal_address.line1', 'postal_address.country_code', 'postal_address.phone'],
    ],
    [
      'UpdateAddress without address id',
      () => client.updateAddress({ userId: 'u', addressId: '', label: '', postalAddress: home }),
      status.INVALID_ARGUMENT,
      ['address_id'],
    ],
    [
      'RemoveAddress without user id',
      () => client.removeAddress({ userId: '', addressId: 'a' }),
      status.INVALID_ARGUMENT,
      ['user_id'],
    ],
    [
      'SetDefaultAddress without ids',
      () => client.setDefaultAddress({ userId: '', addressId: '' }),
      status.INVALID_ARGUMENT,
      ['user_id', 'address_id'],
    ],
    [
      'UpdateNotificationPreferences without user id',
      () => client.updateNotificationPreferences({ userId: '' }),
      status.INVALID_ARGUMENT,
      ['user_id'],
    ],
  ])('answers %s with the right status and fields', async (_name, call, code, fields) => {
    const err = await remoteError(call());
    expect(err.code).toBe(code);
    expect(err.fieldViolations.map((v) => v.field)).toEqual(fields);
  });

  it('caps saved addresses per profile', async () => {
    const u = await provision();
    for (let i = 0; i < 20; i += 1) {
      await client.addAddress({
        userId: u.id,
        label: `A${i}`,
        postalAddress: home,
        makeDefault: false,
      });
    }
    expect(
      await remoteError(
        client.addAddress({
          userId: u.id,
          label: 'one too many',
          postalAddress: home,
          makeDefault: false,
        }),
      ),
    ).toMatchObject({ code: status.FAILED_PRECONDITION, reason: 'TOO_MANY_ADDRESSES' });
  });
});

describe('user access policy (enforced)', () => {
  let service: RunningService;
  let client: Client;
  const as = (subject: string, roles: string[] = []) => ({
    metadata: identityMetadata({ kind: 'user', subject, roles }, new Metadata()),
  });

  beforeAll(async () => {
    ({ service, client } = await start(true));
    await client.upsertUserFromClaims(
      { subject: 'alice', email: 'alice@shop.local', name: 'Alice' },
      as('alice'),
    );
    await client.upsertUserFromClaims(
      { subject: 'bob', email: 'bob@shop.local', name: 'Bob' },
      as('bob'),
    );
  });

  afterAll(async () => {
    client.close();
    await service.stop();
  });

  it('names a rule for every RPC', () => {
    expect(Object.keys(userPolicy).sort()).toEqual(Object.keys(user.UserServiceService).sort());
  });

  it('lets users read and edit only their own profile', async () => {
    await expect(client.getUser({ id: 'alice' }, as('alice'))).resolves.toBeDefined();
    await expect(
      client.updateProfile({ userId: 'alice', name: 'A' }, as('alice')),
    ).resolves.toBeDefined();
    expect(await remoteError(client.getUser({ id: 'alice' }, as('bob')))).toMatchObject({
      code: status.PERMISSION_DENIED,
    });
    expect(
      await remoteError(client.updateProfile({ userId: 'alice', name: 'x' }, as('bob'))),
    ).toMatchObject({
      code: status.PERMISSION_DENIED,
    });
    expect(
      await remoteError(client.batchGetUsers({ ids: ['bob', 'alice'] }, as('bob'))),
    ).toMatchObject({
      code: status.PERMISSION_DENIED,
    });
    expect(await remoteError(client.getUser({ id: 'alice' }))).toMatchObject({
      code: status.UNAUTHENTICATED,
    });
  });

  it('lets operators list and read everyone', async () => {
    const res = await client.listUsers({ query: '' }, as('admin-1', ['admin']));
    expect(res.users.map((u) => u.id).sort()).toEqual(['alice', 'bob']);
    expect(await remoteError(client.listUsers({ query: '' }, as('alice')))).toMatchObject({
      code: status.PERMISSION_DENIED,
    });
  });
});
