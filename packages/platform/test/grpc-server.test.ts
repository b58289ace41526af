import {
  Metadata,
  credentials,
  loadPackageDefinition,
  status,
  type Client,
  type GrpcObject,
  type ServiceClientConstructor,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as HEALTH_PROTO } from 'grpc-health-check';
import { Writable } from 'node:stream';
import {
  createGrpcClient,
  createGrpcServer,
  createLogger,
  createMetrics,
  defineErrors,
  graphqlCodeForGrpcStatus,
  readServiceError,
  type GrpcServer,
} from '@shop/platform';
import {
  EchoClient,
  REFLECTION_PROTO,
  echoDefinition,
  echoDescriptorSet,
  protoLoaderOptions,
  type EchoRequest,
  type EchoResponse,
} from './fixtures/echo';

const errors = defineErrors('shop.testing', {
  ECHO_REFUSED: { grpc: status.FAILED_PRECONDITION, message: 'Echo refused' },
});

const logLines: string[] = [];
const logger = createLogger({
  service: 'echo-test',
  level: 'warn',
  stream: new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString());
      done();
    },
  }),
});

type EchoStub = Client & {
  Echo(
    req: Partial<EchoRequest>,
    md: Metadata,
    cb: (err: ServiceError | null, res?: EchoResponse) => void,
  ): void;
};

const newEchoClient = (port: number): EchoStub =>
  new EchoClient(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as EchoStub;

function echo(client: EchoStub, req: Partial<EchoRequest>, md = new Metadata()) {
  return new Promise<EchoResponse>((resolve, reject) =>
    client.Echo(req, md, (err, res) => (err ? reject(err) : resolve(res!))),
  );
}

describe('gRPC server bootstrap', () => {
  let server: GrpcServer;
  let port: number;
  let client: EchoStub;
  const metrics = createMetrics({ service: 'echo-test' });

  beforeAll(async () => {
    server = createGrpcServer({
      logger,
      interceptors: [metrics.grpcServerInterceptor],
      descriptorSet: echoDescriptorSet(),
    });
    server.addService('shop.testing.v1.EchoService', echoDefinition, {
      async Echo(req, ctx) {
        if (req.delayMs > 0) await new Promise((r) => setTimeout(r, req.delayMs));
        if (req.fail === 'domain') {
          throw errors.ECHO_REFUSED({
            message: 'text must not be empty',
            fieldViolations: [{ field: 'text', description: 'must not be empty' }],
          });
        }
        if (req.fail === 'unexpected') throw new Error('db password is hunter2');
        const caller = ctx.caller.kind === 'anonymous' ? 'anonymous' : ctx.caller.subject;
        return { text: req.text, caller };
      },
    });
    port = await server.listen('127.0.0.1', 0);
    client = newEchoClient(port);
  });

  afterAll(async () => {
    client.close();
    await server.shutdown(1_000);
  });

  it('answers calls and passes the caller identity from metadata to the handler', async () => {
    const md = new Metadata();
    md.set('x-shop-subject', 'user-42');
    md.set('x-shop-roles', 'customer');
    await expect(echo(client, { text: 'hi' }, md)).resolves.toEqual({
      text: 'hi',
      caller: 'user-42',
    });
  });

  it('reports SERVING through the standard health service', async () => {
    const health = loadPackageDefinition(
      loadSync(HEALTH_PROTO, { ...protoLoaderOptions, enums: String }),
    ) as unknown as {
      grpc: { health: { v1: GrpcObject & { Health: ServiceClientConstructor } } };
    };
    const hc = new health.grpc.health.v1.Health(`127.0.0.1:${port}`, credentials.createInsecure());
    const check = (service: string) =>
      new Promise<{ status: string }>((resolve, reject) =>
        (
          hc as unknown as {
            check(req: object, cb: (err: Error | null, res: { status: string }) => void): void;
          }
        ).check({ service }, (err, res) => (err ? reject(err) : resolve(res))),
      );
    await expect(check('')).resolves.toEqual({ status: 'SERVING' });
    await expect(check('shop.testing.v1.EchoService')).resolves.toEqual({ status: 'SERVING' });
    await expect(check('no.such.Service')).rejects.toMatchObject({ code: status.NOT_FOUND });
    hc.close();
  });

  it('lists its services through server reflection', async () => {
    const reflection = loadPackageDefinition(
      loadSync(REFLECTION_PROTO, { ...protoLoaderOptions, keepCase: true }),
    ) as unknown as {
      grpc: { reflection: { v1: GrpcObject & { ServerReflection: ServiceClientConstructor } } };
    };
    const rc = new reflection.grpc.reflection.v1.ServerReflection(
      `127.0.0.1:${port}`,
      credentials.createInsecure(),
    );
    const stream = (
      rc as unknown as {
        ServerReflectionInfo: () => NodeJS.ReadWriteStream & {
          write(v: unknown): void;
          end(): void;
        };
      }
    ).ServerReflectionInfo();
    const response = new Promise<{ list_services_response: { service: Array<{ name: string }> } }>(
      (resolve, reject) => {
        stream.on('data', resolve);
        stream.on('error', reject);
      },
    );
    stream.write({ list_services: '*' });
    const names = (await response).list_services_response.service.map((s) => s.name);
    stream.end();
    rc.close();
    expect(names).toContain('shop.testing.v1.EchoService');
  });

  it('maps a domain error to its status with ErrorInfo and field violations', async () => {
    const err = await echo(client, { text: '', fail: 'domain' }).catch((e: ServiceError) => e);
    expect(err).toMatchObject({
      code: status.FAILED_PRECONDITION,
      details: 'text must not be empty',
    });
    const remote = readServiceError(err as ServiceError, graphqlCodeForGrpcStatus);
    expect(remote).toMatchObject({
      reason: 'ECHO_REFUSED',
      domain: 'shop.testing',
      graphqlCode: 'FAILED_PRECONDITION',
      fieldViolations: [{ field: 'text', description: 'must not be empty' }],
    });
  });

  it('turns an unexpected error into INTERNAL without leaking its message, and logs it', async () => {
    const err = (await echo(client, { fail: 'unexpected' }).catch(
      (e: ServiceError) => e,
    )) as ServiceError;
    expect(err.code).toBe(status.INTERNAL);
    expect(err.code).not.toBe(status.UNKNOWN);
    expect(err.details).toBe('Internal error');
    expect(JSON.stringify(err)).not.toContain('hunter2');
    expect(logLines.some((l) => l.includes('unhandled error in RPC handler'))).toBe(true);
  });

  it('records outgoing calls through the client interceptor of a promise client', async () => {
    const clientMetrics = createMetrics({ service: 'echo-client' });
    const promiseClient = createGrpcClient(
      'shop.testing.v1.EchoService',
      echoDefinition,
      `127.0.0.1:${port}`,
      { interceptors: [clientMetrics.grpcClientInterceptor], deadlineMs: 2_000 },
    );
    await expect(promiseClient.Echo({ text: 'via client', delayMs: 0, fail: '' })).resolves.toEqual(
      {
        text: 'via client',
        caller: 'anonymous',
      },
    );
    await expect(
      promiseClient.Echo({ text: '', delayMs: 0, fail: 'domain' }),
    ).rejects.toMatchObject({ code: status.FAILED_PRECONDITION });
    promiseClient.close();
    const text = await clientMetrics.registry.metrics();
    expect(text).toMatch(
      /grpc_client_handled_total\{[^}]*grpc_method="Echo",grpc_code="OK"[^}]*\} 1/,
    );
    expect(text).toMatch(
      /grpc_client_handled_total\{[^}]*grpc_code="FAILED_PRECONDITION"[^}]*\} 1/,
    );
  });

  it('records request counts and latency by method and status', async () => {
    const text = await metrics.registry.metrics();
    expect(text).toMatch(
      /grpc_server_handled_total\{grpc_service="shop.testing.v1.EchoService",grpc_method="Echo",grpc_code="OK",service="echo-test"\} [1-9]/,
    );
    expect(text).toMatch(/grpc_server_handled_total\{[^}]*grpc_code="INTERNAL"[^}]*\} 1/);
    expect(text).toContain('grpc_server_handling_seconds_bucket');
    expect(text).toContain('process_resident_memory_bytes');
  });
});

describe('graceful shutdown', () => {
  it('lets an in-flight call finish and refuses new ones', async () => {
    const server = createGrpcServer({ logger });
    server.addService('shop.testing.v1.EchoService', echoDefinition, {
      async Echo(req) {
        await new Promise((r) => setTimeout(r, req.delayMs));
        return { text: req.text, caller: 'anonymous' };
      },
    });
    const port = await server.listen('127.0.0.1', 0);
    const client = newEchoClient(port);
    await echo(client, { text: 'warm-up' });

    const slow = echo(client, { text: 'slow', delayMs: 700 });
    await new Promise((r) => setTimeout(r, 100));
    const shutdown = server.shutdown(5_000);
    const late = newEchoClient(port);
    const lateCall = echo(late, { text: 'late' }).catch((e: ServiceError) => e);

    await expect(slow).resolves.toEqual({ text: 'slow', caller: 'anonymous' });
    await shutdown;
    expect(await lateCall).toMatchObject({ code: status.UNAVAILABLE });
    client.close();
    late.close();
  });

  it('forces shutdown when calls outlive the grace period', async () => {
    const server = createGrpcServer({ logger });
    server.addService('shop.testing.v1.EchoService', echoDefinition, {
      async Echo(req) {
        await new Promise((r) => setTimeout(r, req.delayMs));
        return { text: req.text, caller: 'anonymous' };
      },
    });
    const port = await server.listen('127.0.0.1', 0);
    const client = newEchoClient(port);
    const stuck = echo(client, { text: 'stuck', delayMs: 2_000 }).catch((e: ServiceError) => e);
    await new Promise((r) => setTimeout(r, 100));
    await server.shutdown(200);
    // Had shutdown waited for the call, the call would have succeeded.
    expect(await stuck).toMatchObject({ code: status.CANCELLED });
    client.close();
  });
});
