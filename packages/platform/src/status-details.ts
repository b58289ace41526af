import protobuf from 'protobufjs';
import type { DomainError, FieldViolation } from './errors';

/** Trailer key under which gRPC carries an encoded google.rpc.Status. */
export const STATUS_DETAILS_KEY = 'grpc-status-details-bin';

// The three google.rpc messages we send, declared as protobufjs reflection so any gRPC client
// (grpcurl, other languages) decodes our error details with the standard definitions.
const root = protobuf.Root.fromJSON({
  nested: {
    google: {
      nested: {
        protobuf: {
          nested: {
            Any: {
              fields: { type_url: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } },
            },
          },
        },
        rpc: {
          nested: {
            Status: {
              fields: {
                code: { type: 'int32', id: 1 },
                message: { type: 'string', id: 2 },
                details: { rule: 'repeated', type: 'google.protobuf.Any', id: 3 },
              },
            },
            ErrorInfo: {
              fields: {
                reason: { type: 'string', id: 1 },
                domain: { type: 'string', id: 2 },
                metadata: { keyType: 'string', type: 'string', id: 3 },
              },
            },
            BadRequest: {
              fields: { field_violations: { rule: 'repeated', type: 'FieldViolation', id: 1 } },
              nested: {
                FieldViolation: {
                  fields: {
                    field: { type: 'string', id: 1 },
                    description: { type: 'string', id: 2 },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
} as unknown as protobuf.INamespace);
const StatusType = root.lookupType('google.rpc.Status');
const ErrorInfoType = root.lookupType('google.rpc.ErrorInfo');
const BadRequestType = root.lookupType('google.rpc.BadRequest');
const TYPE_URL_PREFIX = 'type.googleapis.com/';

/** The client-facing content of an error's status details. */
export interface StatusDetails {
  code: number;
  message: string;
  /** Registry key, e.g. PRODUCT_SKU_TAKEN. */
  reason?: string;
  domain?: string;
  /** ErrorInfo metadata; `graphql_code` carries the GraphQL extensions.code. */
  metadata: Record<string, string>;
  fieldViolations: FieldViolation[];
}

/** Encodes a domain error as google.rpc.Status with ErrorInfo and, if any, BadRequest. */
export function encodeStatusDetails(err: DomainError): Buffer {
  const details = [
    {
      type_url: TYPE_URL_PREFIX + 'google.rpc.ErrorInfo',
      value: ErrorInfoType.encode({
        reason: err.reason,
        domain: err.domain,
        metadata: { ...err.metadata, graphql_code: err.graphqlCode },
      }).finish(),
    },
  ];
  if (err.fieldViolations.length > 0) {
    details.push({
      type_url: TYPE_URL_PREFIX + 'google.rpc.BadRequest',
      value: BadRequestType.encode({ field_violations: err.fieldViolations }).finish(),
    });
  }
  return Buffer.from(
    StatusType.encode({ code: err.grpcStatus, message: err.message, details }).finish(),
  );
}

/** Decodes status details sent by {@link encodeStatusDetails} (or any google.rpc.Status). */
export function decodeStatusDetails(buffer: Buffer): StatusDetails {
  const status = StatusType.toObject(StatusType.decode(buffer), { defaults: true }) as {
    code: number;
    message: string;
    details: Array<{ type_url: string; value: Uint8Array }>;
  };
  const out: StatusDetails = {
    code: status.code,
    message: status.message,
    metadata: {},
    fieldViolations: [],
  };
  for (const any of status.details) {
    if (any.type_url.endsWith('google.rpc.ErrorInfo')) {
      const info = ErrorInfoType.toObject(ErrorInfoType.decode(any.value), { defaults: true }) as {
        reason: string;
        domain: string;
        metadata: Record<string, string>;
      };
      out.reason = info.reason;
      out.domain = info.domain;
      out.metadata = info.metadata;
    } else if (any.type_url.endsWith('google.rpc.BadRequest')) {
      const bad = BadRequestType.toObject(BadRequestType.decode(any.value), { defaults: true }) as {
        field_violations: FieldViolation[];
      };
      out.fieldViolations = bad.field_violations.map(({ field, description }) => ({
        field,
        description,
      }));
    }
  }
  return out;
}

/** What a client of our services (e.g. a subgraph) learns from a failed call. */
export interface RemoteError extends StatusDetails {
  graphqlCode: string;
}

/**
 * Reads a grpc-js ServiceError (code, details, trailing metadata) into {@link RemoteError}.
 * Statuses without details (e.g. UNAVAILABLE from the transport) get the default mapping.
 */
export function readServiceError(
  err: { code?: number; details?: string; metadata?: { get(key: string): unknown[] } },
  defaultGraphqlCode: (code: number) => string,
): RemoteError {
  const code = err.code ?? 2;
  const [raw] = err.metadata?.get(STATUS_DETAILS_KEY) ?? [];
  const details: StatusDetails = Buffer.isBuffer(raw)
    ? decodeStatusDetails(raw)
    : { code, message: err.details ?? '', metadata: {}, fieldViolations: [] };
  return {
    ...details,
    graphqlCode: details.metadata['graphql_code'] ?? defaultGraphqlCode(code),
  };
}
