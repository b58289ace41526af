import type { Registry } from 'prom-client';
import { createAuthenticator } from './auth';
import type { BaseServiceConfig } from './config';
import { createGrpcServer, type GrpcServer, type GrpcServerOptions } from './grpc-server';
import { shipLogs } from './log-shipper';
import type { Logger } from './logger';
import { startOpsServer } from './metrics';

/** A started service process: its gRPC and metrics ports, and how to stop it. */
export interface RunningService {
  readonly grpcPort: number;
  readonly metricsPort: number;
  /** Drains in-flight calls (bounded by the grace period), then runs the cleanup hooks. */
  stop(): Promise<void>;
}

/** Options for {@link startService}. */
export interface StartServiceOptions extends Omit<GrpcServerOptions, 'logger'> {
  config: BaseServiceConfig;
  logger: Logger;
  registry: Registry;
  /** Registers the domain service(s) on the server it is handed. */
  register: (server: GrpcServer) => void;
  /** Cleanup after the server drained, in order (consumers, clients, database). */
  onStop?: Array<() => Promise<void>>;
}

/** Binds the gRPC server and the `/metrics` endpoint of one service. */
export async function startService(options: StartServiceOptions): Promise<RunningService> {
  const { config, logger } = options;
  const shipper =
    config.logStoreUrl === undefined
      ? undefined
      : shipLogs(logger, { url: config.logStoreUrl, registry: options.registry });
  const grpc = createGrpcServer({
    ...options,
    authenticate: options.authenticate ?? createAuthenticator(config.auth, logger),
  });
  options.register(grpc);
  const grpcPort = await grpc.listen(config.grpcHost, config.grpcPort);
  let serving = true;
  const ops = await startOpsServer({
    registry: options.registry,
    host: config.grpcHost,
    port: config.metricsPort,
    healthy: () => serving,
  });
  let stopping: Promise<void> | undefined;
  return {
    grpcPort,
    metricsPort: ops.port,
    stop() {
      stopping ??= (async () => {
        serving = false;
        await grpc.shutdown(config.shutdownGraceMs);
        for (const hook of options.onStop ?? []) {
          await hook().catch((err: unknown) => logger.error({ err }, 'cleanup step failed'));
        }
        await ops.close();
        // Last, so the shutdown's own lines are shipped too.
        await shipper?.close();
      })();
      return stopping;
    },
  };
}

// Lives with the start-up helpers, so `runProcess` loads it without the gRPC server.
export { stopOnSignals } from './startup';
