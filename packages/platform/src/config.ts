/**
 * Typed configuration from the environment, parsed once at start-up.
 *
 * Each process declares its config with {@link readConfig}; every problem is collected and
 * reported together, naming the variable and saying whether it was unset or malformed.
 */

/** Thrown when one or more configuration variables are unset or malformed. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Parser<T> = (raw: string) => T;

/** Reads variables from one environment snapshot, remembering every problem it meets. */
export class EnvReader {
  private readonly problems: string[] = [];

  constructor(private readonly env: Readonly<Record<string, string | undefined>>) {}

  /** A required variable; reports "unset" when absent or empty. */
  required<T>(name: string, parse: Parser<T>): T {
    const raw = this.env[name];
    if (raw === undefined || raw.trim() === '') {
      this.problems.push(`${name} is unset`);
      return undefined as unknown as T;
    }
    return this.parse(name, raw, parse);
  }

  /** An optional variable with a default used when it is absent or empty. */
  optional<T>(name: string, parse: Parser<T>, fallback: T): T {
    const raw = this.env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    return this.parse(name, raw, parse);
  }

  /** An optional variable with no default. */
  maybe<T>(name: string, parse: Parser<T>): T | undefined {
    const raw = this.env[name];
    if (raw === undefined || raw.trim() === '') return undefined;
    return this.parse(name, raw, parse);
  }

  /** Throws a {@link ConfigError} listing every problem seen so far. */
  done(): void {
    if (this.problems.length > 0) throw new ConfigError(this.problems);
  }

  private parse<T>(name: string, raw: string, parse: Parser<T>): T {
    try {
      return parse(raw.trim());
    } catch (err) {
      this.problems.push(`${name} is malformed: ${(err as Error).message}`);
      return undefined as unknown as T;
    }
  }
}

/** Value parsers for {@link EnvReader}. Each throws a short reason on bad input. */
export const parsers = {
  string: (raw: string): string => raw,
  int:
    (min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): Parser<number> =>
    (raw) => {
      if (!/^-?\d+$/.test(raw)) throw new Error(`expected an integer, got "${raw}"`);
      const n = Number(raw);
      if (n < min || n > max) throw new Error(`expected ${min}..${max}, got ${n}`);
      return n;
    },
  port: (raw: string): number => parsers.int(0, 65535)(raw),
  bool: (raw: string): boolean => {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    throw new Error(`expected true or false, got "${raw}"`);
  },
  url: (raw: string): string => {
    try {
      return new URL(raw).toString().replace(/\/$/, '');
    } catch {
      throw new Error(`expected a URL, got "${raw}"`);
    }
  },
  list: (raw: string): string[] => {
    const items = raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    if (items.length === 0) throw new Error('expected a comma-separated list');
    return items;
  },
  oneOf:
    <T extends string>(...allowed: T[]): Parser<T> =>
    (raw) => {
      if (!(allowed as string[]).includes(raw))
        throw new Error(`expected one of ${allowed.join(', ')}, got "${raw}"`);
      return raw as T;
    },
};

/**
 * Builds a config object from the environment with a declaration function, failing fast.
 *
 * @example
 * const config = readConfig(process.env, (env) => ({
 *   mongoUrl: env.required('MONGO_URL', parsers.url),
 *   port: env.optional('GRPC_PORT', parsers.port, 50051),
 * }));
 */
export function readConfig<T>(
  env: Readonly<Record<string, string | undefined>>,
  declare: (reader: EnvReader) => T,
): T {
  const reader = new EnvReader(env);
  const config = declare(reader);
  reader.done();
  return config;
}

/**
 * How a process learns who calls it. `jwt` (the default) verifies the bearer token against the
 * identity provider's keys and ignores any identity headers; `trusted-metadata` believes the
 * `x-shop-*` identity headers as given, which only fits tests and a network nothing else reaches.
 */
export type AuthConfig =
  | {
      readonly mode: 'jwt';
      /** Expected `iss`, e.g. http://127.0.0.1:8180/realms/shop (`OIDC_ISSUER_URL`). */
      readonly issuer: string;
      /**
       * Where the realm's signing keys are fetched (`OIDC_JWKS_URL`; by default the issuer's
       * certs endpoint). In a cluster it names Keycloak's Service while `iss` stays public.
       */
      readonly jwksUrl: string;
      /** Expected `aud` (`OIDC_AUDIENCE`). */
      readonly audience: string;
      /** Client ids whose tokens are service accounts (`OIDC_SERVICE_CLIENT_IDS`). */
      readonly serviceClientIds: readonly string[];
    }
  | { readonly mode: 'trusted-metadata' };

/** The service account a process uses for calls of its own (client-credentials grant). */
export interface ServiceAccountConfig {
  readonly issuer: string;
  /** The realm's token endpoint (`OIDC_TOKEN_URL`; by default the issuer's). */
  readonly tokenUrl: string;
  /** The realm's Admin REST API (`OIDC_ADMIN_URL`; by default the issuer's `/admin/realms/...`). */
  readonly adminUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

/** `OIDC_ISSUER_URL` (the local realm by default; `parsers.url` drops a trailing slash). */
const readIssuer = (env: EnvReader): string =>
  env.optional('OIDC_ISSUER_URL', parsers.url, 'http://127.0.0.1:8180/realms/shop');

/**
 * Reads `AUTH_TRUST_IDENTITY_METADATA`, `OIDC_ISSUER_URL`, `OIDC_JWKS_URL`, `OIDC_AUDIENCE`,
 * `OIDC_SERVICE_CLIENT_IDS`.
 */
export function readAuthConfig(env: EnvReader): AuthConfig {
  const trust = env.optional('AUTH_TRUST_IDENTITY_METADATA', parsers.bool, false);
  const issuer = readIssuer(env);
  const jwksUrl = env.optional(
    'OIDC_JWKS_URL',
    parsers.url,
    `${issuer}/protocol/openid-connect/certs`,
  );
  const audience = env.optional('OIDC_AUDIENCE', parsers.string, 'shop-api');
  const serviceClientIds = env.optional('OIDC_SERVICE_CLIENT_IDS', parsers.list, ['shop-services']);
  return trust
    ? { mode: 'trusted-metadata' }
    : { mode: 'jwt', issuer, jwksUrl, audience, serviceClientIds };
}

/**
 * Reads `OIDC_CLIENT_ID` / `OIDC_CLIENT_SECRET` (the local realm's `shop-services` by default)
 * and where the realm is reached from inside: `OIDC_TOKEN_URL`, `OIDC_ADMIN_URL` (both derived
 * from `OIDC_ISSUER_URL` unless set).
 */
export function readServiceAccountConfig(env: EnvReader): ServiceAccountConfig {
  const issuer = readIssuer(env);
  return {
    issuer,
    tokenUrl: env.optional(
      'OIDC_TOKEN_URL',
      parsers.url,
      `${issuer}/protocol/openid-connect/token`,
    ),
    adminUrl: env.optional(
      'OIDC_ADMIN_URL',
      parsers.url,
      issuer.replace('/realms/', '/admin/realms/'),
    ),
    clientId: env.optional('OIDC_CLIENT_ID', parsers.string, 'shop-services'),
    clientSecret: env.optional('OIDC_CLIENT_SECRET', parsers.string, 'shop-services-local-secret'),
  };
}

/** Settings every service process shares; each service's config extends it. */
export interface BaseServiceConfig {
  serviceName: string;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  grpcHost: string;
  grpcPort: number;
  metricsPort: number;
  shutdownGraceMs: number;
  otlpTracesUrl: string | undefined;
  /** The Elasticsearch-API log store the logs are also shipped to; stdout only when unset. */
  logStoreUrl: string | undefined;
  /** How callers are authenticated; enforcement per RPC is each service's policy. */
  auth: AuthConfig;
  /** The account for the service's own onward calls (see `createServiceCaller`). */
  serviceAccount: ServiceAccountConfig;
}

/** Reads the variables every service shares, with the service's own default ports. */
export function readBaseServiceConfig(
  env: EnvReader,
  defaults: { serviceName: string; grpcPort: number; metricsPort: number },
): BaseServiceConfig {
  return {
    serviceName: defaults.serviceName,
    logLevel: env.optional(
      'LOG_LEVEL',
      parsers.oneOf('trace', 'debug', 'info', 'warn', 'error', 'fatal'),
      'info',
    ),
    grpcHost: env.optional('GRPC_HOST', parsers.string, '127.0.0.1'),
    grpcPort: env.optional('GRPC_PORT', parsers.port, defaults.grpcPort),
    metricsPort: env.optional('METRICS_PORT', parsers.port, defaults.metricsPort),
    shutdownGraceMs: env.optional('SHUTDOWN_GRACE_MS', parsers.int(0, 600_000), 10_000),
    otlpTracesUrl: env.maybe('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', parsers.url),
    logStoreUrl: env.maybe('LOG_STORE_URL', parsers.url),
    auth: readAuthConfig(env),
    serviceAccount: readServiceAccountConfig(env),
  };
}
