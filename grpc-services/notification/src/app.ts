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
  startWithRollback,
  withPolicy,
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
import { notificationPolicy } from './policy';
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
export function startNotificationService(
  config: NotificationConfig,
  overrides: NotificationOverrides = {},
): Promise<RunningService> {
  const logger =
    overrides.logger ?? createLogger({ service: config.serviceName, level: config.logLevel });
  const metrics = createMetrics({ service: config.serviceName });
  return startWithRollback(logger, async (opened) => {
    const mongo = opened.add(
      await connectMongo({ url: config.mongoUrl, database: config.mongoDatabase, logger }),
      (m) => m.close(),
    );
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
    const publisher = opened.add(
      await createEventPublisher(kafka, { producerName: config.serviceName }),
      (p) => p.disconnect(),
    );

    const recipients =
      overrides.recipients ??
      createGrpcRecipientDirectory({
        address: config.userServiceUrl,
        deadlineMs: config.userServiceDeadlineMs,
        logger,
        self: createServiceCaller(config.auth, config.serviceAccount, config.serviceName),
      });
    opened.add(recipients, (r) => r.close());
    const email =
      overrides.email ?? createSmtpEmailSender({ url: config.smtpUrl, from: config.mailFrom });
    opened.add(email, (e) => e.close());
    const sms = overrides.sms ?? (config.twilio ? createTwilioSmsSender(config.twilio) : undefined);

    const sent = new Counter({
      name: 'notifications_total',
      help: 'Notifications reaching a final state, by channel and status.',
      labelNames: ['channel', 'status'],
      registers: [metrics.registry],
    });
    opened.add(
      await runConsumer({
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
      }),
      (c) => c.stop(),
    );

    return await startService({
      config,
      logger,
      registry: metrics.registry,
      interceptors: [metrics.grpcServerInterceptor],
      register: (server) =>
        server.addService(
          'shop.notification.v1.NotificationService',
          notification.NotificationServiceService,
          // Always enforced: every handler acts for a signed-in caller.
          withPolicy(createNotificationService({ store }), notificationPolicy, true),
        ),
      onStop: [() => opened.releaseAll()],
    });
  });
}
