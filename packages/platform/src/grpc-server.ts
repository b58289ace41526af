import {
  Metadata,
  Server,
  ServerCredentials,
  status as GrpcStatus,
  type ServerInterceptor,
  type ServerUnaryCall,
  type ServiceDefinition,
  type ServiceError,
  type UntypedServiceImplementation,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { descriptorSetPath } from '@shop/proto';
import { HealthImplementation } from 'grpc-health-check';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import descriptor from 'protobufjs/ext/descriptor';
import { commonErrors, isDomainError, type DomainError } from './errors';
import { metadataAuthenticator, type Authenticator, type Caller } from './identity';
import type { Logger } from './logger';
import { encodeStatusDetails, STATUS_DETAILS_KEY } from './status-details';

/** What every RPC handler receives beside its request. */
export interface CallContext {
  readonly caller: Caller;
  readonly metadata: Metadata;
  /** Correlates log lines of one request across services (`x-request-id`). */
  readonly requestId: string;
  readonly logger: Logger;
  /** Full method path, e.g. `/shop.product.v1.ProductService/GetProduct`. */
  readonly method: string;
}

type RequestOf<M> = M extends { requestDeserialize: (b: Buffer) => infer R } ? R : never;
type ResponseOf<M> = M extends { responseSerialize: (v: infer R) => Buffer } ? R : never;

/** Promise-returning handlers for every unary method of a generated service definition. */
export type AsyncServiceImplementation<D> = {
  [K in keyof D]: (request: RequestOf<D[K]>, context: CallContext) => Promise<ResponseOf<D[K]>>;
};

/** Options for {@link createGrpcServer}. */
export interface GrpcServerOptions {
  logger: Logger;
  /** Resolves the caller of each RPC; the place where token verification plugs in. */
  authenticate?: Authenticator;
  /** Interceptors run on every call (metrics first). */
  interceptors?: ServerInterceptor[];
  /**
   * Encoded FileDescriptorSet reflection serves (default: the platform's, from `@shop/proto`).
   * Reflection lists only the services registered on this server, and the health service.
   */
  descriptorSet?: Buffer;
  maxMessageBytes?: number;
  /**
   * How long a client connection lives before the server asks the client to reconnect
   * (default 5 minutes), so clients spread over replicas added since they connected.
   */
  maxConnectionAgeMs?: number;
}

/** A gRPC server with health, reflection, error mapping and graceful shutdown. */
export interface GrpcServer {
  readonly server: Server;
  readonly health: HealthImplementation;
  /** Registers a service; its handlers' errors are mapped to gRPC statuses. */
  addService<D extends ServiceDefinition>(
    name: string,
    definition: D,
    implementation: AsyncServiceImplementation<D>,
  ): void;
  /** Binds and starts; returns the bound port (pass 0 for an ephemeral one). */
  listen(host: string, port: number): Promise<number>;
  /** Stops accepting calls, lets in-flight calls finish within `graceMs`, then forces. */
  shutdown(graceMs: number): Promise<void>;
}

/** Converts a handler failure into the status sent to the client. Never UNKNOWN. */
export function toServiceError(
  err: unknown,
  logger: Logger,
  method: string,
): Partial<ServiceError> {
  const domainError: DomainError = isDomainError(err) ? err : commonErrors.INTERNAL();
  if (!isDomainError(err)) {
    logger.error({ err, method }, 'unhandled error in RPC handler');
  }
  const metadata = new Metadata();
  metadata.set(STATUS_DETAILS_KEY, encodeStatusDetails(domainError));
  return { code: domainError.grpcStatus, details: domainError.message, metadata };
}

/**
 * The files of an encoded FileDescriptorSet, each encoded as it was compiled, in the shape
 * `ReflectionService` reads (a package definition's `fileDescriptorProtos`). Going through
 * proto-loader instead would regroup types into other files and drop their imports.
 */
function reflectionFiles(set: Buffer): ConstructorParameters<typeof ReflectionService>[0] {
  const { file } = descriptor.FileDescriptorSet.decode(set) as unknown as {
    file: descriptor.IFileDescriptorProto[];
  };
  const fileDescriptorProtos = file.map((f) =>
    Buffer.from(descriptor.FileDescriptorProto.encode(f).finish()),
  );
  return { files: { format: 'Protocol Buffer 3 DescriptorProto', type: {}, fileDescriptorProtos } };
}

const ANONYMOUS: Caller = { kind: 'anonymous' };
const HEALTH_SERVICE = 'grpc.health.v1.Health';

const firstString = (md: Metadata, key: string): string | undefined => {
  const [value] = md.get(key);
  return typeof value === 'string' && value.length > 0 ? value : undefined;
};

/** Creates the standard server every domain service runs on. */
export function createGrpcServer(options: GrpcServerOptions): GrpcServer {
  const { logger } = options;
  const authenticate = options.authenticate ?? metadataAuthenticator;
  const server = new Server({
    interceptors: options.interceptors ?? [],
    'grpc.max_receive_message_length': options.maxMessageBytes ?? 4 * 1024 * 1024,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 10_000,
    // Clients hold connections for good; ending each after a while (GOAWAY, calls in flight may
    // finish within the grace) makes them resolve the name again and reach pods added since.
    'grpc.max_connection_age_ms': options.maxConnectionAgeMs ?? 5 * 60_000,
    'grpc.max_connection_age_grace_ms': 30_000,
  });
  const health = new HealthImplementation({ '': 'NOT_SERVING' });
  health.addToServer(server);
  const serviceNames: string[] = [];

  /**
   * Server reflection (v1 and v1alpha), added when the server starts so that it lists exactly
   * the services registered by then plus health; the descriptor set carries every file they
   * import (google.protobuf.Timestamp and the like), so clients such as grpcurl can describe
   * and call every method.
   */
  const addReflection = (): void => {
    new ReflectionService(
      reflectionFiles(options.descriptorSet ?? readFileSync(descriptorSetPath)),
      {
        services: [...serviceNames, HEALTH_SERVICE],
      },
    ).addToServer(server);
  };

  /**
   * The per-call context. The child logger and a generated request id cost more than the rest of
   * the wrapper and most read RPCs never log, so both are made on first use.
   */
  class Call implements CallContext {
    private id: string | undefined;
    private log: Logger | undefined;

    constructor(
      readonly caller: Caller,
      readonly metadata: Metadata,
      readonly method: string,
    ) {}

    get requestId(): string {
      this.id ??= firstString(this.metadata, 'x-request-id') ?? randomUUID();
      return this.id;
    }

    get logger(): Logger {
      this.log ??= logger.child({ rpc: this.method, request_id: this.requestId });
      return this.log;
    }
  }

  const wrap =
    (method: string, handler: (req: unknown, ctx: CallContext) => Promise<unknown>) =>
    (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>): void => {
      let ctx: Call | undefined;
      authenticate(call.metadata)
        .then((caller) => {
          ctx = new Call(caller, call.metadata, method);
          return handler(call.request, ctx);
        })
        .then(
          (response) => callback(null, response),
          (err: unknown) => {
            // Only unexpected failures are logged (with the call's fields); domain errors are not.
            const log = isDomainError(err)
              ? logger
              : (ctx ?? new Call(ANONYMOUS, call.metadata, method)).logger;
            callback(toServiceError(err, log, method));
          },
        );
    };

  return {
    server,
    health,
    addService(name, definition, implementation) {
      const impl: UntypedServiceImplementation = {};
      for (const [key, method] of Object.entries(definition)) {
        if (method.requestStream || method.responseStream) {
          throw new Error(`${name}.${key}: only unary methods are supported by addService`);
        }
        const handler = (implementation as Record<string, unknown>)[key];
        if (typeof handler !== 'function') throw new Error(`${name}.${key} has no handler`);
        impl[key] = wrap(
          method.path,
          handler.bind(implementation) as (req: unknown, ctx: CallContext) => Promise<unknown>,
        );
      }
      server.addService(definition, impl);
      serviceNames.push(name);
      health.setStatus(name, 'NOT_SERVING');
    },
    async listen(host, port) {
      addReflection();
      const bound = await new Promise<number>((resolve, reject) => {
        server.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (err, p) =>
          err ? reject(err) : resolve(p),
        );
      });
      for (const name of ['', ...serviceNames]) health.setStatus(name, 'SERVING');
      logger.info({ host, port: bound, services: serviceNames }, 'gRPC server listening');
      return bound;
    },
    async shutdown(graceMs) {
      for (const name of ['', ...serviceNames]) health.setStatus(name, 'NOT_SERVING');
      const drained = new Promise<boolean>((resolve) => server.tryShutdown(() => resolve(true)));
      const timedOut = new Promise<boolean>((resolve) =>
        setTimeout(() => resolve(false), graceMs).unref(),
      );
      if (!(await Promise.race([drained, timedOut]))) {
        logger.warn({ graceMs }, 'in-flight calls did not finish in time; forcing shutdown');
        server.forceShutdown();
      }
      logger.info('gRPC server stopped');
    },
  };
}

/** Status code names for logs and metrics. */
export const grpcStatusName = (code: number): string => GrpcStatus[code] ?? String(code);
