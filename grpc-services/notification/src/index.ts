/** Public surface of the notification service. */
export { startNotificationService } from './app';
export type { NotificationOverrides } from './app';
export { loadNotificationConfig } from './config';
export type { NotificationConfig, TwilioConfig } from './config';
export type { Recipient, RecipientDirectory } from './recipients';
export type { Email, EmailSender, SmsSender } from './channels';
