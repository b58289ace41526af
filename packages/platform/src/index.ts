/**
 * The shared runtime of every service. Tracing has its own entry point
 * (`@shop/platform/tracing`) because it must load before `@grpc/grpc-js`.
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
export { createLogger, redact } from './logger';
export type { Logger, LoggerOptions } from './logger';
export { createLogShipper, shipLogs } from './log-shipper';
export type { LogShipper, LogShipperOptions, LogShipperStats } from './log-shipper';
export { createMetrics, startOpsServer } from './metrics';
export type { Metrics, OpsServer } from './metrics';
export {
  DomainError,
  GRAPHQL_CODE_BY_GRPC_STATUS,
  GRAPHQL_ERROR_CODES,
  Validator,
  commonErrors,
  defineErrors,
  graphqlCodeForGrpcStatus,
  isDomainError,
} from './errors';
export type {
  ErrorOptions,
  ErrorRegistry,
  ErrorSpec,
  FieldViolation,
  GraphqlErrorCode,
} from './errors';
export { PAGE_LIMITS, checkPageSize, createdAtTokens, pageTokens, readPage } from './page-tokens';
export type { CreatedPosition, PageLimits, PageRequest, PageTokens } from './page-tokens';
export { decodeStatusDetails, readServiceError, STATUS_DETAILS_KEY } from './status-details';
export type { RemoteError, StatusDetails } from './status-details';
export {
  ADMIN_ROLE,
  hasRole,
  identityMetadata,
  isAdmin,
  metadataAuthenticator,
  IDENTITY_METADATA,
} from './identity';
export type { Authenticator, Caller, SignedInCaller } from './identity';
export { createGrpcServer, grpcStatusName, toServiceError } from './grpc-server';
export type {
  AsyncServiceImplementation,
  CallContext,
  GrpcServer,
  GrpcServerOptions,
} from './grpc-server';
export { createGrpcClient } from './grpc-client';
export { callDownstream, isDownstreamUnavailable } from './downstream';
export type { GrpcClientOptions, PromiseClient, UnaryCallOptions } from './grpc-client';
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
export { anyone, role, roleOrService, signedIn, signedInCaller, withPolicy } from './policy';
export type { AccessRule, Policy } from './policy';
export { REPLAYED_FROM_HEADER, replayDeadLetters } from './dlq-replay';
export type { ReplayOptions } from './dlq-replay';
export { activeTraceParent, contextOfTraceParent } from './trace-context';
