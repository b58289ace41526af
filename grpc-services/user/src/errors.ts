import { status } from '@grpc/grpc-js';
import { defineErrors } from '@shop/platform';

/** The user domain's error registry: one entry per client-visible failure. */
export const userErrors = defineErrors('shop.user', {
  USER_NOT_FOUND: { grpc: status.NOT_FOUND, message: 'No profile for this user' },
  ADDRESS_NOT_FOUND: { grpc: status.NOT_FOUND, message: 'No saved address with this id' },
  TOO_MANY_ADDRESSES: {
    grpc: status.FAILED_PRECONDITION,
    message: 'The profile already has the maximum number of saved addresses',
  },
  PHONE_REQUIRED_FOR_SMS: {
    grpc: status.FAILED_PRECONDITION,
    message: 'SMS notifications need a phone number on the profile',
  },
  STALE_VERSION: {
    grpc: status.ABORTED,
    message: 'The profile changed since the expected version',
  },
  EMAIL_TAKEN: {
    grpc: status.ALREADY_EXISTS,
    message: 'An account with this email already exists',
  },
  ACCOUNT_REFUSED: {
    grpc: status.INVALID_ARGUMENT,
    message: 'The identity provider refused the account',
  },
  IDENTITY_PROVIDER_UNAVAILABLE: {
    grpc: status.UNAVAILABLE,
    message: 'Sign-up is unavailable right now; retry later',
  },
});
