import { ensureInfra } from '@shop/infra';
import { dropStaleTestDatabases } from './databases';

/** Test databases older than this are left over from earlier runs (none runs this long). */
const STALE_AFTER_MS = 3 * 60 * 60 * 1000;

/**
 * Jest global setup: starts (or reuses) every real dependency once per test run and hands the
 * endpoints to test files through the environment, the same variables the services read.
 */
export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  const infra = await ensureInfra({ log: (line) => process.stderr.write(`[infra] ${line}\n`) });
  Object.assign(process.env, {
    MONGO_URL: infra.mongoUrl,
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    OIDC_ISSUER_URL: infra.oidcIssuerUrl,
    SMTP_URL: infra.smtpUrl,
    MAILPIT_API_URL: infra.mailpitApiUrl,
    STRIPE_API_BASE: infra.stripeApiBase,
    PROMETHEUS_URL: infra.prometheusUrl,
    PROMETHEUS_TARGETS_DIR: infra.prometheusTargetsDir,
    ALERTMANAGER_URL: infra.alertmanagerUrl,
    JAEGER_URL: infra.jaegerUrl,
    // Not OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: only the processes a tracing test starts export.
    JAEGER_OTLP_TRACES_URL: infra.otlpTracesUrl,
    // Not LOG_STORE_URL: only the processes a log-shipping test starts ship their logs.
    OPENSEARCH_URL: infra.logStoreUrl,
    SHOP_TEST_STARTED_INFRA: infra.started.join(','),
  });
  const dropped = await dropStaleTestDatabases(infra.mongoUrl, STALE_AFTER_MS).catch(
    (err: unknown) => {
      process.stderr.write(`[infra] could not drop old test databases: ${String(err)}\n`);
      return [];
    },
  );
  if (dropped.length > 0) {
    process.stderr.write(`[infra] dropped ${dropped.length} test databases of earlier runs\n`);
  }
  process.stderr.write(
    `[infra] dependencies ready in ${((Date.now() - started) / 1000).toFixed(1)} s` +
      (infra.started.length > 0 ? ` (started: ${infra.started.join(', ')})\n` : ' (all reused)\n'),
  );
}
