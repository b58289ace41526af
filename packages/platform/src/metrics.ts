import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  InterceptingCall,
  ResponderBuilder,
  ServerInterceptingCall,
  status as GrpcStatus,
  type Interceptor,
  type ServerInterceptor,
} from '@grpc/grpc-js';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const statusName = (code: number): string => GrpcStatus[code] ?? String(code);

const labelsByPath = new Map<string, { service: string; method: string }>();

/** Splits '/shop.product.v1.ProductService/GetProduct' into service and method labels. */
function splitPath(path: string): { service: string; method: string } {
  // Every call of a method has the same path: split it once (a process serves a few dozen).
  let labels = labelsByPath.get(path);
  if (labels === undefined) {
    const [, service = 'unknown', method = 'unknown'] = path.split('/');
    labels = { service, method };
    if (labelsByPath.size < 1_000) labelsByPath.set(path, labels);
  }
  return labels;
}

/** One process's Prometheus registry and the gRPC instruments recorded into it. */
export interface Metrics {
  readonly registry: Registry;
  /** Records count and latency of every RPC this process serves. */
  readonly grpcServerInterceptor: ServerInterceptor;
  /** Records count and latency of every RPC this process makes. */
  readonly grpcClientInterceptor: Interceptor;
}

/** Creates a registry with default process metrics and gRPC server/client instruments. */
export function createMetrics(options: { service: string; prefix?: string }): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  collectDefaultMetrics({ register: registry });

  const serverHandled = new Counter({
    name: 'grpc_server_handled_total',
    help: 'RPCs completed on the server, by method and status code.',
    labelNames: ['grpc_service', 'grpc_method', 'grpc_code'],
    registers: [registry],
  });
  const serverLatency = new Histogram({
    name: 'grpc_server_handling_seconds',
    help: 'Time from receiving an RPC to sending its status.',
    labelNames: ['grpc_service', 'grpc_method', 'grpc_code'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const clientHandled = new Counter({
    name: 'grpc_client_handled_total',
    help: 'RPCs completed by this process as a client, by method and status code.',
    labelNames: ['grpc_service', 'grpc_method', 'grpc_code'],
    registers: [registry],
  });
  const clientLatency = new Histogram({
    name: 'grpc_client_handling_seconds',
    help: 'Time from starting an outgoing RPC to receiving its status.',
    labelNames: ['grpc_service', 'grpc_method', 'grpc_code'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });

  const grpcServerInterceptor: ServerInterceptor = (descriptor, call) => {
    const { service, method } = splitPath(descriptor.path);
    const stopTimer = serverLatency.startTimer({ grpc_service: service, grpc_method: method });
    const responder = new ResponderBuilder()
      .withSendStatus((status, next) => {
        const code = statusName(status.code);
        serverHandled.inc({ grpc_service: service, grpc_method: method, grpc_code: code });
        stopTimer({ grpc_code: code });
        next(status);
      })
      .build();
    return new ServerInterceptingCall(call, responder);
  };

  const grpcClientInterceptor: Interceptor = (callOptions, nextCall) => {
    const { service, method } = splitPath(callOptions.method_definition.path);
    const stopTimer = clientLatency.startTimer({ grpc_service: service, grpc_method: method });
    return new InterceptingCall(nextCall(callOptions), {
      start(metadata, _listener, next) {
        // A partial listener: grpc-js passes the other callbacks through unchanged.
        next(metadata, {
          onReceiveStatus(status, nextStatus) {
            const code = statusName(status.code);
            clientHandled.inc({ grpc_service: service, grpc_method: method, grpc_code: code });
            stopTimer({ grpc_code: code });
            nextStatus(status);
          },
        });
      },
    });
  };

  return { registry, grpcServerInterceptor, grpcClientInterceptor };
}

/** A small HTTP server exposing `/metrics` and `/healthz` for Prometheus and probes. */
export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves `/metrics` from the registry and `/healthz` from the given probe. */
export async function startOpsServer(options: {
  registry: Registry;
  host?: string;
  port: number;
  healthy?: () => boolean;
}): Promise<OpsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      options.registry.metrics().then(
        (body) => {
          res.writeHead(200, { 'content-type': options.registry.contentType });
          res.end(body);
        },
        () => {
          res.writeHead(500).end('metrics unavailable');
        },
      );
      return;
    }
    if (path === '/healthz') {
      const ok = options.healthy ? options.healthy() : true;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok' : 'unhealthy');
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
