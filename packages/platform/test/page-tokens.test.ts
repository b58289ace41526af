import { status } from '@grpc/grpc-js';
import { createdAtTokens, isDomainError, pageTokens, readPage } from '../src';

const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (!isDomainError(err)) throw err;
    return {
      status: err.grpcStatus,
      reason: err.reason,
      fields: err.fieldViolations.map((v) => v.field),
    };
  }
  throw new Error('expected the token to be refused');
};

const REFUSED = {
  status: status.INVALID_ARGUMENT,
  reason: 'INVALID_PAGE_TOKEN',
  fields: ['page.page_token'],
};

describe('page tokens', () => {
  const seqTokens = pageTokens((v) => (Number.isInteger(v) ? (v as number) : undefined));

  it('gives back the position a token was issued for, in the same listing', () => {
    expect(seqTokens.decode(seqTokens.encode(42, 'p-1'), 'p-1')).toBe(42);
    const created = createdAtTokens();
    const position = { createdAt: new Date('2026-12-03T10:00:00.123Z'), id: 'o-9' };
    expect(created.decode(created.encode(position, 'alice'), 'alice')).toEqual(position);
  });

  it.each([
    ['a token of another listing', () => seqTokens.decode(seqTokens.encode(42, 'p-1'), 'p-2')],
    ['garbage', () => seqTokens.decode('garbage', 'p-1')],
    [
      'valid JSON of another shape',
      () => seqTokens.decode(Buffer.from('[1,2]').toString('base64url')),
    ],
    [
      'a position of the wrong type',
      () => seqTokens.decode(Buffer.from('{"l":"","p":"x"}').toString('base64url')),
    ],
    [
      'a creation position without an id',
      () =>
        createdAtTokens().decode(Buffer.from('{"l":"","p":[1700000000000]}').toString('base64url')),
    ],
  ])('refuses %s with INVALID_ARGUMENT on page.page_token', (_name, decode) => {
    expect(refusal(decode)).toEqual(REFUSED);
  });
});

describe('readPage', () => {
  const tokens = pageTokens((v) => (Number.isInteger(v) ? (v as number) : undefined));
  const numbers = Array.from({ length: 145 }, (_, i) => i);
  const read = (after: number | undefined, limit: number) =>
    Promise.resolve(numbers.filter((n) => after === undefined || n > after).slice(0, limit));
  const options = { tokens, positionOf: (n: number) => n, listing: 'numbers' };

  it('walks a listing page by page with the default size, then ends with an empty token', async () => {
    const sizes: number[] = [];
    let pageToken = '';
    do {
      const page = await readPage({ pageToken }, options, read);
      sizes.push(page.items.length);
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
    expect(sizes).toEqual([20, 20, 20, 20, 20, 20, 20, 5]);
  });

  it('caps the page size and refuses a token of another listing', async () => {
    const page = await readPage({ pageSize: 1_000 }, options, read);
    expect(page.items).toHaveLength(100);
    const first = await readPage({ pageSize: 2 }, options, read);
    await expect(
      readPage({ pageToken: first.nextPageToken }, { ...options, listing: 'other' }, read),
    ).rejects.toMatchObject({ reason: 'INVALID_PAGE_TOKEN' });
  });
});
