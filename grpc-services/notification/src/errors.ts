import { status } from '@grpc/grpc-js';
import { defineErrors } from '@shop/platform';

/** Every error the notification service raises, with its gRPC status. */
export const errors = defineErrors('shop.notification', {
  NOTIFICATION_NOT_FOUND: { grpc: status.NOT_FOUND, message: 'Notification not found' },
});
