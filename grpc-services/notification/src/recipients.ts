import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import {
  createGrpcClient,
  identityMetadata,
  isDownstreamUnavailable,
  type Logger,
  type ServiceCaller,
} from '@shop/platform';
import { user } from '@shop/proto';

/** Where to reach a user and on which channels they want to hear from us. */
export interface Recipient {
  email: string;
  phone: string;
  emailEnabled: boolean;
  smsEnabled: boolean;
  /** Where the details came from: the profile, or the order event when no profile could be read. */
  source: 'user-service' | 'order-event';
}

/** Finds a recipient's contact details. */
export interface RecipientDirectory {
  /**
   * The user's profile from the user service. When the profile cannot be read (service down or
   * no profile), falls back to the email the order event carries, email only.
   */
  find(userId: string, fallbackEmail: string): Promise<Recipient>;
  close(): void;
}

/** The profile cannot be read now, or there is none. */
const fallsBack = (err: unknown): boolean =>
  isDownstreamUnavailable(err) || (err as Partial<ServiceError>).code === status.NOT_FOUND;

/** A {@link RecipientDirectory} over the user service's GetUser RPC. */
export function createGrpcRecipientDirectory(options: {
  address: string;
  deadlineMs: number;
  logger: Logger;
  /** The service's own identity (its service-account token in production). */
  self: ServiceCaller;
}): RecipientDirectory {
  const client = createGrpcClient(
    'shop.user.v1.UserService',
    user.UserServiceService,
    options.address,
    {
      deadlineMs: options.deadlineMs,
    },
  );
  return {
    async find(userId, fallbackEmail) {
      try {
        const { user: profile } = await client.getUser(
          { id: userId },
          { metadata: identityMetadata(await options.self(), new Metadata()) },
        );
        const prefs = profile?.notificationPreferences;
        return {
          email: profile?.email || fallbackEmail,
          phone: profile?.phone ?? '',
          emailEnabled: prefs?.emailEnabled ?? true,
          smsEnabled: prefs?.smsEnabled ?? false,
          source: 'user-service',
        };
      } catch (err) {
        if (!fallsBack(err)) throw err;
        options.logger.warn(
          { user_id: userId, grpc_code: (err as ServiceError).code },
          'user profile unavailable; falling back to the email in the order event',
        );
        return {
          email: fallbackEmail,
          phone: '',
          emailEnabled: true,
          smsEnabled: false,
          source: 'order-event',
        };
      }
    },
    close: () => client.close(),
  };
}
