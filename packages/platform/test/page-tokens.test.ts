import { status } from '@grpc/grpc-js';
import { createdAtTokens, isDomainError, pageTokens } from '../src';

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
