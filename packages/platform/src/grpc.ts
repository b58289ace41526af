/**
 * `@shop/platform/grpc`: calling and serving RPCs without Kafka or the store: the server and
 * client, callers and access policies, the error registries and their wire form, page tokens.
 */
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
export { anyone, role, roleOrService, signedIn, signedInCaller, withPolicy } from './policy';
export type { AccessRule, Policy } from './policy';
export { PAGE_LIMITS, checkPageSize, createdAtTokens, pageTokens, readPage } from './page-tokens';
export type { CreatedPosition, PageLimits, PageRequest, PageTokens } from './page-tokens';
export { createGrpcServer, grpcStatusName, toServiceError } from './grpc-server';
export type {
  AsyncServiceImplementation,
  CallContext,
  GrpcServer,
  GrpcServerOptions,
} from './grpc-server';
export { createGrpcClient } from './grpc-client';
export type { GrpcClientOptions, PromiseClient, UnaryCallOptions } from './grpc-client';
export { callDownstream, isDownstreamUnavailable } from './downstream';
