import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { Counter, Histogram, type Registry } from 'prom-client';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** An error as the metrics read it: only its extensions matter. */
interface CodedError {
  readonly extensions?: Readonly<Record<string, unknown>> | undefined;
}

/** Records one GraphQL request when its response is sent. */
export type RecordRequest = (
  operationType: string,
  errors: readonly CodedError[],
  hasData: boolean,
) => void;

/** The GraphQL instruments of one registry. */
export interface GraphQLMetrics {
  /** Starts timing a request; call the result once, when its response is sent. */
  start(): RecordRequest;
}

/**
 * Counts operations (by type and outcome), errors (by `extensions.code`) and latency into the
 * registry. Labels are bounded: no operation names, which clients choose freely.
 */
export function createGraphQLMetrics(registry: Registry): GraphQLMetrics {
  const operations = new Counter({
    name: 'graphql_operations_total',
    help: 'GraphQL operations handled, by operation type and outcome (ok, error, partial).',
    labelNames: ['operation_type', 'outcome'],
    registers: [registry],
  });
  const errors = new Counter({
    name: 'graphql_errors_total',
    help: 'GraphQL errors returned to callers, by extensions.code.',
    labelNames: ['code'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'graphql_request_duration_seconds',
    help: 'Time from receiving a GraphQL request to sending its response.',
    labelNames: ['operation_type', 'outcome'],
    buckets: BUCKETS,
    registers: [registry],
  });
  return {
    start() {
      const stop = latency.startTimer();
      return (operationType, failures, hasData) => {
        const outcome = failures.length === 0 ? 'ok' : hasData ? 'partial' : 'error';
        for (const err of failures) {
          // A limit rule's own code wins over the generic GRAPHQL_VALIDATION_FAILED.
          const code = err.extensions?.limitCode ?? err.extensions?.code;
          errors.inc({ code: typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR' });
        }
        operations.inc({ operation_type: operationType, outcome });
        stop({ operation_type: operationType, outcome });
      };
    },
  };
}

/** The {@link createGraphQLMetrics} instruments as an Apollo Server plugin (the gateway's). */
export function graphqlMetricsPlugin<TContext extends BaseContext>(
  registry: Registry,
): ApolloServerPlugin<TContext> {
  const metrics = createGraphQLMetrics(registry);
  return {
    requestDidStart() {
      const record = metrics.start();
      return Promise.resolve({
        willSendResponse(ctx) {
          const body = ctx.response.body;
          const hasData = body.kind === 'single' && body.singleResult.data != null;
          record(ctx.operation?.operation ?? 'unknown', ctx.errors ?? [], hasData);
          return Promise.resolve();
        },
      });
    },
  };
}
