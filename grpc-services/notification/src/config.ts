import {
  parsers,
  readBaseServiceConfig,
  readConfig,
  type BaseServiceConfig,
} from '@shop/platform/config';
import { localGrpcAddress, servicePorts } from '@shop/platform/topology';

/** Twilio credentials; SMS is sent only when all three are configured. */
export interface TwilioConfig {
  accountSid: string;
  authToken: string;
  /** Sender number in E.164 format (or a messaging service sid). */
  from: string;
  /**
   * API base URL override (e.g. a local recorder in tests or an egress proxy); unset means
   * Twilio's own hosts.
   */
  apiBase: string | undefined;
}

/** Configuration of the notification service process. */
export interface NotificationConfig extends BaseServiceConfig {
  mongoUrl: string;
  mongoDatabase: string;
  kafkaBrokers: string[];
  topics: { orderEvents: string; userNotifications: string };
  consumerGroup: string;
  consumerMaxAttempts: number;
  consumerInitialBackoffMs: number;
  /** User service address, asked for the recipient's contact details and preferences. */
  userServiceUrl: string;
  userServiceDeadlineMs: number;
  smtpUrl: string;
  mailFrom: string;
  /** Delivery attempts per notification before it is recorded as FAILED. */
  maxSendAttempts: number;
  twilio: TwilioConfig | undefined;
}

/** Reads the notification service's configuration; throws a ConfigError naming every bad variable. */
export function loadNotificationConfig(
  env: Readonly<Record<string, string | undefined>>,
): NotificationConfig {
  return readConfig(env, (reader) => {
    const accountSid = reader.maybe('TWILIO_ACCOUNT_SID', parsers.string);
    const authToken = reader.maybe('TWILIO_AUTH_TOKEN', parsers.string);
    const from = reader.maybe('TWILIO_FROM', parsers.string);
    const apiBase = reader.maybe('TWILIO_API_BASE', parsers.url);
    const twilioParts = [accountSid, authToken, from].filter((v) => v !== undefined).length;
    if (twilioParts > 0 && twilioParts < 3) {
      // Half-configured SMS is a mistake worth failing for, not a silent "SMS off".
      reader.required(
        accountSid === undefined
          ? 'TWILIO_ACCOUNT_SID'
          : authToken === undefined
            ? 'TWILIO_AUTH_TOKEN'
            : 'TWILIO_FROM',
        parsers.string,
      );
    }
    return {
      ...readBaseServiceConfig(reader, {
        serviceName: 'notification-service',
        ...servicePorts('notification'),
      }),
      mongoUrl: reader.required('MONGO_URL', parsers.string),
      mongoDatabase: reader.optional('MONGO_DATABASE', parsers.string, 'shop_notification'),
      kafkaBrokers: reader.required('KAFKA_BROKERS', parsers.list),
      topics: {
        orderEvents: reader.optional('ORDER_EVENTS_TOPIC', parsers.string, 'order-events'),
        userNotifications: reader.optional(
          'USER_NOTIFICATIONS_TOPIC',
          parsers.string,
          'user-notifications',
        ),
      },
      consumerGroup: reader.optional(
        'NOTIFICATION_CONSUMER_GROUP',
        parsers.string,
        'notification-service',
      ),
      consumerMaxAttempts: reader.optional('CONSUMER_MAX_ATTEMPTS', parsers.int(1, 100), 6),
      consumerInitialBackoffMs: reader.optional(
        'CONSUMER_INITIAL_BACKOFF_MS',
        parsers.int(1, 60_000),
        200,
      ),
      userServiceUrl: reader.optional('USER_GRPC_URL', parsers.string, localGrpcAddress('user')),
      userServiceDeadlineMs: reader.optional(
        'USER_GRPC_DEADLINE_MS',
        parsers.int(50, 60_000),
        2_000,
      ),
      smtpUrl: reader.optional('SMTP_URL', parsers.url, 'smtp://127.0.0.1:1025'),
      mailFrom: reader.optional('MAIL_FROM', parsers.string, 'Shop <orders@shop.local>'),
      maxSendAttempts: reader.optional('NOTIFICATION_MAX_SEND_ATTEMPTS', parsers.int(1, 50), 5),
      twilio:
        accountSid && authToken && from ? { accountSid, authToken, from, apiBase } : undefined,
    };
  });
}
