import { ConfigError, parsers, readBaseServiceConfig, readConfig } from '@shop/platform';

describe('readConfig', () => {
  const declare = (env: Record<string, string | undefined>) =>
    readConfig(env, (r) => ({
      mongoUrl: r.required('MONGO_URL', parsers.url),
      brokers: r.required('KAFKA_BROKERS', parsers.list),
      port: r.optional('GRPC_PORT', parsers.port, 50051),
      debug: r.optional('DEBUG_SQL', parsers.bool, false),
    }));

  it('parses a complete environment into typed values with defaults', () => {
    expect(declare({ MONGO_URL: 'mongodb://127.0.0.1:27017/', KAFKA_BROKERS: 'a:1, b:2' })).toEqual(
      {
        mongoUrl: 'mongodb://127.0.0.1:27017',
        brokers: ['a:1', 'b:2'],
        port: 50051,
        debug: false,
      },
    );
  });

  it('names every unset and malformed variable at once, telling the two apart', () => {
    let error: unknown;
    try {
      declare({ MONGO_URL: '', GRPC_PORT: '70000', DEBUG_SQL: 'maybe' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'MONGO_URL is unset',
      'KAFKA_BROKERS is unset',
      'GRPC_PORT is malformed: expected 0..65535, got 70000',
      'DEBUG_SQL is malformed: expected true or false, got "maybe"',
    ]);
  });

  it.each([
    ['int', parsers.int(), '12a', 'expected an integer, got "12a"'],
    ['url', parsers.url, 'not a url', 'expected a URL, got "not a url"'],
    ['oneOf', parsers.oneOf('a', 'b'), 'c', 'expected one of a, b, got "c"'],
    ['list', parsers.list, ' , ', 'expected a comma-separated list'],
  ] as Array<[string, (raw: string) => unknown, string, string]>)(
    'rejects a malformed %s with a reason',
    (_name, parse, raw, reason) => {
      expect(() => readConfig({ X: raw }, (r) => r.required('X', parse))).toThrow(
        `X is malformed: ${reason}`,
      );
    },
  );

  it('reads the settings every service shares with the service defaults', () => {
    const config = readConfig({ LOG_LEVEL: 'debug' }, (r) =>
      readBaseServiceConfig(r, { serviceName: 'product', grpcPort: 50061, metricsPort: 9461 }),
    );
    expect(config).toMatchObject({
      serviceName: 'product',
      logLevel: 'debug',
      grpcHost: '127.0.0.1',
      grpcPort: 50061,
      metricsPort: 9461,
      otlpTracesUrl: undefined,
    });
  });
});
