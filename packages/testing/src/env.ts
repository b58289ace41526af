/** Endpoints of the real dependencies, as exported by the global setup. */
export interface TestEnv {
  mongoUrl: string;
  kafkaBrokers: string[];
  oidcIssuerUrl: string;
  smtpUrl: string;
  mailpitApiUrl: string;
  stripeApiBase: string;
  prometheusUrl: string;
  prometheusTargetsDir: string;
  alertmanagerUrl: string;
  /** Jaeger's query API. */
  jaegerUrl: string;
  /** Jaeger's OTLP/HTTP traces endpoint, for processes a test starts with tracing on. */
  otlpTracesUrl: string;
  /** The Elasticsearch-API log store (OpenSearch locally). */
  logStoreUrl: string;
}

const need = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is unset: run the tests through jest's global setup`);
  return value;
};

/** Reads the endpoints the global setup exported. */
export function testEnv(): TestEnv {
  return {
    mongoUrl: need('MONGO_URL'),
    kafkaBrokers: need('KAFKA_BROKERS').split(','),
    oidcIssuerUrl: need('OIDC_ISSUER_URL'),
    smtpUrl: need('SMTP_URL'),
    mailpitApiUrl: need('MAILPIT_API_URL'),
    stripeApiBase: need('STRIPE_API_BASE'),
    prometheusUrl: need('PROMETHEUS_URL'),
    prometheusTargetsDir: need('PROMETHEUS_TARGETS_DIR'),
    alertmanagerUrl: need('ALERTMANAGER_URL'),
    jaegerUrl: need('JAEGER_URL'),
    otlpTracesUrl: need('JAEGER_OTLP_TRACES_URL'),
    logStoreUrl: need('OPENSEARCH_URL'),
  };
}
