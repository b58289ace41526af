import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A plain route next to `/graphql` (health, metrics). */
export type Route = (req: IncomingMessage, res: ServerResponse) => void;

/** How {@link serveHttp} listens and what it accepts before a request reaches the endpoint. */
export interface HttpServeOptions {
  host: string;
  port: number;
  /** Path of the GraphQL endpoint. */
  path?: string;
  /** Largest request body accepted; larger ones get 413 PAYLOAD_TOO_LARGE. */
  maxBodyBytes?: number;
  /** Most operations in one batched request; more get 400 BATCH_TOO_LARGE. */
  maxBatchSize?: number;
  /** Origins allowed by CORS (`*` for any); none when empty. */
  corsOrigins?: readonly string[];
  routes?: Readonly<Record<string, Route>>;
  /** Keep-alive timeout of client connections (must exceed the callers' idle timeout). */
  keepAliveTimeoutMs?: number;
}

/**
 * Answers one request to the GraphQL path. `body` is the parsed JSON body of a POST (`{}` when
 * empty) and undefined for other methods.
 */
export type GraphQLEndpoint = (
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  body: unknown,
) => Promise<void>;

/** Options for {@link serveGraphQL}. */
export interface ServeOptions<TContext extends BaseContext> extends HttpServeOptions {
  server: ApolloServer<TContext>;
  /** Builds the per-request context from the incoming request. */
  context: (req: IncomingMessage) => Promise<TContext>;
}

/** A listening GraphQL HTTP server. */
export interface GraphQLHttpServer {
  readonly port: number;
  readonly url: string;
  /** The underlying server, for protocols that upgrade its connections (graphql-ws). */
  readonly server: http.Server;
  close(): Promise<void>;
}

/** Writes a GraphQL-shaped error response with a code. */
export function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function applyCors(req: IncomingMessage, res: ServerResponse, origins: readonly string[]): void {
  const origin = req.headers.origin;
  if (origin === undefined || origins.length === 0) return;
  if (!origins.includes('*') && !origins.includes(origin)) return;
  res.setHeader('access-control-allow-origin', origins.includes('*') ? '*' : origin);
  res.setHeader('vary', 'origin');
  res.setHeader(
    'access-control-allow-headers',
    'content-type, authorization, apollo-require-preflight, x-apollo-operation-name',
  );
  res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
  res.setHeader('access-control-max-age', '600');
}

/**
 * Serves an Apollo server over plain Node HTTP (no framework): body and batch limits, CORS, and
 * extra routes such as `/healthz` and `/metrics` on the same port.
 */
export function serveGraphQL<TContext extends BaseContext>(
  options: ServeOptions<TContext>,
): Promise<GraphQLHttpServer> {
  return serveHttp(options, async (req, res, url, body) => {
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const result = await options.server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
      context: () => options.context(req),
    });
    for (const [key, value] of result.headers) res.setHeader(key, value);
    res.statusCode = result.status ?? 200;
    if (result.body.kind === 'complete') {
      res.end(result.body.string);
      return;
    }
    for await (const chunk of result.body.asyncIterator) res.write(chunk);
    res.end();
  });
}

/**
 * Plain Node HTTP (no framework) in front of a GraphQL endpoint: routes such as `/healthz` next
 * to it, 404 elsewhere, CORS, body and batch limits, and 400 for a body that is not JSON.
 */
export async function serveHttp(
  options: HttpServeOptions,
  endpoint: GraphQLEndpoint,
): Promise<GraphQLHttpServer> {
  const path = options.path ?? '/graphql';
  const maxBody = options.maxBodyBytes ?? 1024 * 1024;
  const maxBatch = options.maxBatchSize ?? 1;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = options.routes?.[url.pathname];
    if (route !== undefined) return route(req, res);
    if (url.pathname !== path) return sendError(res, 404, 'NOT_FOUND', 'Not found');
    applyCors(req, res, options.corsOrigins ?? []);
    if (req.method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }
    let body: unknown;
    if (req.method === 'POST') {
      let raw: string;
      try {
        raw = await readBody(req, maxBody);
      } catch (err) {
        if (err instanceof BodyTooLarge) {
          res.setHeader('connection', 'close');
          return sendError(res, 413, 'PAYLOAD_TOO_LARGE', `Request body exceeds ${maxBody} bytes`);
        }
        throw err;
      }
      try {
        body = raw === '' ? {} : JSON.parse(raw);
      } catch {
        return sendError(res, 400, 'BAD_REQUEST', 'Request body is not valid JSON');
      }
      if (Array.isArray(body) && body.length > maxBatch) {
        return sendError(
          res,
          400,
          'BATCH_TOO_LARGE',
          `A batch may hold at most ${maxBatch} operations`,
        );
      }
    }
    return endpoint(req, res, url, body);
  };
  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendError(res, 500, 'INTERNAL_SERVER_ERROR', 'Internal server error');
      else res.end();
    });
  });
  server.keepAliveTimeout = options.keepAliveTimeoutMs ?? 65_000;
  server.headersTimeout = server.keepAliveTimeout + 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    server,
    url: `http://${options.host}:${port}${path}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
