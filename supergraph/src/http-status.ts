import type { ApolloServerPlugin } from '@apollo/server';

/** Errors of a request that never ran: the document or its variables were refused. */
const REQUEST_ERRORS = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
]);

/**
 * GraphQL over HTTP: a client that accepts only the legacy `application/json` (not
 * `application/graphql-response+json`) expects 200 for a well-formed request whose document or
 * variables are refused, with the errors in the body; Apollo Server answers 400. Clients asking
 * for the GraphQL response type (or anything) keep the 4xx the specification gives them.
 */
export function legacyJsonStatusPlugin<C extends object>(): ApolloServerPlugin<C> {
  return {
    requestDidStart({ request }) {
      const accept = request.http?.headers.get('accept') ?? '';
      const legacyOnly =
        accept.includes('application/json') &&
        !accept.includes('application/graphql-response+json');
      if (!legacyOnly) return Promise.resolve();
      return Promise.resolve({
        willSendResponse({ response }) {
          if (response.body.kind !== 'single' || response.http.status !== 400) {
            return Promise.resolve();
          }
          const { data, errors } = response.body.singleResult;
          const refused =
            data === undefined &&
            errors !== undefined &&
            errors.length > 0 &&
            errors.every((e) => REQUEST_ERRORS.has(String(e.extensions?.code)));
          if (refused) response.http.status = 200;
          return Promise.resolve();
        },
      });
    },
  };
}
