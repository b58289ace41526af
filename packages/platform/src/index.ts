/**
 * The shared runtime of every service: all of the platform. Tracing has its own entry point
 * (`@shop/platform/tracing`) because it must load before `@grpc/grpc-js`; a process that needs
 * only some of it imports the entry point of that concern (`/grpc`, `/auth`, `/logging`,
 * `/metrics`, `/kafka`, `/mongo`, `/config`, `/topology`, `/main`).
 */
export {
  ConfigError,
  EnvReader,
  parsers,
  readAuthConfig,
  readBaseServiceConfig,
  readConfig,
  readServiceAccountConfig,
} from './config';
export type { AuthConfig, BaseServiceConfig, ServiceAccountConfig } from './config';
export * from './logging';
export { createMetrics, startOpsServer } from './metrics';
export type { Metrics, OpsServer } from './metrics';
export * from './grpc';
export { startService, stopOnSignals } from './lifecycle';
export type { RunningService, StartServiceOptions } from './lifecycle';
export { startWithRollback } from './startup';
export type { Opened } from './startup';
export { connectMongo, ensureIndexes, isDuplicateKeyError, redactUrl } from './mongo';
export type { IndexDeclarations, MongoHandle, MongoOptions } from './mongo';
export {
  EVENT_HEADERS,
  PoisonMessageError,
  createEventPublisher,
  createKafka,
  deadLetterTopic,
  ensureTopics,
  outgoingEvent,
  runConsumer,
  unpackPayload,
} from './kafka';
export type {
  ConsumerOptions,
  EventPublisher,
  IncomingEvent,
  KafkaOptions,
  OutgoingEvent,
  RunningConsumer,
  TopicSpec,
} from './kafka';
export {
  TokenRejectedError,
  bearerToken,
  createAuthenticator,
  createJwtVerifier,
  createServiceCaller,
  createServiceTokenProvider,
  jwtAuthenticator,
} from './auth';
export type {
  JwtVerifier,
  JwtVerifierOptions,
  ServiceCaller,
  ServiceTokenOptions,
  ServiceTokenProvider,
  TokenRejection,
} from './auth';
export { startOutboxRelay } from './outbox-relay';
export type {
  OutboxRelay,
  OutboxRelayObserver,
  OutboxRelayOptions,
  OutboxSource,
  RelayPath,
} from './outbox-relay';
export {
  MARKER_PUBLISHER_RETRY,
  coalescingPublisher,
  markerPublisher,
  pendingEventMarker,
  startPendingEventRelay,
} from './pending-events';
export type {
  MarkedDocument,
  PendingEventMarker,
  PendingEventRelay,
  PendingEventRelayOptions,
  PendingEventSource,
} from './pending-events';
export { REPLAYED_FROM_HEADER, replayDeadLetters } from './dlq-replay';
export type { ReplayOptions } from './dlq-replay';
export { activeTraceParent, contextOfTraceParent } from './trace-context';
