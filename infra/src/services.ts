import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  GATEWAY_PORTS,
  SUBGRAPH_NAMES,
  servicePorts,
  subgraphPorts,
  type ServiceName,
  type SubgraphName,
} from '@shop/platform/topology';
import { logFile } from './paths';
import type { InfraContext, InfraEndpoints } from './types';

/** One process of the platform that `npm start` runs (a domain service, a subgraph, the gateway). */
export interface PlatformProcess {
  readonly name: string;
  /** Entry point relative to the repository root (compiled output). */
  readonly main: string;
  /** Its metrics port, serving `/healthz` (waited for) and `/metrics` (scraped by Prometheus). */
  readonly healthPort: number;
  /** Where clients reach it, printed at start. */
  readonly endpoint: string;
  /** Its own variables (ports), on top of the shared ones. */
  readonly env: Readonly<Record<string, string>>;
  /** Arguments after the entry point, and its working directory relative to the root. */
  readonly args?: readonly string[];
  readonly cwd?: string;
  /** The file whose presence means it is built, when not the entry point itself. */
  readonly builtMarker?: string;
}

/** Domain services in start order: a service starts after those it calls are healthy. */
export const DOMAIN_SERVICES: readonly PlatformProcess[] = (
  ['category', 'product', 'inventory', 'user', 'order', 'notification'] as const
).map(service);

/** Federated subgraphs, each in front of its domain service. */
export const SUBGRAPHS: readonly PlatformProcess[] = SUBGRAPH_NAMES.map(subgraph);

/** The one public endpoint: the Apollo Gateway over the committed supergraph. */
export const GATEWAY: PlatformProcess = {
  name: 'gateway',
  main: 'supergraph/dist/src/main.js',
  healthPort: GATEWAY_PORTS.metrics,
  endpoint: `http://127.0.0.1:${GATEWAY_PORTS.http}/graphql`,
  env: { GATEWAY_PORT: String(GATEWAY_PORTS.http), METRICS_PORT: String(GATEWAY_PORTS.metrics) },
};

/** The web storefront (Next.js), built by `npm start` (`next build`) and served by `next start`. */
export const STOREFRONT: PlatformProcess = {
  name: 'storefront',
  main: 'node_modules/next/dist/bin/next',
  args: ['start', '--hostname', '127.0.0.1', '--port', '3000'],
  cwd: 'storefront',
  builtMarker: 'storefront/.next/BUILD_ID',
  healthPort: 3000,
  endpoint: 'http://127.0.0.1:3000',
  env: {
    STOREFRONT_GATEWAY_URL: GATEWAY.endpoint,
    NEXT_TELEMETRY_DISABLED: '1',
  },
};

function subgraph(name: SubgraphName): PlatformProcess {
  const { port, metricsPort } = subgraphPorts(name);
  return {
    name: `${name}-subgraph`,
    main: `subgraphs/${name}/dist/src/main.js`,
    healthPort: metricsPort,
    endpoint: `http://127.0.0.1:${port}/graphql`,
    env: { SUBGRAPH_PORT: String(port), METRICS_PORT: String(metricsPort) },
  };
}

function service(name: ServiceName): PlatformProcess {
  const { grpcPort, metricsPort } = servicePorts(name);
  return {
    name: `${name}-service`,
    main: `grpc-services/${name}/dist/src/main.js`,
    healthPort: metricsPort,
    endpoint: `grpc://127.0.0.1:${grpcPort}`,
    env: { GRPC_PORT: String(grpcPort), METRICS_PORT: String(metricsPort) },
  };
}

/** Variables every platform process shares: dependency endpoints and where each service is. */
export function sharedEnv(endpoints: InfraEndpoints): Record<string, string> {
  const addresses = Object.fromEntries(
    DOMAIN_SERVICES.map((s) => [
      `${s.name.replace(/-service$/, '').toUpperCase()}_GRPC_URL`,
      s.endpoint.replace('grpc://', ''),
    ]),
  );
  return {
    MONGO_URL: endpoints.mongoUrl,
    KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
    OIDC_ISSUER_URL: endpoints.oidcIssuerUrl,
    SMTP_URL: endpoints.smtpUrl,
    MAILPIT_API_URL: endpoints.mailpitApiUrl,
    STRIPE_API_BASE: endpoints.stripeApiBase,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: endpoints.otlpTracesUrl,
    LOG_STORE_URL: endpoints.logStoreUrl,
    ...addresses,
  };
}

/** A platform process running as a child of `npm start`. */
export interface RunningProcess {
  readonly spec: PlatformProcess;
  readonly child: ChildProcess;
  readonly logPath: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function healthy(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, {
      signal: AbortSignal.timeout(1_000),
    });
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * Defaults for local runs that the user's environment may override. Payments: stripe-mock is
 * stateless and answers every PaymentIntent as `requires_payment_method`, so with the Stripe
 * adapter every local order would be declined; the deterministic provider approves
 * `pm_card_visa` and declines `tok_decline`. Set `PAYMENT_PROVIDER=stripe` (and `STRIPE_API_KEY`,
 * `STRIPE_API_BASE`) to use Stripe's test mode instead. `CATALOG_EVENTS_TOPIC` is spelled out so
 * its producers (product and category services) and its consumer (the gateway) name one topic.
 */
export const LOCAL_DEFAULTS: Readonly<Record<string, string>> = {
  PAYMENT_PROVIDER: 'fake',
  CATALOG_EVENTS_TOPIC: 'catalog-events',
};

/**
 * Starts one process with its output in `.infra/logs/<name>.log` and waits until its
 * `/healthz` answers; fails with the log's path when it exits or times out first.
 */
export async function startProcess(
  ctx: InfraContext,
  spec: PlatformProcess,
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<RunningProcess> {
  await mkdir(ctx.logsDir, { recursive: true });
  const logPath = logFile(ctx, spec.name);
  const out = createWriteStream(logPath, { flags: 'a' });
  const child = spawn(process.execPath, [path.join(ctx.rootDir, spec.main), ...(spec.args ?? [])], {
    cwd: path.join(ctx.rootDir, spec.cwd ?? '.'),
    env: { ...LOCAL_DEFAULTS, ...ctx.env, ...env, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      throw new Error(`${spec.name} exited with code ${exited} during start-up; see ${logPath}`);
    }
    if (await healthy(spec.healthPort)) return { spec, child, logPath };
    await sleep(250);
  }
  child.kill('SIGTERM');
  throw new Error(`${spec.name} was not healthy after ${timeoutMs / 1000} s; see ${logPath}`);
}

/** The processes whose compiled entry point exists (the platform grows issue by issue). */
export function availableProcesses(
  ctx: InfraContext,
  specs: readonly PlatformProcess[],
): PlatformProcess[] {
  return specs.filter((s) => existsSync(path.join(ctx.rootDir, s.builtMarker ?? s.main)));
}

/** Tells Prometheus (file_sd) to scrape every running process's `/metrics`. */
export async function registerScrapeTargets(
  endpoints: InfraEndpoints,
  running: readonly RunningProcess[],
): Promise<void> {
  await mkdir(endpoints.prometheusTargetsDir, { recursive: true });
  const targets = running.map((r) => ({
    targets: [`127.0.0.1:${r.spec.healthPort}`],
    labels: { job: r.spec.name },
  }));
  await writeFile(
    path.join(endpoints.prometheusTargetsDir, 'shop-platform.json'),
    JSON.stringify(targets, null, 2),
  );
}

/** Stops children with SIGTERM (graceful drain), then SIGKILL after the grace period. */
export async function stopProcesses(
  running: readonly RunningProcess[],
  graceMs = 15_000,
): Promise<void> {
  await Promise.all(
    [...running].reverse().map(
      ({ child }) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
}
