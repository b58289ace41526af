import { status } from '@grpc/grpc-js';
import { defineErrors } from '@shop/platform';

/** The inventory domain's error registry: one entry per client-visible failure. */
export const inventoryErrors = defineErrors('shop.inventory', {
  STOCK_NOT_FOUND: { grpc: status.NOT_FOUND, message: 'The product has no stock record' },
  STOCK_ALREADY_EXISTS: {
    grpc: status.ALREADY_EXISTS,
    message: 'The product already has stock with a different quantity; use AdjustStock',
  },
  INSUFFICIENT_STOCK: {
    grpc: status.FAILED_PRECONDITION,
    message: 'The change would leave less on hand than is reserved',
  },
  STALE_VERSION: {
    grpc: status.ABORTED,
    message: 'The stock changed since the expected version',
  },
  IDEMPOTENCY_KEY_REUSED: {
    grpc: status.FAILED_PRECONDITION,
    message: 'The idempotency key was already used for a different adjustment',
  },
  STOCK_CONTENDED: {
    grpc: status.ABORTED,
    message: 'The stock is being changed by too many writers; retry',
  },
});
