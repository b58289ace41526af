import { status } from '@grpc/grpc-js';
import { defineErrors } from '@shop/platform';

/** Every error the order service raises, with its gRPC status. */
export const errors = defineErrors('shop.order', {
  ORDER_NOT_FOUND: { grpc: status.NOT_FOUND, message: 'Order not found' },
  // A bad argument of the request (field violations name the lines), not a state to fix first.
  PRODUCT_NOT_FOUND: {
    grpc: status.INVALID_ARGUMENT,
    message: 'Some ordered products do not exist or are no longer sold',
  },
  MIXED_CURRENCIES: {
    grpc: status.FAILED_PRECONDITION,
    message: 'All products of one order must be priced in the same currency',
  },
  IDEMPOTENCY_KEY_REUSED: {
    grpc: status.FAILED_PRECONDITION,
    message: 'This idempotency key was already used for a different order',
  },
  INVALID_TRANSITION: {
    grpc: status.FAILED_PRECONDITION,
    message: 'The order cannot make this status change',
  },
  CONCURRENT_UPDATE: {
    grpc: status.ABORTED,
    message: 'The order was changed concurrently; retry',
  },
  PAYMENT_UNAVAILABLE: {
    grpc: status.UNAVAILABLE,
    graphql: 'SERVICE_UNAVAILABLE',
    message: 'The payment provider could not be reached; retry later',
  },
});
