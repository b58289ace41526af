import { graphqlCodeForGrpcStatus, readServiceError } from '@shop/platform/grpc';
import type { Logger } from '@shop/platform/logging';
import { GraphQLError } from 'graphql';

/** Codes whose gRPC message is not client-safe: the client gets a fixed message instead. */
const FIXED_MESSAGES: Readonly<Record<string, string>> = {
  INTERNAL_SERVER_ERROR: 'Internal server error',
  SERVICE_UNAVAILABLE: 'A backing service is unavailable; try again shortly',
  DEADLINE_EXCEEDED: 'A backing service did not answer in time',
};

interface GrpcLikeError {
  code: number;
  details?: string;
  metadata?: { get(key: string): unknown[] };
}

const isGrpcError = (err: unknown): err is GrpcLikeError =>
  typeof err === 'object' &&
  err !== null &&
  typeof (err as { code?: unknown }).code === 'number' &&
  'metadata' in err;

/** `price.amount` stays, `category_id` becomes `categoryId`: GraphQL input paths. */
const camelPath = (field: string): string =>
  field
    .split('.')
    .map((part) => part.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()))
    .join('.');

/** A GraphQL error with a code and a client-safe message. */
export function codedError(
  code: string,
  message: string,
  extensions: Record<string, unknown> = {},
): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code } });
}

/**
 * Maps anything a resolver caught to a client-safe GraphQL error. gRPC statuses become their
 * `extensions.code` (from the service's google.rpc.ErrorInfo, else the status default) with the
 * registry's message and field violations; anything unexpected is logged and masked.
 */
export function toGraphQLError(
  err: unknown,
  logger?: Logger,
  fieldPath: (protoPath: string) => string = camelPath,
): GraphQLError {
  if (err instanceof GraphQLError) return err;
  if (!isGrpcError(err)) {
    logger?.error({ err }, 'unexpected resolver error');
    return codedError('INTERNAL_SERVER_ERROR', FIXED_MESSAGES.INTERNAL_SERVER_ERROR);
  }
  const remote = readServiceError(err, graphqlCodeForGrpcStatus);
  const code = remote.graphqlCode;
  const fixed = FIXED_MESSAGES[code];
  if (fixed !== undefined) {
    if (code === 'INTERNAL_SERVER_ERROR') logger?.error({ err }, 'backing service failed');
    else logger?.warn({ grpcCode: err.code, details: err.details }, 'backing service unavailable');
    return codedError(code, fixed);
  }
  const metadata = Object.fromEntries(
    Object.entries(remote.metadata).filter(([key]) => key !== 'graphql_code'),
  );
  const extensions: Record<string, unknown> = {};
  if (remote.reason) extensions.reason = remote.reason;
  if (Object.keys(metadata).length > 0) extensions.details = metadata;
  if (remote.fieldViolations.length > 0) {
    extensions.fieldViolations = remote.fieldViolations.map((v) => ({
      field: fieldPath(v.field),
      description: v.description,
    }));
  }
  return codedError(code, remote.message || code, extensions);
}

/**
 * A message a response must carry for a non-null field (ts-proto types every message field as
 * optional): a response without it is the service's fault, logged and answered as
 * INTERNAL_SERVER_ERROR, as GraphQL would answer a null for the non-null field.
 */
export function present<T>(value: T | undefined, what: string, logger?: Logger): T {
  if (value !== undefined) return value;
  logger?.error({ field: what }, 'service response without a required message');
  throw codedError('INTERNAL_SERVER_ERROR', FIXED_MESSAGES.INTERNAL_SERVER_ERROR);
}

/**
 * Awaits a gRPC call, rethrowing its failure as a client-safe GraphQL error. `fieldPath` turns
 * the service's violation paths into the client's (see `graphqlFieldPath`); by default they are
 * camel-cased.
 */
export async function rpc<T>(
  call: Promise<T>,
  logger?: Logger,
  fieldPath?: (protoPath: string) => string,
): Promise<T> {
  try {
    return await call;
  } catch (err) {
    throw toGraphQLError(err, logger, fieldPath);
  }
}
