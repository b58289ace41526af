import { signedIn, type Policy } from '@shop/platform';
import type { notification } from '@shop/proto';

/**
 * The one place that says who may call each NotificationService RPC: signed-in callers read
 * their own notifications (operators anyone's; the handlers narrow to what the caller may see).
 */
export const notificationPolicy: Policy<notification.NotificationServiceService> = {
  listNotifications: signedIn,
  getNotification: signedIn,
};
