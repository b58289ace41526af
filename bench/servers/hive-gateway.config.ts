/**
 * Configuration of the Hive gateway CLI (`hive-gateway supergraph … -c <this file>`) in
 * `supergraph-read.ts`: the CLI's defaults plus forwarding the client's `authorization` header to
 * the subgraphs, without which no subgraph could see who is signed in (the stock Apollo gateway
 * gets the same one addition).
 */
import { defineConfig } from '@graphql-hive/gateway';

export const gatewayConfig = defineConfig({
  propagateHeaders: {
    fromClientToSubgraphs: ({ request }) => {
      const authorization = request.headers.get('authorization');
      return authorization === null ? {} : { authorization };
    },
  },
});
