import type { TypedDocumentString } from '../generated/graphql';

/** One GraphQL error as the gateway sends it. */
export interface GraphQLErrorBody {
  message: string;
  extensions?: { code?: string };
}

/** A failed operation, with the gateway's error code when there was one. */
export class GraphQLRequestError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'GraphQLRequestError';
  }
}

/** Runs one typed operation over HTTP; throws {@link GraphQLRequestError} on any error. */
export async function execute<TResult, TVariables>(
  url: string,
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
  init: { token?: string | undefined; signal?: AbortSignal } = {},
): Promise<TResult> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      },
      body: JSON.stringify({ query: document.toString(), variables }),
      cache: 'no-store',
      signal: init.signal ?? AbortSignal.timeout(15_000),
    });
  } catch {
    throw new GraphQLRequestError('The shop cannot be reached.', 'UNAVAILABLE', 0);
  }
  let body: { data?: TResult | null; errors?: GraphQLErrorBody[] };
  try {
    body = (await res.json()) as typeof body;
  } catch {
    throw new GraphQLRequestError(
      'The shop answered in a way we did not expect.',
      'UNAVAILABLE',
      res.status,
    );
  }
  const first = body.errors?.[0];
  if (first) {
    const code = first.extensions?.code ?? (res.status === 401 ? 'UNAUTHENTICATED' : 'INTERNAL');
    throw new GraphQLRequestError(first.message, code, res.status);
  }
  if (!body.data) throw new GraphQLRequestError('The shop sent no data.', 'INTERNAL', res.status);
  return body.data;
}
