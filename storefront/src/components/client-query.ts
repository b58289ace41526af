'use client';

import type { TypedDocumentString } from '../generated/graphql';
import { execute } from '../lib/graphql';

/** Runs an operation from the browser, as the signed-in shopper when a token is given. */
export function clientQuery<TResult, TVariables>(
  gatewayUrl: string,
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
  token?: string,
): Promise<TResult> {
  return execute(gatewayUrl, document, variables, { token });
}
