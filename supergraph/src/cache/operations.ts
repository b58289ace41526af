import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { OperationTypeNode } from 'graphql';
import type { OperationAnswers, OperationRecording } from './entity-cache';

/** What the operation cache reads from, and writes to, the gateway's context. */
export interface OperationCacheContext {
  readonly fresh?: boolean;
  /** Set on a miss: the data sources note on it what each subgraph fetch depended on. */
  recording?: OperationRecording;
}

/**
 * Answers public queries whole from the operation cache. A query is looked up by its document,
 * operation name and variables, never by caller: only answers built entirely from cacheable,
 * error-free reads of public data (every subgraph fetch went through the entity cache's rules)
 * are stored, so they are the same for every caller. They are filed under the tags of every
 * entity and root field they were built from and dropped by the same events and mutations; a
 * ticket taken before the plan ran keeps an answer that raced a change out. Reads an event
 * triggered (`fresh`) and everything but queries run as usual.
 */
export function cachePublicOperations<TContext extends OperationCacheContext>(
  answers: OperationAnswers,
): ApolloServerPlugin<TContext> {
  return {
    requestDidStart() {
      let pending: { key: string; ticket: number; recording: OperationRecording } | undefined;
      return Promise.resolve({
        responseForOperation(requestContext) {
          const { contextValue, operation, request, queryHash } = requestContext;
          if (operation.operation !== OperationTypeNode.QUERY || contextValue.fresh === true) {
            return Promise.resolve(null);
          }
          const key = `${queryHash}\n${request.operationName ?? ''}\n${JSON.stringify(request.variables ?? {})}`;
          const hit = answers.get(key);
          if (hit !== undefined) {
            return Promise.resolve({
              body: { kind: 'single' as const, singleResult: { data: hit.data } },
              http: { status: undefined, headers: new HeaderMap() },
            });
          }
          const recording: OperationRecording = { cacheable: true, tags: new Set(), fetches: 0 };
          contextValue.recording = recording;
          pending = { key, ticket: answers.ticket(), recording };
          return Promise.resolve(null);
        },
        willSendResponse(requestContext) {
          if (pending === undefined) return Promise.resolve();
          const { body, http } = requestContext.response;
          const clean =
            body.kind === 'single' &&
            body.singleResult.errors === undefined &&
            body.singleResult.data != null &&
            (http.status === undefined || http.status === 200);
          if (clean)
            answers.set(pending.key, body.singleResult.data!, pending.recording, pending.ticket);
          return Promise.resolve();
        },
      });
    },
  };
}
