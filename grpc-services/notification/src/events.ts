import {
  outgoingEvent,
  unpackPayload,
  type EventPublisher,
  type IncomingEvent,
  type Logger,
} from '@shop/platform';
import { notification, notificationEvents, orderEvents } from '@shop/proto';
import { randomUUID } from 'node:crypto';
import type { EmailSender, SmsSender } from './channels';
import type { RecipientDirectory } from './recipients';
import type { NotificationDoc, NotificationStore } from './store';
import { orderCancelled, orderConfirmed, orderPlaced, type RenderedMessage } from './templates';

const C = notification.NotificationChannel;
const NS = notification.NotificationStatus;

/** The order event a notification is about, reduced to what the templates need. */
interface OrderNotice {
  customerId: string;
  customerEmail: string;
  orderId: string;
  message: RenderedMessage;
}

/** Renders the order events we notify about; undefined for the others. */
export function noticeFor(event: IncomingEvent): OrderNotice | undefined {
  const { envelope } = event;
  switch (envelope.eventType) {
    case orderEvents.OrderCreated.$type: {
      const e = unpackPayload(envelope, orderEvents.OrderCreated);
      return { ...e, message: orderPlaced(e) };
    }
    case orderEvents.OrderConfirmed.$type: {
      const e = unpackPayload(envelope, orderEvents.OrderConfirmed);
      return { ...e, message: orderConfirmed(e) };
    }
    case orderEvents.OrderCancelled.$type: {
      const e = unpackPayload(envelope, orderEvents.OrderCancelled);
      return { ...e, message: orderCancelled(e) };
    }
    default:
      return undefined;
  }
}

/** Dependencies of {@link createOrderEventsHandler}. */
export interface NotifierDeps {
  store: NotificationStore;
  recipients: RecipientDirectory;
  email: EmailSender;
  /** Undefined when SMS is not configured. */
  sms: SmsSender | undefined;
  publisher: EventPublisher;
  topic: string;
  logger: Logger;
  maxSendAttempts: number;
  /** A claim younger than this by another consumer is waited for rather than sent again. */
  claimLeaseMs?: number;
  onSent?: (
    channel: notification.NotificationChannel,
    status: notification.NotificationStatus,
  ) => void;
}

/** A send failed but may succeed later: the consumer retries the event. */
export class RetryableSendError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RetryableSendError';
  }
}

/**
 * Handles `order-events`: for each event we notify about, records one notification per channel
 * (unique on event id and channel), delivers it, and publishes NotificationSent. A redelivered
 * event finds its notifications already final and sends nothing again.
 */
export function createOrderEventsHandler(
  deps: NotifierDeps,
): (event: IncomingEvent) => Promise<void> {
  const { store, logger } = deps;
  const lease = deps.claimLeaseMs ?? 5_000;

  const deliver = async (
    doc: NotificationDoc,
    send: () => Promise<void>,
  ): Promise<NotificationDoc> => {
    if (doc.status !== NS.NOTIFICATION_STATUS_QUEUED) return doc;
    const attempts = doc.attempts + 1;
    try {
      await send();
      return (
        (await store.update(doc._id, {
          status: NS.NOTIFICATION_STATUS_SENT,
          attempts,
          sentAt: new Date(),
          failureReason: '',
        })) ?? doc
      );
    } catch (err) {
      const reason = (err as Error).message.slice(0, 500);
      if (attempts >= deps.maxSendAttempts) {
        logger.warn({ notification_id: doc._id, attempts, err }, 'notification failed for good');
        return (
          (await store.update(doc._id, {
            status: NS.NOTIFICATION_STATUS_FAILED,
            attempts,
            failureReason: reason,
          })) ?? doc
        );
      }
      await store.update(doc._id, { attempts, failureReason: reason });
      throw new RetryableSendError(`delivery of ${doc._id} failed: ${reason}`, { cause: err });
    }
  };

  const publish = async (doc: NotificationDoc): Promise<void> => {
    if (doc.published || doc.status === NS.NOTIFICATION_STATUS_QUEUED) return;
    await deps.publisher.publish(deps.topic, [
      outgoingEvent(
        notificationEvents.NotificationSent,
        {
          notificationId: doc._id,
          userId: doc.userId,
          channel: doc.channel,
          eventId: doc.eventId,
          status: doc.status,
          template: doc.template,
          orderId: doc.orderId,
        },
        { aggregateType: 'user', aggregateId: doc.userId, causationId: doc.eventId },
      ),
    ]);
    await store.update(doc._id, { published: true });
    deps.onSent?.(doc.channel, doc.status);
  };

  /** Records (or finds) the notification of one channel, then sends and publishes it. */
  const notify = async (
    base: Omit<
      NotificationDoc,
      '_id' | 'channel' | 'status' | 'recipient' | 'subject' | 'failureReason'
    >,
    channel: notification.NotificationChannel,
    recipient: string,
    subject: string,
    skipReason: string,
    send: () => Promise<void>,
  ): Promise<void> => {
    const { doc, created } = await store.claim({
      ...base,
      _id: randomUUID(),
      channel,
      recipient,
      subject,
      status: skipReason ? NS.NOTIFICATION_STATUS_SKIPPED : NS.NOTIFICATION_STATUS_QUEUED,
      failureReason: skipReason,
    });
    let current = doc;
    if (!created && current.status === NS.NOTIFICATION_STATUS_QUEUED) {
      // Another delivery of this event is sending it right now (or crashed while sending).
      if (Date.now() - current.claimedAt.getTime() < lease && current.attempts === 0) {
        throw new RetryableSendError(`notification ${current._id} is being sent elsewhere`);
      }
      current = (await store.update(current._id, { claimedAt: new Date() })) ?? current;
    }
    current = await deliver(current, send);
    await publish(current);
  };

  return async (event) => {
    const { eventId } = event.envelope;
    const notice = noticeFor(event);
    if (!notice) return;
    if (await store.wasProcessed(eventId)) return;
    const recipient = await deps.recipients.find(notice.customerId, notice.customerEmail);
    const { message } = notice;
    const now = new Date();
    const base = {
      userId: notice.customerId,
      template: message.template,
      eventId,
      orderId: notice.orderId,
      recipientSource: recipient.source,
      attempts: 0,
      createdAt: now,
      sentAt: null,
      claimedAt: now,
      published: false,
    };

    const emailSkip = !recipient.emailEnabled
      ? 'the user opted out of email'
      : !recipient.email
        ? 'no email address known'
        : '';
    await notify(
      base,
      C.NOTIFICATION_CHANNEL_EMAIL,
      recipient.email,
      message.subject,
      emailSkip,
      () =>
        deps.email.send({
          to: recipient.email,
          subject: message.subject,
          text: message.text,
          html: message.html,
          messageId: `<${eventId}.email@shop.local>`,
        }),
    );

    // SMS only for users who opted in (and have a phone); recorded as skipped when SMS is off here.
    if (recipient.smsEnabled && recipient.phone) {
      const sms = deps.sms;
      await notify(
        base,
        C.NOTIFICATION_CHANNEL_SMS,
        recipient.phone,
        message.sms.slice(0, 60),
        sms ? '' : 'SMS is not configured',
        async () => {
          await sms!.send({ to: recipient.phone, body: message.sms });
        },
      );
    }
    await store.markProcessed(eventId);
  };
}
