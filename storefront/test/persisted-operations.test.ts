import type { FormattedExecutionResult } from 'graphql';
import { createClient } from 'graphql-ws';
import path from 'node:path';
import WebSocket from 'ws';
import { startStack, type Stack } from '@shop/testing/stack';
import {
  CatalogPageDocument,
  CategoryTreeDocument,
  ProductPageDocument,
  StockChangedDocument,
} from '../src/generated/graphql';

// The gateway in persisted-only mode with the storefront's manifest: the storefront's own
// operations (the exact strings its generated code sends) run; anything else is refused with a
// coded error, over HTTP and over graphql-ws alike.
const MANIFEST = path.join(__dirname, '..', 'src', 'generated', 'persisted-operations.json');

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('persisted', {
    subscriptions: true,
    gatewayEnv: { PERSISTED_OPERATIONS_MANIFESTS: MANIFEST },
  });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

function subscribeOnce(query: string, variables: Record<string, unknown>) {
  const client = createClient({ url: stack.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
  return new Promise<FormattedExecutionResult<Record<string, unknown>, unknown> | Error>(
    (resolve) => {
      const timer = setTimeout(() => {
        dispose();
        resolve(new Error('no message'));
      }, 3_000);
      const dispose = client.subscribe(
        { query, variables },
        {
          next: (result) => {
            clearTimeout(timer);
            resolve(result);
          },
          error: (err) => {
            clearTimeout(timer);
            resolve(Array.isArray(err) ? { errors: err } : new Error(String(err)));
          },
          complete: () => undefined,
        },
      );
    },
  ).finally(() => client.dispose());
}

describe('persisted-only gateway', () => {
  it.each([
    ['CategoryTree', CategoryTreeDocument.toString(), {}],
    ['CatalogPage', CatalogPageDocument.toString(), { first: 3 }],
    ['ProductPage', ProductPageDocument.toString(), { id: 'no-such-product' }],
  ])('serves the storefront operation %s', async (_name, query, variables) => {
    const res = await stack.query(query, variables);
    expect(res.errors).toBeUndefined();
    expect(res.status).toBe(200);
  });

  it('serves a manifest operation however it is formatted', async () => {
    const res = await stack.query(
      CategoryTreeDocument.toString()
        .replace(/\s+/g, ' ')
        .replace('query CategoryTree', '# mine\nquery CategoryTree'),
    );
    expect(res.errors).toBeUndefined();
  });

  it('refuses an ad-hoc query with QUERY_NOT_IN_SAFELIST', async () => {
    const res = await stack.query('{ categories { id name } }');
    expect(res.status).toBe(400);
    expect(res.errors?.[0]?.extensions?.code).toBe('QUERY_NOT_IN_SAFELIST');
    expect(res.data).toBeUndefined();
  });

  it('refuses an ad-hoc subscription over graphql-ws and accepts the storefront one', async () => {
    const refused = await subscribeOnce(
      'subscription($p: ID!) { stockChanged(productId: $p) { onHand reserved } }',
      { p: 'x' },
    );
    expect(refused).not.toBeInstanceOf(Error);
    expect((refused as FormattedExecutionResult).errors?.[0]?.extensions?.code).toBe(
      'QUERY_NOT_IN_SAFELIST',
    );
    // Accepted: whatever the gateway answers for an unknown product, it is not a refusal.
    const accepted = await subscribeOnce(StockChangedDocument.toString(), { productId: 'x' });
    const codes =
      accepted instanceof Error ? [] : (accepted.errors ?? []).map((e) => e.extensions?.code);
    expect(codes).not.toContain('QUERY_NOT_IN_SAFELIST');
  });
});
