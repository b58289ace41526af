import { isDomainError } from '@shop/platform/grpc';
import type { Logger } from '@shop/platform/logging';
import {
  GraphQLError,
  Kind,
  OperationTypeNode,
  execute,
  getOperationAST,
  getVariableValues,
  parse,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GraphQLEndpoint } from './http';
import type { GraphQLMetrics } from './metrics';

const JSON_TYPE = 'application/json; charset=utf-8';
const GRAPHQL_RESPONSE_TYPE = 'application/graphql-response+json; charset=utf-8';
/** Content types a browser may send cross-origin without a preflight (CSRF guard). */
const SIMPLE_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'];
const PREFLIGHT_HEADERS = ['x-apollo-operation-name', 'apollo-require-preflight'];

/** Options for {@link createGraphQLHandler}. */
export interface GraphQLHandlerOptions<TContext> {
  schema: GraphQLSchema;
  /** Builds the per-request context (authenticates the caller); may throw to refuse it. */
  context: (req: IncomingMessage) => Promise<TContext>;
  /** Applied to every error before it is sent (e.g. {@link maskError}). */
  formatError: (formatted: GraphQLFormattedError, error: GraphQLError) => GraphQLFormattedError;
  metrics: GraphQLMetrics;
  logger: Logger;
  /** Parsed and validated documents kept, by query text (least recently used go first). */
  maxCachedDocuments?: number;
}

/**
 * A parsed document that passed validation, with its operations compiled by graphql-jit (by
 * operation name, null when it cannot compile one), or the errors parsing or validating it gave.
 */
type Prepared =
  | { document: DocumentNode; compiled: Map<string, CompiledQuery | null> }
  | { errors: GraphQLError[] };

/** A request refused before execution, with its HTTP status. */
class RequestError extends GraphQLError {
  constructor(
    message: string,
    code: string,
    readonly status: number,
    readonly headers: Readonly<Record<string, string>> = {},
    options: { nodes?: GraphQLError['nodes']; originalError?: Error } = {},
  ) {
    super(message, { ...options, extensions: { code } });
  }
}

const badRequest = (message: string, status = 400, headers = {}) =>
  new RequestError(message, 'BAD_REQUEST', status, headers);

const isRecord = (o: unknown): o is Record<string, unknown> =>
  typeof o === 'object' && o !== null && !Array.isArray(o) && !Buffer.isBuffer(o);

/** The parts of a GraphQL-over-HTTP request. */
interface Params {
  query: string | undefined;
  operationName: string | undefined;
  variables: Record<string, unknown> | undefined;
  extensions: Record<string, unknown> | undefined;
}

function postParams(body: unknown): Params {
  if (Array.isArray(body)) throw badRequest('Operation batching disabled.');
  if (!isRecord(body) || Object.keys(body).length === 0) {
    throw badRequest('POST body missing, invalid Content-Type, or JSON object has no keys.');
  }
  const { query, variables, extensions, operationName } = body;
  if (query && typeof query !== 'string') {
    throw badRequest('GraphQL queries must be strings.');
  }
  if (variables !== undefined && variables !== null && !isRecord(variables)) {
    throw badRequest('`variables` in a POST body must be an object if provided.');
  }
  if (extensions !== undefined && extensions !== null && !isRecord(extensions)) {
    throw badRequest('`extensions` in a POST body must be an object if provided.');
  }
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') {
    throw badRequest('`operationName` in a POST body must be a string if provided.');
  }
  return {
    query: typeof query === 'string' ? query : undefined,
    operationName: typeof operationName === 'string' ? operationName : undefined,
    variables: isRecord(variables) ? variables : undefined,
    extensions: isRecord(extensions) ? extensions : undefined,
  };
}

function getParams(req: IncomingMessage, url: URL): Params {
  const contentType = req.headers['content-type'];
  if (contentType !== undefined && essence(contentType) !== 'application/json') {
    throw badRequest(
      'GET requests may not have a content-type header other than application/json.',
      415,
    );
  }
  const once = (name: string): string | undefined => {
    const values = url.searchParams.getAll(name);
    if (values.length > 1) {
      throw badRequest(`The '${name}' search parameter may only be specified once.`);
    }
    return values[0];
  };
  const json = (name: string): Record<string, unknown> | undefined => {
    const value = once(name);
    if (value === undefined) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      throw badRequest(`The ${name} search parameter contains invalid JSON.`);
    }
    if (!isRecord(parsed)) {
      throw badRequest(`The ${name} search parameter should contain a JSON-encoded object.`);
    }
    return parsed;
  };
  return {
    query: once('query'),
    operationName: once('operationName'),
    variables: json('variables'),
    extensions: json('extensions'),
  };
}

const essence = (contentType: string): string => contentType.split(';', 1)[0].trim().toLowerCase();

/** Refuses requests a browser could send cross-site without a CORS preflight. */
function preventCsrf(req: IncomingMessage): void {
  const contentType = req.headers['content-type'];
  if (contentType !== undefined && !SIMPLE_TYPES.includes(essence(contentType))) return;
  if (PREFLIGHT_HEADERS.some((h) => (req.headers[h]?.length ?? 0) > 0)) return;
  throw badRequest(
    'This operation has been blocked as a potential Cross-Site Request Forgery (CSRF). ' +
      `Please either specify a 'content-type' header (with a type that is not one of ${SIMPLE_TYPES.join(', ')}) ` +
      `or provide a non-empty value for one of the following headers: ${PREFLIGHT_HEADERS.join(', ')}`,
  );
}

/** The response media type the caller accepts (JSON unless it asks for something else). */
function responseType(accept: string | undefined): string | undefined {
  if (accept === undefined || accept === '') return JSON_TYPE;
  const types = accept
    .split(',')
    .map((part) => part.split(';', 1)[0].trim().toLowerCase())
    .filter((t) => t.length > 0);
  if (types.some((t) => t === 'application/json' || t === 'application/*' || t === '*/*')) {
    return JSON_TYPE;
  }
  return types.includes('application/graphql-response+json') ? GRAPHQL_RESPONSE_TYPE : undefined;
}

/** Mirrors graphql-js's messages when no operation of a document can be chosen. */
function operationResolutionError(document: DocumentNode, name: string | undefined): RequestError {
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  const message =
    name !== undefined
      ? `Unknown operation named "${name}".`
      : operations.length === 0
        ? 'Must provide an operation.'
        : 'Must provide operation name if query contains multiple operations.';
  return new RequestError(message, 'OPERATION_RESOLUTION_FAILURE', 400);
}

/** A variable that could not be coerced is the caller's mistake (graphql-js gives no code). */
function isBadUserInput(error: GraphQLError): boolean {
  const node = error.nodes?.length === 1 ? error.nodes[0] : undefined;
  if (node?.kind !== Kind.VARIABLE_DEFINITION) return false;
  const variable = `Variable "$${node.variable.name.value}" `;
  return ['has invalid value', 'got invalid value ', 'of required type ', 'of non-null type '].some(
    (rest) => error.message.startsWith(variable + rest),
  );
}

/**
 * A lean GraphQL-over-HTTP endpoint for a subgraph: each distinct document is parsed and
 * validated once (an LRU keyed by the query text; the gateway sends a small fixed set of
 * documents), and each of its operations compiled once with graphql-jit and run compiled (about
 * a tenth of graphql-js `execute`'s CPU for the gateway's entity fetches; graphql-js runs an
 * operation graphql-jit cannot compile). Variables are checked with graphql-js first, so their
 * errors read as before. HTTP semantics follow Apollo Server's,
 * which subgraphs ran on before: GET for queries only, CSRF prevention, 400 for requests that
 * cannot execute (parse, validation, operation and variable errors), `extensions.http` on
 * errors setting the status, every error without a code given INTERNAL_SERVER_ERROR before
 * `formatError` sees it. Persisted queries and batching are not supported (the gateway uses
 * neither).
 */
export function createGraphQLHandler<TContext>(
  options: GraphQLHandlerOptions<TContext>,
): GraphQLEndpoint {
  const { schema, logger, metrics } = options;
  const maxDocuments = options.maxCachedDocuments ?? 256;
  const documents = new Map<string, Prepared>();

  const prepare = (query: string): Prepared => {
    const cached = documents.get(query);
    if (cached !== undefined) {
      // Map order is insertion order: re-inserting marks the entry most recently used.
      documents.delete(query);
      documents.set(query, cached);
      return cached;
    }
    let prepared: Prepared;
    try {
      const document = parse(query);
      const invalid = validate(schema, document);
      prepared =
        invalid.length === 0
          ? { document, compiled: new Map() }
          : {
              errors: invalid.map(
                (e) =>
                  new RequestError(
                    e.message,
                    'GRAPHQL_VALIDATION_FAILED',
                    400,
                    {},
                    {
                      nodes: e.nodes,
                      originalError: e.originalError ?? e,
                    },
                  ),
              ),
            };
    } catch (err) {
      const syntax = err instanceof GraphQLError ? err : new GraphQLError(String(err));
      prepared = {
        errors: [
          new GraphQLError(syntax.message, {
            source: syntax.source,
            positions: syntax.positions,
            originalError: syntax,
            extensions: {
              http: { status: 400 },
              ...syntax.extensions,
              code: 'GRAPHQL_PARSE_FAILED',
            },
          }),
        ],
      };
    }
    documents.set(query, prepared);
    if (documents.size > maxDocuments) documents.delete(documents.keys().next().value!);
    return prepared;
  };

  /** Formats errors as Apollo Server did (default code, `extensions.http` taken out). */
  const format = (errors: readonly GraphQLError[]) => {
    let status: number | undefined;
    const headers: Record<string, string> = {};
    const formatted = errors.map((error) => {
      const { http, ...extensions } = (error.extensions ?? {}) as Record<string, unknown> & {
        http?: { status?: number };
      };
      if (error instanceof RequestError) {
        status = error.status;
        Object.assign(headers, error.headers);
      } else if (typeof http?.status === 'number') {
        status = http.status;
      }
      extensions.code ??= 'INTERNAL_SERVER_ERROR';
      return options.formatError({ ...error.toJSON(), extensions }, error);
    });
    return { formatted, status, headers };
  };

  const send = (
    res: ServerResponse,
    type: string,
    status: number,
    headers: Record<string, string>,
    body: ExecutionResult | { errors: readonly GraphQLFormattedError[] },
  ): void => {
    res.writeHead(status, { ...headers, 'content-type': type });
    // Field order as Apollo Server sends it: errors, data, extensions.
    const ordered = {
      errors: body.errors,
      data: 'data' in body ? body.data : undefined,
      extensions: 'extensions' in body ? body.extensions : undefined,
    };
    res.end(`${JSON.stringify(ordered)}\n`);
  };

  const fail = (
    res: ServerResponse,
    type: string,
    record: (op: string, errors: readonly GraphQLError[], hasData: boolean) => void,
    operationType: string,
    errors: readonly GraphQLError[],
  ): void => {
    record(operationType, errors, false);
    const { formatted, status, headers } = format(errors);
    send(res, type, status ?? 500, headers, { errors: formatted });
  };

  return async (req, res, url, body) => {
    const record = metrics.start();
    const type = responseType(req.headers.accept);
    let params: Params;
    let context: TContext;
    try {
      if (type === undefined) {
        throw new RequestError(
          `An 'accept' header was provided for this request which does not accept application/json or application/graphql-response+json`,
          'BAD_REQUEST',
          406,
        );
      }
      if (req.method !== 'POST' && req.method !== 'GET') {
        throw badRequest('Only GET and POST requests are supported.', 405, { allow: 'GET, POST' });
      }
      preventCsrf(req);
      context = await options.context(req).catch((err: unknown) => {
        throw contextError(err);
      });
      params = req.method === 'POST' ? postParams(body) : getParams(req, url);
      if (params.extensions?.persistedQuery !== undefined) {
        throw new RequestError('PersistedQueryNotSupported', 'PERSISTED_QUERY_NOT_SUPPORTED', 200, {
          'cache-control': 'private, no-cache, must-revalidate',
        });
      }
      if (params.query === undefined || params.query === '') {
        throw badRequest(
          'GraphQL operations must contain a non-empty `query` or a `persistedQuery` extension.',
        );
      }
    } catch (err) {
      return fail(res, type ?? JSON_TYPE, record, 'unknown', [asGraphQLError(err)]);
    }

    const prepared = prepare(params.query);
    if ('errors' in prepared) return fail(res, type, record, 'unknown', prepared.errors);
    const { document, compiled } = prepared;
    const operation = getOperationAST(document, params.operationName);
    if (!operation) {
      return fail(res, type, record, 'unknown', [
        operationResolutionError(document, params.operationName),
      ]);
    }
    if (req.method === 'GET' && operation.operation !== OperationTypeNode.QUERY) {
      return fail(res, type, record, operation.operation, [
        badRequest(
          `GET requests only support query operations, not ${operation.operation} operations`,
          405,
          { allow: 'POST' },
        ),
      ]);
    }

    let result: ExecutionResult;
    try {
      const name = params.operationName ?? '';
      let query = compiled.get(name);
      if (query === undefined) {
        const made = compileQuery(schema, document, params.operationName);
        query = isCompiledQuery(made) ? made : null;
        if (query === null)
          logger.warn({ errors: made }, 'graphql-jit cannot compile an operation');
        compiled.set(name, query);
      }
      if (query === null) {
        result = await execute({
          schema,
          document,
          contextValue: context,
          variableValues: params.variables,
          operationName: params.operationName,
        });
      } else {
        // Variables are checked by graphql-js first, so a caller's mistake reads exactly as
        // graphql-js (and Apollo Server before) reported it; the compiled query coerces them too.
        const variables = params.variables ?? {};
        const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables, {
          maxErrors: 50,
        });
        result = coerced.errors
          ? { errors: coerced.errors }
          : await query.query(undefined, context, variables);
      }
    } catch (err) {
      return fail(res, type, record, operation.operation, [asGraphQLError(err)]);
    }
    if (result.errors === undefined || result.errors.length === 0) {
      record(operation.operation, [], true);
      return send(res, type, 200, {}, result);
    }
    const errors = result.errors.map((e) =>
      isBadUserInput(e) && e.extensions?.code == null
        ? new GraphQLError(e.message, {
            nodes: e.nodes,
            originalError: e.originalError ?? e,
            extensions: { ...e.extensions, code: 'BAD_USER_INPUT' },
          })
        : e,
    );
    record(operation.operation, errors, result.data != null);
    const { formatted, status, headers } = format(errors);
    // No data at all: the operation could not start (its variables did not coerce).
    const fallback = result.data === undefined ? 400 : 200;
    return send(res, type, status ?? fallback, headers, { ...result, errors: formatted });
  };

  /** A caller refused while building the context: its domain code, else masked. */
  function contextError(err: unknown): GraphQLError {
    if (err instanceof GraphQLError) return err;
    if (isDomainError(err)) {
      const status = { UNAUTHENTICATED: 401, FORBIDDEN: 403 }[err.graphqlCode as string] ?? 500;
      return new RequestError(err.message, err.graphqlCode, status, {}, { originalError: err });
    }
    logger.error({ err }, 'context creation failed');
    return new GraphQLError('Context creation failed', {
      originalError: err instanceof Error ? err : undefined,
    });
  }
}

const asGraphQLError = (err: unknown): GraphQLError =>
  err instanceof GraphQLError
    ? err
    : new GraphQLError(
        err instanceof Error ? err.message : `Unexpected error value: ${String(err)}`,
        {
          originalError: err instanceof Error ? err : undefined,
        },
      );
