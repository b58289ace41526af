import {
  createServiceCaller,
  connectMongo,
  createEventPublisher,
  createKafka,
  createLogger,
  createMetrics,
  ensureIndexes,
  ensureTopics,
  runConsumer,
  startService,
  type Logger,
  type RunningService,
} from '@shop/platform';
import { notification } from '@shop/proto';
import { Counter } from 'prom-client';
import {
  createSmtpEmailSender,
  createTwilioSmsSender,
  type EmailSender,
  type SmsSender,
} from './channels';
import type { NotificationConfig } from './config';
import { createOrderEventsHandler } from './events';
import { createGrpcRecipientDirectory, type RecipientDirectory } from './recipients';
import { createNotificationService } from './service';
import { NOTIFICATION_INDEXES, createNotificationStore } from './store';

/** Replaceable collaborators, for tests and embedding. */
export interface NotificationOverrides {
  logger?: Logger;
  recipients?: RecipientDirectory;
  email?: EmailSender;
  sms?: SmsSender;
}

const label = (value: number, toJson: (v: number) => string, prefix: string): string =>
  toJson(value).replace(prefix, '').toLowerCase();

/**
 * Starts the notification service: MongoDB (indexes), the `order-events` consumer that sends
 * email and SMS, the `user-notifications` publisher, and the gRPC server with `/metrics`.
 */
export async function startNotificationService(
  config: NotificationConfig,
  overrides: NotificationOverrides = {},
): Promise<RunningService> {
  const logger =
    overrides.logger ?? createLogger({ service: config.serviceName, level: config.logLevel });
  const metrics = createMetrics({ service: config.serviceName });
  const cleanup: Array<() => Promise<void>> = [];
  const stopAll = async (): Promise<void> => {
    for (const step of cleanup.splice(0).reverse()) {
      await step().catch((err: unknown) => logger.error({ err }, 'cleanup step failed'));
    }
  };
  try {
    const mongo = await connectMongo({
      url: config.mongoUrl,
      database: config.mongoDatabase,
      logger,
    });
    cleanup.push(() => mongo.close());
    await ensureIndexes(mongo.db, NOTIFICATION_INDEXES);
    const store = createNotificationStore(mongo.db);

    const kafka = createKafka({
      brokers: config.kafkaBrokers,
      clientId: config.serviceName,
      logger,
    });
    await ensureTopics(kafka, [
      { name: config.topics.orderEvents },
      { name: config.topics.userNotifications },
    ]);
    const publisher = await createEventPublisher(kafka, { producerName: config.serviceName });
    cleanup.push(() => publisher.disconnect());

    const recipients =
      overrides.recipients ??
      createGrpcRecipientDirectory({
        address: config.userServiceUrl,
        deadlineMs: config.userServiceDeadlineMs,
        logger,
        self: createServiceCaller(config.auth, config.serviceAccount, config.serviceName),
      });
    cleanup.push(() => Promise.resolve(recipients.close()));
    const email =
      overrides.email ?? createSmtpEmailSender({ url: config.smtpUrl, from: config.mailFrom });
    cleanup.push(() => Promise.resolve(email.close()));
    const sms = overrides.sms ?? (config.twilio ? createTwilioSmsSender(config.twilio) : undefined);

    const sent = new Counter({
      name: 'notifications_total',
      help: 'Notifications reaching a final state, by channel and status.',
      labelNames: ['channel', 'status'],
      registers: [metrics.registry],
    });
    const consumer = await runConsumer({
      kafka,
      groupId: config.consumerGroup,
      topics: [config.topics.orderEvents],
      logger,
      registry: metrics.registry,
      maxAttempts: config.consumerMaxAttempts,
      initialBackoffMs: config.consumerInitialBackoffMs,
      handle: createOrderEventsHandler({
        store,
        recipients,
        email,
        sms,
        publisher,
        topic: config.topics.userNotifications,
        logger,
        maxSendAttempts: config.maxSendAttempts,
        onSent: (channel, status) =>
          sent.inc({
            channel: label(
              channel,
              notification.notificationChannelToJSON,
              'NOTIFICATION_CHANNEL_',
            ),
            status: label(status, notification.notificationStatusToJSON, 'NOTIFICATION_STATUS_'),
          }),
      }),
    });
    cleanup.push(() => consumer.stop());

    return await startService({
      config,
      logger,
      registry: metrics.registry,
      interceptors: [metrics.grpcServerInterceptor],
      register: (server) =>
        server.addService(
          'shop.notification.v1.NotificationService',
          notification.NotificationServiceService,
          createNotificationService({ store }),
        ),
      onStop: [stopAll],
    });
  } catch (err) {
    await stopAll();
    throw err;
  }
}
