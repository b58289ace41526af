import { codedError } from './errors';

/** One page as our List RPCs return it. */
export interface Page<T> {
  readonly items: readonly T[];
  /** Empty on the last page. */
  readonly nextPageToken: string;
  readonly totalSize?: number | undefined;
}

/** A Relay-style connection. */
export interface Connection<T> {
  edges: Array<{ node: T; cursor: string }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number | null;
}

/** Page size when `first` is not given, and the most one request may ask for. */
export const DEFAULT_FIRST = 20;
export const MAX_FIRST = 100;

// A cursor names a service page token plus how many items of that page lie before the next
// edge, so every edge (not only the last) is a valid `after`.
interface Cursor {
  token: string;
  skip: number;
}

const encode = (c: Cursor): string =>
  Buffer.from(JSON.stringify([c.token, c.skip])).toString('base64url');

function decode(cursor: string): Cursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      Number.isInteger(value[1]) &&
      (value[1] as number) >= 0 &&
      (value[1] as number) <= MAX_FIRST
    ) {
      return { token: value[0], skip: value[1] as number };
    }
  } catch {
    // fall through to the coded error
  }
  throw codedError('BAD_USER_INPUT', 'The `after` cursor is invalid', { argument: 'after' });
}

/**
 * Builds a connection over a token-paged List RPC. `after` from the last edge costs one call;
 * an earlier edge's cursor re-reads its page and skips what was already seen.
 */
export async function paginate<T>(
  args: { first?: number | null; after?: string | null },
  fetchPage: (pageSize: number, pageToken: string) => Promise<Page<T>>,
): Promise<Connection<T>> {
  const first = args.first ?? DEFAULT_FIRST;
  if (!Number.isInteger(first) || first < 0 || first > MAX_FIRST) {
    throw codedError('BAD_USER_INPUT', `\`first\` must be between 0 and ${MAX_FIRST}`, {
      argument: 'first',
    });
  }
  let { token, skip } = args.after ? decode(args.after) : { token: '', skip: 0 };
  const edges: Connection<T>['edges'] = [];
  let hasNextPage = false;
  let totalCount: number | null = null;
  if (first === 0) return { edges, pageInfo: { hasNextPage: true, endCursor: null }, totalCount };
  for (;;) {
    const page = await fetchPage(Math.min(MAX_FIRST, skip + first - edges.length), token);
    totalCount ??= page.totalSize ?? null;
    let taken = skip;
    for (let i = skip; i < page.items.length && edges.length < first; i++, taken++) {
      const last = i === page.items.length - 1 && page.nextPageToken !== '';
      edges.push({
        node: page.items[i],
        cursor: encode(last ? { token: page.nextPageToken, skip: 0 } : { token, skip: i + 1 }),
      });
    }
    if (taken < page.items.length) {
      hasNextPage = true;
      break;
    }
    if (page.nextPageToken === '') break;
    if (edges.length >= first) {
      hasNextPage = true;
      break;
    }
    skip = Math.max(0, skip - page.items.length);
    token = page.nextPageToken;
  }
  return {
    edges,
    pageInfo: { hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
    totalCount,
  };
}
