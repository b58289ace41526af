// What the supergraph tests share besides the stack itself (built by `@shop/testing/stack`).
export { freePort, quietLogger } from '@shop/testing';
export { startStack } from '@shop/testing/stack';
export type { GraphQLResponse, Stack, StackOptions } from '@shop/testing/stack';

/** The identity headers of an operator (trusted by the test gateway; see GATEWAY_TRUST_IDENTITY_HEADERS). */
export const adminHeaders = {
  'x-shop-subject': 'admin-1',
  'x-shop-roles': 'admin,customer',
  'x-shop-caller-kind': 'user',
};

/** Sum of `grpc_server_handled_total` for one method, scraped from a service's /metrics. */
export async function rpcCount(metricsPort: number, method: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('grpc_server_handled_total{') && line.includes(`grpc_method="${method}"`)) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}
