import type { Metadata } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import {
  DomainError,
  STATUS_DETAILS_KEY,
  Validator,
  createLogger,
  decodeStatusDetails,
  defineErrors,
  graphqlCodeForGrpcStatus,
  readServiceError,
  toServiceError,
} from '@shop/platform';
import { Writable } from 'node:stream';

const silent = createLogger({
  service: 't',
  stream: new Writable({ write: (_c, _e, done) => done() }),
});

const errors = defineErrors('shop.product', {
  PRODUCT_NOT_FOUND: { grpc: status.NOT_FOUND, message: 'Product not found' },
  SKU_TAKEN: { grpc: status.ALREADY_EXISTS, message: 'SKU already used' },
  OUT_OF_STOCK: {
    grpc: status.FAILED_PRECONDITION,
    graphql: 'OUT_OF_STOCK',
    message: 'Out of stock',
  },
});

describe('error registry', () => {
  it.each([
    ['PRODUCT_NOT_FOUND', status.NOT_FOUND, 'NOT_FOUND'],
    ['SKU_TAKEN', status.ALREADY_EXISTS, 'ALREADY_EXISTS'],
    ['OUT_OF_STOCK', status.FAILED_PRECONDITION, 'OUT_OF_STOCK'],
  ] as const)('raises %s with gRPC status %i and GraphQL code %s', (reason, grpc, graphql) => {
    const err = errors[reason]();
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({
      reason,
      domain: 'shop.product',
      grpcStatus: grpc,
      graphqlCode: graphql,
    });
  });

  it('round-trips status details through gRPC trailers as google.rpc.Status', () => {
    const service = toServiceError(
      errors.SKU_TAKEN({ metadata: { sku: 'ABC-1' } }),
      silent,
      '/shop.product.v1.ProductService/CreateProduct',
    );
    expect(service.code).toBe(status.ALREADY_EXISTS);
    const [raw] = (service.metadata as Metadata).get(STATUS_DETAILS_KEY);
    expect(decodeStatusDetails(raw as Buffer)).toEqual({
      code: status.ALREADY_EXISTS,
      message: 'SKU already used',
      reason: 'SKU_TAKEN',
      domain: 'shop.product',
      metadata: { sku: 'ABC-1', graphql_code: 'ALREADY_EXISTS' },
      fieldViolations: [],
    });
  });

  it('maps a status without details (transport failure) by its code alone', () => {
    expect(
      readServiceError(
        { code: status.UNAVAILABLE, details: 'No connection established' },
        graphqlCodeForGrpcStatus,
      ),
    ).toMatchObject({ graphqlCode: 'SERVICE_UNAVAILABLE', fieldViolations: [] });
    expect(graphqlCodeForGrpcStatus(status.UNKNOWN)).toBe('INTERNAL_SERVER_ERROR');
  });

  it('collects every field violation before failing validation', () => {
    const v = new Validator();
    v.check(false, 'sku', 'must not be empty');
    v.check(true, 'name', 'unused');
    v.check(false, 'price.amount', 'must be >= 0');
    let thrown: unknown;
    try {
      v.throwIfInvalid();
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({
      grpcStatus: status.INVALID_ARGUMENT,
      graphqlCode: 'BAD_USER_INPUT',
      fieldViolations: [
        { field: 'sku', description: 'must not be empty' },
        { field: 'price.amount', description: 'must be >= 0' },
      ],
    });
  });
});
