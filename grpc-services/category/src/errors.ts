import { status } from '@grpc/grpc-js';
import { defineErrors } from '@shop/platform';

/** Every error the category service raises, with its gRPC status. */
export const errors = defineErrors('shop.category', {
  CATEGORY_NOT_FOUND: { grpc: status.NOT_FOUND, message: 'Category not found' },
  PARENT_NOT_FOUND: {
    grpc: status.FAILED_PRECONDITION,
    message: 'The parent category does not exist',
  },
  SLUG_TAKEN: {
    grpc: status.ALREADY_EXISTS,
    message: 'A sibling category already uses this slug',
  },
  MOVE_INTO_OWN_SUBTREE: {
    grpc: status.FAILED_PRECONDITION,
    message: 'A category cannot be moved under itself or one of its descendants',
  },
  HAS_CHILDREN: {
    grpc: status.FAILED_PRECONDITION,
    message: 'The category has children; move them or ask to reparent them',
  },
  HAS_PRODUCTS: {
    grpc: status.FAILED_PRECONDITION,
    message: 'The category still holds products',
  },
  STALE_VERSION: {
    grpc: status.ABORTED,
    message: 'The category was changed by someone else; reload and retry',
  },
});
