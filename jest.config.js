/**
 * One Jest run for the whole monorepo. The real dependencies (Kafka, FerretDB, Keycloak,
 * Mailpit, stripe-mock, Prometheus) are started once by the global setup and shared by every
 * test file; `npm test` builds first, so the setup runs from compiled output.
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>'],
  testMatch: ['**/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/.infra/'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
  moduleNameMapper: {
    '^@shop/proto$': '<rootDir>/proto/src/index.ts',
    '^@shop/(platform|testing|graphql|seed)$': '<rootDir>/packages/$1/src/index.ts',
    '^@shop/testing/stack$': '<rootDir>/packages/testing/stack/index.ts',
    '^@shop/supergraph$': '<rootDir>/supergraph/src/index.ts',
    '^@shop/platform/(.+)$': '<rootDir>/packages/platform/src/$1.ts',
    '^@shop/graphql/(config|subscriptions)$': '<rootDir>/packages/graphql/src/$1.ts',
    '^@shop/(.+)-service$': '<rootDir>/grpc-services/$1/src/index.ts',
    '^@shop/(.+)-subgraph$': '<rootDir>/subgraphs/$1/src/index.ts',
    '^@shop/(.+)-subgraph/subscriptions$': '<rootDir>/subgraphs/$1/src/subscriptions.ts',
    '^@shop/infra$': '<rootDir>/infra/src/index.ts',
  },
  globalSetup: '<rootDir>/packages/testing/dist/src/global-setup.js',
  globalTeardown: '<rootDir>/packages/testing/dist/src/global-teardown.js',
  testTimeout: 60_000,
  // kafkajs keeps a connection-retry loop alive after a consumer is stopped while its broker is
  // down (the outage tests on throwaway brokers), so the run would never exit on its own. Every
  // test has finished and the global teardown has run by then; see the issue notes of 2026-12-03.
  forceExit: true,
};
