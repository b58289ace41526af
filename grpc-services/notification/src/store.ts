import { isDuplicateKeyError, type IndexDeclarations } from '@shop/platform';
import type { notification } from '@shop/proto';
import type { Collection, Db, Filter } from 'mongodb';

/** Collection names of the notification database. */
export const COLLECTIONS = {
  notifications: 'notifications',
  processedEvents: 'processed_events',
} as const;

/** Indexes created at start-up. */
export const NOTIFICATION_INDEXES: IndexDeclarations = {
  [COLLECTIONS.notifications]: [
    // At most one notification per (event, channel): a redelivered event sends nothing twice.
    { key: { eventId: 1, channel: 1 }, name: 'event_channel', unique: true },
    { key: { userId: 1, createdAt: -1, _id: -1 }, name: 'user_newest_first' },
  ],
  [COLLECTIONS.processedEvents]: [{ key: { processedAt: 1 }, name: 'processed_at' }],
};

/** A stored notification. */
export interface NotificationDoc {
  _id: string;
  userId: string;
  channel: notification.NotificationChannel;
  status: notification.NotificationStatus;
  template: string;
  eventId: string;
  orderId: string;
  subject: string;
  recipient: string;
  /** Where the recipient came from ("user-service" or "order-event"). */
  recipientSource: string;
  failureReason: string;
  attempts: number;
  createdAt: Date;
  sentAt: Date | null;
  /** When a sender last took it on; a fresh claim by another consumer is waited for. */
  claimedAt: Date;
  /** True once NotificationSent was published for its final state. */
  published: boolean;
}

/** MongoDB access of the notification service. */
export interface NotificationStore {
  /** Inserts the notification, or returns the existing one for the same (event, channel). */
  claim(doc: NotificationDoc): Promise<{ doc: NotificationDoc; created: boolean }>;
  update(
    id: string,
    set: Partial<Omit<NotificationDoc, '_id' | 'eventId' | 'channel'>>,
  ): Promise<NotificationDoc | null>;
  get(id: string): Promise<NotificationDoc | null>;
  list(query: {
    userId: string;
    after?: { createdAt: Date; id: string };
    limit: number;
  }): Promise<NotificationDoc[]>;
  markProcessed(eventId: string): Promise<void>;
  wasProcessed(eventId: string): Promise<boolean>;
}

/** Creates the MongoDB-backed {@link NotificationStore}. */
export function createNotificationStore(db: Db): NotificationStore {
  const notifications: Collection<NotificationDoc> = db.collection(COLLECTIONS.notifications);
  const processed = db.collection<{ _id: string; processedAt: Date }>(COLLECTIONS.processedEvents);
  return {
    async claim(doc) {
      try {
        await notifications.insertOne(doc);
        return { doc, created: true };
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
        const existing = await notifications.findOne({
          eventId: doc.eventId,
          channel: doc.channel,
        });
        if (!existing) throw err;
        return { doc: existing, created: false };
      }
    },
    update: (id, set) =>
      notifications.findOneAndUpdate({ _id: id }, { $set: set }, { returnDocument: 'after' }),
    get: (id) => notifications.findOne({ _id: id }),
    list(query) {
      const filter: Filter<NotificationDoc> = { userId: query.userId };
      if (query.after) {
        filter.$or = [
          { createdAt: { $lt: query.after.createdAt } },
          { createdAt: query.after.createdAt, _id: { $lt: query.after.id } },
        ];
      }
      return notifications
        .find(filter)
        .sort({ createdAt: -1, _id: -1 })
        .limit(query.limit)
        .toArray();
    },
    async markProcessed(eventId) {
      try {
        await processed.insertOne({ _id: eventId, processedAt: new Date() });
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
    },
    async wasProcessed(eventId) {
      return (await processed.countDocuments({ _id: eventId }, { limit: 1 })) > 0;
    },
  };
}
