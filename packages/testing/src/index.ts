/** Private helpers for the monorepo's tests. */
export { testEnv } from './env';
export type { TestEnv } from './env';
export { waitFor, uniqueId } from './wait';
export { startKafkaInstance } from './kafka-instance';
export type { KafkaInstance, KafkaInstanceOptions } from './kafka-instance';
export { badCredentials, passwordGrantToken } from './bad-tokens';
export {
  asAdmin,
  consumerGroupMembers,
  failure,
  freePort,
  metricValue,
  occupiedPort,
  openDatabase,
  quietLogger,
  recordEvents,
} from './services';
export type { RecordedEvent } from './services';
