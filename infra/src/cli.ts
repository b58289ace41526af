#!/usr/bin/env node
import { ensureInfra, infraStatus, stopInfra } from './launcher';
import { startPlatform } from './platform';
import { ALL_DEPENDENCIES, type DependencyName, type InfraEndpoints } from './types';

const USAGE = `usage: shop-infra <up|down|status|start> [dependency...]
  up      install (first run) and start the local dependencies, wait until healthy
  down    stop the dependencies this launcher started
  status  show state, endpoint, pid and resident memory of each dependency
  start   bring up the platform and stay in the foreground until Ctrl-C
dependencies: ${ALL_DEPENDENCIES.join(', ')} (default: all)`;

function parseNames(args: string[]): DependencyName[] | undefined {
  if (args.length === 0) return undefined;
  const unknown = args.filter((arg) => !(ALL_DEPENDENCIES as readonly string[]).includes(arg));
  if (unknown.length > 0) throw new Error(`unknown dependency: ${unknown.join(', ')}\n${USAGE}`);
  return args as DependencyName[];
}

function printEndpoints(endpoints: InfraEndpoints): void {
  const rows: Array<[string, string]> = [
    ['MONGO_URL', endpoints.mongoUrl],
    ['KAFKA_BROKERS', endpoints.kafkaBrokers.join(',')],
    ['OIDC_ISSUER_URL', endpoints.oidcIssuerUrl],
    ['SMTP_URL', endpoints.smtpUrl],
    ['MAILPIT_API_URL', endpoints.mailpitApiUrl],
    ['STRIPE_API_BASE', endpoints.stripeApiBase],
    ['PROMETHEUS_URL', endpoints.prometheusUrl],
    ['PROMETHEUS_TARGETS_DIR', endpoints.prometheusTargetsDir],
    ['ALERTMANAGER_URL', endpoints.alertmanagerUrl],
    ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', endpoints.otlpTracesUrl],
    ['JAEGER_URL', endpoints.jaegerUrl],
    ['LOG_STORE_URL', endpoints.logStoreUrl],
  ];
  for (const [name, value] of rows) console.log(`${name.padEnd(36)}${value}`);
}

async function up(only: DependencyName[] | undefined): Promise<void> {
  const since = Date.now();
  const result = await ensureInfra({ only });
  const { started, ...endpoints } = result;
  console.log(
    `ready in ${((Date.now() - since) / 1000).toFixed(1)} s; started: ${started.length > 0 ? started.join(', ') : 'nothing (all running)'}`,
  );
  printEndpoints(endpoints);
}

async function status(only: DependencyName[] | undefined): Promise<void> {
  const rows = await infraStatus({ only });
  console.log(
    `${'NAME'.padEnd(14)}${'STATE'.padEnd(10)}${'PID'.padEnd(9)}${'RSS MiB'.padEnd(9)}ENDPOINT`,
  );
  for (const row of rows) {
    console.log(
      `${row.name.padEnd(14)}${row.state.padEnd(10)}${String(row.pid ?? '-').padEnd(9)}${String(row.rssMiB ?? '-').padEnd(9)}${row.endpoint}`,
    );
  }
}

async function start(only: DependencyName[] | undefined): Promise<void> {
  const platform = await startPlatform({ only });
  printEndpoints(platform.endpoints);
  for (const { spec, logPath } of platform.processes) {
    console.log(`${spec.name.padEnd(24)}${spec.endpoint}  (log ${logPath})`);
  }
  console.log(
    'platform running; Ctrl-C stops the foreground (dependencies keep running: `npm run infra:down`)',
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await platform.stop();
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const only = parseNames(rest);
  switch (command) {
    case 'up':
      return up(only);
    case 'down':
      return stopInfra({ names: only });
    case 'status':
      return status(only);
    case 'start':
      return start(only);
    default:
      console.error(USAGE);
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
