import {
  Metadata,
  credentials,
  makeGenericClientConstructor,
  type CallOptions,
  type Client,
  type Interceptor,
  type ServiceDefinition,
  type ServiceError,
} from '@grpc/grpc-js';

type RequestOf<M> = M extends { requestSerialize: (v: infer R) => Buffer } ? R : never;
type ResponseOf<M> = M extends { responseDeserialize: (b: Buffer) => infer R } ? R : never;

/** Per-call options of a promise client. */
export interface UnaryCallOptions {
  metadata?: Metadata;
  /** Overrides the client's default deadline. */
  deadlineMs?: number;
}

/** A promise-returning client for every unary method of a generated service definition. */
export type PromiseClient<D> = {
  [K in keyof D]: (
    request: RequestOf<D[K]>,
    options?: UnaryCallOptions,
  ) => Promise<ResponseOf<D[K]>>;
} & { close(): void; readonly raw: Client };

/** Options for {@link createGrpcClient}. */
export interface GrpcClientOptions {
  /** Default deadline per call. */
  deadlineMs?: number;
  interceptors?: Interceptor[];
  /**
   * Methods safe to retry on UNAVAILABLE (reads, or writes carrying an idempotency key).
   * Defaults to the methods whose names start with Get, BatchGet or List.
   */
  idempotentMethods?: readonly string[];
  maxAttempts?: number;
}

const DEFAULT_IDEMPOTENT = /^(Get|BatchGet|List)/;

/**
 * Builds a promise client over grpc-js with default deadlines, keepalive, round-robin load
 * balancing over the resolved addresses, and the gRPC retry policy (service config) for
 * idempotent methods only.
 */
export function createGrpcClient<D extends ServiceDefinition>(
  serviceName: string,
  definition: D,
  address: string,
  options: GrpcClientOptions = {},
): PromiseClient<D> {
  const methods = Object.keys(definition);
  // Retry policy names methods as the proto does (GetProduct), not as the generated key does.
  const protoName = (key: string): string => definition[key].path.split('/')[2] ?? key;
  const idempotent =
    options.idempotentMethods ?? methods.map(protoName).filter((m) => DEFAULT_IDEMPOTENT.test(m));
  const serviceConfig = {
    // Spread calls over every address the name resolves to. With a headless Service and a
    // `dns:///` target that is every ready pod; new pods join when the name is resolved again,
    // which the servers' max connection age forces (see createGrpcServer).
    loadBalancingConfig: [{ round_robin: {} }],
    methodConfig: [
      {
        name: idempotent.map((method) => ({ service: serviceName, method })),
        retryPolicy: {
          maxAttempts: options.maxAttempts ?? 3,
          initialBackoff: '0.1s',
          maxBackoff: '1s',
          backoffMultiplier: 2,
          retryableStatusCodes: ['UNAVAILABLE'],
        },
      },
    ],
  };
  const Ctor = makeGenericClientConstructor(definition, serviceName);
  const client = new Ctor(address, credentials.createInsecure(), {
    interceptors: options.interceptors ?? [],
    'grpc.service_config': JSON.stringify(serviceConfig),
    'grpc.enable_retries': 1,
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    // Under round_robin a server that was down is retried on the reconnect backoff, and calls
    // fail fast meanwhile (grpc-js grows it to 120 s by default). Capped at 2 s, a restarted
    // server is used again within two seconds of coming back.
    'grpc.initial_reconnect_backoff_ms': 250,
    'grpc.max_reconnect_backoff_ms': 2_000,
  });
  const defaultDeadline = options.deadlineMs ?? 5_000;
  const wrapped: Record<string, unknown> = { raw: client, close: () => client.close() };
  for (const method of methods) {
    type UnaryFn = (
      req: unknown,
      md: Metadata,
      opts: CallOptions,
      cb: (err: ServiceError | null, res: unknown) => void,
    ) => void;
    const fn = (client as unknown as Record<string, UnaryFn>)[method].bind(client);
    wrapped[method] = (request: unknown, callOptions: UnaryCallOptions = {}) =>
      new Promise((resolve, reject) => {
        const deadline = new Date(Date.now() + (callOptions.deadlineMs ?? defaultDeadline));
        fn(request, callOptions.metadata ?? new Metadata(), { deadline }, (err, res) =>
          err ? reject(err) : resolve(res),
        );
      });
  }
  return wrapped as PromiseClient<D>;
}
