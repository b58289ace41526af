import { status } from '@grpc/grpc-js';
import { defineErrors } from '@shop/platform';

/** Every error the product service raises, with its gRPC status. */
export const errors = defineErrors('shop.product', {
  PRODUCT_NOT_FOUND: { grpc: status.NOT_FOUND, message: 'Product not found' },
  SKU_TAKEN: { grpc: status.ALREADY_EXISTS, message: 'A product with this SKU already exists' },
  CATEGORY_NOT_FOUND: {
    grpc: status.FAILED_PRECONDITION,
    message: 'The category does not exist',
  },
  PRODUCT_DELETED: {
    grpc: status.FAILED_PRECONDITION,
    message: 'The product has been deleted and can no longer be changed',
  },
  STALE_VERSION: {
    grpc: status.ABORTED,
    message: 'The product was changed by someone else; reload and retry',
  },
});
