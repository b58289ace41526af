import { HeaderMap, type ApolloServerPlugin, type GraphQLResponse } from '@apollo/server';
import type { Caller } from '@shop/platform/grpc';
import { OperationTypeNode } from 'graphql';
import { Counter, type Registry } from 'prom-client';

/** What the sharing plugin reads from the gateway's context. */
interface SharingContext {
  readonly caller: Caller;
  readonly authorization?: string;
  readonly fresh?: boolean;
}

const identityOf = (context: SharingContext): string => {
  const { caller } = context;
  if (caller.kind === 'anonymous') return 'anonymous';
  return `${caller.kind}|${caller.subject}|${caller.roles.join(',')}|${context.authorization ?? ''}`;
};

/**
 * Identical queries in flight at the same time, from the same identity, are executed once: the
 * first runs the query plan, the others wait for its answer. Only error-free answers are shared
 * (a waiter whose leader failed runs the query itself); mutations, subscriptions' re-reads
 * (`fresh`) and anything sent after a mutation completed (`writes()` moved on) are never joined
 * to an earlier execution.
 */
export function shareIdenticalOperations<TContext extends SharingContext>(
  registry: Registry,
  writes: () => number,
): ApolloServerPlugin<TContext> {
  const inflight = new Map<string, Promise<GraphQLResponse | null>>();
  const shared = new Counter({
    name: 'gateway_operations_shared_total',
    help: 'Queries answered by an identical query of the same identity already in flight.',
    registers: [registry],
  });
  return {
    requestDidStart() {
      let lead: ((response: GraphQLResponse | null) => void) | undefined;
      let key: string | undefined;
      return Promise.resolve({
        async responseForOperation(requestContext) {
          const { contextValue, operation, request } = requestContext;
          if (operation.operation !== OperationTypeNode.QUERY || contextValue.fresh === true)
            return null;
          key = [
            writes(),
            identityOf(contextValue),
            request.operationName ?? '',
            requestContext.source,
            JSON.stringify(request.variables ?? {}),
          ].join('\n');
          const running = inflight.get(key);
          if (running !== undefined) {
            key = undefined;
            const answer = await running;
            if (answer !== null) shared.inc();
            return answer;
          }
          inflight.set(
            key,
            new Promise((resolve) => {
              lead = resolve;
            }),
          );
          return null;
        },
        willSendResponse(requestContext) {
          if (lead !== undefined && key !== undefined) {
            inflight.delete(key);
            const { body, http } = requestContext.response;
            const clean = body.kind === 'single' && body.singleResult.errors === undefined;
            lead(clean ? { body, http: { status: http.status, headers: new HeaderMap() } } : null);
          }
          return Promise.resolve();
        },
      });
    },
  };
}
