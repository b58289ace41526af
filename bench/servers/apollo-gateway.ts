/**
 * The stock gateway of `supergraph-read.ts`, run as its own process: `new ApolloGateway({
 * supergraphSdl })` with default settings behind `@apollo/server`'s standalone server. The one
 * addition is forwarding the client's `authorization` header to the subgraphs (Apollo's documented
 * `willSendRequest` pattern): without it no subgraph could see who is signed in, and the
 * customer's orders query would fail. `PORT` and `SUPERGRAPH_PATH` are required.
 */
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { parsers, readConfig } from '@shop/platform/config';
import { readFileSync } from 'node:fs';

const config = readConfig(process.env, (env) => ({
  port: env.required('PORT', parsers.port),
  supergraphPath: env.required('SUPERGRAPH_PATH', parsers.string),
}));

interface Context {
  authorization?: string;
}

async function main(): Promise<void> {
  const gateway = new ApolloGateway({
    supergraphSdl: readFileSync(config.supergraphPath, 'utf8'),
    buildService: ({ url }) =>
      new RemoteGraphQLDataSource<Context>({
        url,
        willSendRequest({ request, context }) {
          // Health checks and schema loads carry no request context.
          const { authorization } = context as Context;
          if (authorization) request.http?.headers.set('authorization', authorization);
        },
      }),
  });
  const server = new ApolloServer<Context>({ gateway });
  const { url } = await startStandaloneServer(server, {
    listen: { port: config.port, host: '127.0.0.1' },
    context: ({ req }) =>
      Promise.resolve(
        req.headers.authorization === undefined ? {} : { authorization: req.headers.authorization },
      ),
  });
  console.log(`stock Apollo Gateway serving ${url}`);
  const stop = (): void => {
    server.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
