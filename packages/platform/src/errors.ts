import { status as GrpcStatus } from '@grpc/grpc-js';

/**
 * GraphQL `extensions.code` values the public API uses for domain errors: the one list the
 * registries, the subgraphs and the gateway's client-safe codes agree on.
 */
export const GRAPHQL_ERROR_CODES = [
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'CONFLICT',
  'FAILED_PRECONDITION',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'OUT_OF_STOCK',
  'PAYMENT_DECLINED',
  'RATE_LIMITED',
  'SERVICE_UNAVAILABLE',
  'DEADLINE_EXCEEDED',
  'INTERNAL_SERVER_ERROR',
] as const;

/** One of {@link GRAPHQL_ERROR_CODES}. */
export type GraphqlErrorCode = (typeof GRAPHQL_ERROR_CODES)[number];

/** One entry of a domain's error registry. */
export interface ErrorSpec {
  /** gRPC status the error travels with. */
  readonly grpc: GrpcStatus;
  /** GraphQL `extensions.code` the subgraph exposes. Defaults from the gRPC status. */
  readonly graphql?: GraphqlErrorCode;
  /** Client-safe default message. */
  readonly message: string;
}

/** A field-level validation problem (google.rpc.BadRequest.FieldViolation). */
export interface FieldViolation {
  readonly field: string;
  readonly description: string;
}

/** Options when raising a registry error. */
export interface ErrorOptions {
  message?: string;
  fieldViolations?: readonly FieldViolation[];
  /** Client-safe key/value details (google.rpc.ErrorInfo metadata). */
  metadata?: Readonly<Record<string, string>>;
  cause?: unknown;
}

/** Default GraphQL code for each gRPC status, used when a registry entry names none. */
export const GRAPHQL_CODE_BY_GRPC_STATUS: Readonly<Record<number, GraphqlErrorCode>> = {
  [GrpcStatus.INVALID_ARGUMENT]: 'BAD_USER_INPUT',
  [GrpcStatus.OUT_OF_RANGE]: 'BAD_USER_INPUT',
  [GrpcStatus.NOT_FOUND]: 'NOT_FOUND',
  [GrpcStatus.ALREADY_EXISTS]: 'ALREADY_EXISTS',
  [GrpcStatus.ABORTED]: 'CONFLICT',
  [GrpcStatus.FAILED_PRECONDITION]: 'FAILED_PRECONDITION',
  [GrpcStatus.UNAUTHENTICATED]: 'UNAUTHENTICATED',
  [GrpcStatus.PERMISSION_DENIED]: 'FORBIDDEN',
  [GrpcStatus.RESOURCE_EXHAUSTED]: 'RATE_LIMITED',
  [GrpcStatus.UNAVAILABLE]: 'SERVICE_UNAVAILABLE',
  [GrpcStatus.DEADLINE_EXCEEDED]: 'DEADLINE_EXCEEDED',
};

/** Maps a gRPC status to the GraphQL code clients see when nothing more specific is known. */
export function graphqlCodeForGrpcStatus(code: number): GraphqlErrorCode {
  return GRAPHQL_CODE_BY_GRPC_STATUS[code] ?? 'INTERNAL_SERVER_ERROR';
}

/** An expected, client-safe error raised from a domain's registry. */
export class DomainError extends Error {
  readonly fieldViolations: readonly FieldViolation[];
  readonly metadata: Readonly<Record<string, string>>;

  constructor(
    /** Registry key, e.g. `PRODUCT_SKU_TAKEN`; travels as google.rpc.ErrorInfo.reason. */
    readonly reason: string,
    /** Domain that owns the registry, e.g. `shop.product`. */
    readonly domain: string,
    readonly grpcStatus: GrpcStatus,
    readonly graphqlCode: GraphqlErrorCode,
    message: string,
    options: ErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DomainError';
    this.fieldViolations = options.fieldViolations ?? [];
    this.metadata = options.metadata ?? {};
  }
}

/** Narrowing helper. */
export function isDomainError(err: unknown): err is DomainError {
  return err instanceof DomainError;
}

/** The raisers a registry exposes: one function per entry. */
export type ErrorRegistry<T extends Record<string, ErrorSpec>> = {
  readonly [K in keyof T]: (options?: ErrorOptions) => DomainError;
} & {
  /** The registry's entries, for documentation and tests. */
  readonly specs: T;
  readonly domain: string;
};

/**
 * Declares one domain's error registry. Each entry maps to a gRPC status and a GraphQL code.
 *
 * @example
 * export const errors = defineErrors('shop.product', {
 *   PRODUCT_NOT_FOUND: { grpc: status.NOT_FOUND, message: 'Product not found' },
 * });
 * throw errors.PRODUCT_NOT_FOUND();
 */
export function defineErrors<const T extends Record<string, ErrorSpec>>(
  domain: string,
  specs: T,
): ErrorRegistry<T> {
  const registry: Record<string, unknown> = { specs, domain };
  for (const [reason, spec] of Object.entries(specs)) {
    registry[reason] = (options: ErrorOptions = {}) =>
      new DomainError(
        reason,
        domain,
        spec.grpc,
        spec.graphql ?? graphqlCodeForGrpcStatus(spec.grpc),
        options.message ?? spec.message,
        options,
      );
  }
  return registry as ErrorRegistry<T>;
}

/** Errors every service can raise, whatever its domain. */
export const commonErrors = defineErrors('shop.platform', {
  INVALID_ARGUMENT: { grpc: GrpcStatus.INVALID_ARGUMENT, message: 'The request is invalid' },
  INVALID_PAGE_TOKEN: { grpc: GrpcStatus.INVALID_ARGUMENT, message: 'The page token is invalid' },
  UNAUTHENTICATED: { grpc: GrpcStatus.UNAUTHENTICATED, message: 'Authentication required' },
  PERMISSION_DENIED: { grpc: GrpcStatus.PERMISSION_DENIED, message: 'Not allowed' },
  NOT_FOUND: { grpc: GrpcStatus.NOT_FOUND, message: 'Not found' },
  DOWNSTREAM_UNAVAILABLE: {
    grpc: GrpcStatus.UNAVAILABLE,
    message: 'A service this request needs could not be reached; retry later',
  },
  INTERNAL: {
    grpc: GrpcStatus.INTERNAL,
    graphql: 'INTERNAL_SERVER_ERROR',
    message: 'Internal error',
  },
});

/** Collects field violations and raises one INVALID_ARGUMENT listing them all. */
export class Validator {
  private readonly violations: FieldViolation[] = [];

  /** Records a violation when `ok` is false. Returns `ok` for chaining decisions. */
  check(ok: boolean, field: string, description: string): boolean {
    if (!ok) this.violations.push({ field, description });
    return ok;
  }

  /** Throws INVALID_ARGUMENT with every recorded violation, if any. */
  throwIfInvalid(message = 'The request is invalid'): void {
    if (this.violations.length > 0) {
      throw commonErrors.INVALID_ARGUMENT({ message, fieldViolations: this.violations });
    }
  }
}
