import {
  Validator,
  checkPageSize,
  createdAtTokens,
  isAdmin,
  readPage,
  signedInCaller,
  type AsyncServiceImplementation,
  type CreatedPosition,
} from '@shop/platform';
import { notification } from '@shop/proto';
import { errors } from './errors';
import type { NotificationDoc, NotificationStore } from './store';

/** The public view of a stored notification. */
export function toNotificationMessage(doc: NotificationDoc): notification.Notification {
  return notification.Notification.fromPartial({
    id: doc._id,
    userId: doc.userId,
    channel: doc.channel,
    status: doc.status,
    template: doc.template,
    eventId: doc.eventId,
    orderId: doc.orderId,
    subject: doc.subject,
    recipient: doc.recipient,
    failureReason: doc.failureReason,
    attempts: doc.attempts,
    createdAt: doc.createdAt,
    ...(doc.sentAt ? { sentAt: doc.sentAt } : {}),
  });
}

/** Pages continue after the last item's creation time and id. */
const pages = createdAtTokens();
const positionOf = (doc: NotificationDoc): CreatedPosition => ({
  createdAt: doc.createdAt,
  id: doc._id,
});

/**
 * The NotificationService RPC handlers (reads only: sending is driven by events), for a server
 * that guards them with `notificationPolicy`.
 */
export function createNotificationService(deps: {
  store: NotificationStore;
}): AsyncServiceImplementation<typeof notification.NotificationServiceService> {
  const { store } = deps;
  return {
    async listNotifications(request, ctx) {
      const caller = signedInCaller(ctx.caller);
      const v = new Validator();
      checkPageSize(v, request.page);
      v.throwIfInvalid();
      const userId = isAdmin(caller) && request.userId ? request.userId : caller.subject;
      const { items, nextPageToken } = await readPage(
        request.page,
        { tokens: pages, positionOf },
        (after, limit) => store.list({ userId, ...(after ? { after } : {}), limit }),
      );
      return { notifications: items.map(toNotificationMessage), page: { nextPageToken } };
    },
    async getNotification(request, ctx) {
      const caller = signedInCaller(ctx.caller);
      const v = new Validator();
      v.check(request.id.trim() !== '', 'id', 'is required');
      v.throwIfInvalid();
      const doc = await store.get(request.id);
      if (!doc || (doc.userId !== caller.subject && !isAdmin(caller))) {
        throw errors.NOTIFICATION_NOT_FOUND();
      }
      return { notification: toNotificationMessage(doc) };
    },
  };
}
