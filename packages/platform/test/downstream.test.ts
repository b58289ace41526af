import { status } from '@grpc/grpc-js';
import { callDownstream, isDomainError } from '@shop/platform';

const failing = (code: number) => () => Promise.reject(Object.assign(new Error('x'), { code }));

describe('callDownstream', () => {
  it.each([status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.RESOURCE_EXHAUSTED])(
    'answers UNAVAILABLE naming the service when it answers %s',
    async (code) => {
      const err: unknown = await callDownstream('product', failing(code)).catch((e: unknown) => e);
      expect(isDomainError(err)).toBe(true);
      expect(err).toMatchObject({
        reason: 'DOWNSTREAM_UNAVAILABLE',
        grpcStatus: status.UNAVAILABLE,
        graphqlCode: 'SERVICE_UNAVAILABLE',
        metadata: { service: 'product' },
        message: 'The product service could not be reached; retry later',
      });
    },
  );

  it.each([status.NOT_FOUND, status.INVALID_ARGUMENT, status.INTERNAL])(
    'passes %s through unchanged',
    async (code) => {
      await expect(callDownstream('product', failing(code))).rejects.toMatchObject({ code });
    },
  );

  it('returns what the call answers', async () => {
    await expect(callDownstream('product', () => Promise.resolve(42))).resolves.toBe(42);
  });
});
