/** The local dependencies the launcher manages. */
export type DependencyName =
  | 'mongo'
  | 'kafka'
  | 'keycloak'
  | 'mailpit'
  | 'stripe'
  | 'prometheus'
  | 'alertmanager'
  | 'jaeger'
  | 'opensearch';

/** Every dependency in start order (order only matters for log readability; starts run in parallel). */
export const ALL_DEPENDENCIES: readonly DependencyName[] = [
  'mongo',
  'kafka',
  'keycloak',
  'mailpit',
  'stripe',
  'prometheus',
  'alertmanager',
  'jaeger',
  'opensearch',
];

/** Connection details the services and tests use. */
export interface InfraEndpoints {
  mongoUrl: string;
  kafkaBrokers: string[];
  oidcIssuerUrl: string;
  smtpUrl: string;
  mailpitApiUrl: string;
  stripeApiBase: string;
  prometheusUrl: string;
  /** file_sd directory: `<name>.json` files of `[{targets, labels}]` are picked up within ~5 s. */
  prometheusTargetsDir: string;
  /** Where Prometheus sends alerts; tests read them back from its /api/v2/alerts. */
  alertmanagerUrl: string;
  /** Where processes export spans (OTLP/HTTP), `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`. */
  otlpTracesUrl: string;
  /** Jaeger's query API (and UI, when its assets are built in). */
  jaegerUrl: string;
  /** The Elasticsearch-API log store processes ship their logs to, `LOG_STORE_URL`. */
  logStoreUrl: string;
}

/** Options shared by every entry point. */
export interface InfraOptions {
  /** Restrict to these dependencies (default: all). */
  only?: DependencyName[];
  /** Where connection overrides are read (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Progress sink (default: stderr). */
  log?: (line: string) => void;
  /** Repository root (default: found by walking up from this package). */
  rootDir?: string;
}

/** Resolved paths and settings handed to each dependency. */
export interface InfraContext {
  /** Repository root. */
  rootDir: string;
  /** `<root>/infra`: committed configuration (pom, realm, prometheus.yml). */
  infraDir: string;
  /** `<root>/.infra`: downloads, builds, data. */
  cacheDir: string;
  logsDir: string;
  runDir: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}

/** A managed dependency: how to install it once, start it detached and tell when it is healthy. */
export interface Dependency {
  readonly name: DependencyName;
  /** Human-readable local endpoint, e.g. `mongodb://127.0.0.1:27017`. */
  readonly endpoint: string;
  /** TCP ports it binds on 127.0.0.1; used to detect conflicts with foreign processes. */
  readonly ports: readonly number[];
  /** How long to wait for {@link Dependency.health} after start. */
  readonly healthTimeoutMs: number;
  /** Endpoints given by the user's connection variables, or undefined to run it locally. */
  external(env: NodeJS.ProcessEnv): Partial<InfraEndpoints> | undefined;
  /** Endpoints of the locally launched instance. */
  endpoints(ctx: InfraContext): Partial<InfraEndpoints>;
  /** True when the cache already holds a complete install. */
  isInstalled(ctx: InfraContext): Promise<boolean>;
  /** Downloads/builds into the cache; output goes to the dependency's log file. */
  install(ctx: InfraContext): Promise<void>;
  /** Spawns the server detached and returns its pid. */
  start(ctx: InfraContext): Promise<number>;
  /** One quick probe: resolves true when the server answers as expected. */
  health(ctx: InfraContext): Promise<boolean>;
}
