import type { TypedDocumentString } from '../generated/graphql';
import { loadStorefrontConfig } from './config';
import { execute } from './graphql';

/** Runs an operation from the Next.js server as an anonymous visitor (catalog pages). */
export function serverQuery<TResult, TVariables>(
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
): Promise<TResult> {
  return execute(loadStorefrontConfig().gatewayUrl, document, variables);
}

/** Products per catalog page. */
export const PAGE_SIZE = 12;
