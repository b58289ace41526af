import { commonErrors, type Validator } from './errors';

/**
 * Opaque page tokens of a keyset-paginated listing: base64url JSON of the position to continue
 * after, bound to the listing that issued it (its filter, order or owner, as a string), so a
 * token presented to another listing, tampered with, or made up is refused with one error.
 */
export interface PageTokens<Position> {
  /** The token continuing after `position` in `listing`. */
  encode(position: Position, listing?: string): string;
  /**
   * The position of a token `listing` issued; INVALID_ARGUMENT (reason INVALID_PAGE_TOKEN) on
   * `page.page_token` otherwise.
   */
  decode(token: string, listing?: string): Position;
}

/** What a token carries: the listing it belongs to and the position, as JSON. */
interface Envelope {
  l: string;
  p: unknown;
}

/**
 * Page tokens for positions of one shape. `parse` checks a decoded position (it came from a
 * client) and returns it typed, or undefined when it is not one; `toJson` turns a position into
 * what JSON keeps (default: itself).
 */
export function pageTokens<Position>(
  parse: (value: unknown) => Position | undefined,
  toJson: (position: Position) => unknown = (position) => position,
): PageTokens<Position> {
  return {
    encode(position, listing = '') {
      const envelope: Envelope = { l: listing, p: toJson(position) };
      return Buffer.from(JSON.stringify(envelope)).toString('base64url');
    },
    decode(token, listing = '') {
      let position: Position | undefined;
      try {
        const envelope = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
        if (
          typeof envelope === 'object' &&
          envelope !== null &&
          (envelope as Partial<Envelope>).l === listing
        ) {
          position = parse((envelope as Envelope).p);
        }
      } catch {
        // Not base64url JSON: refused below.
      }
      if (position === undefined) {
        throw commonErrors.INVALID_PAGE_TOKEN({
          fieldViolations: [
            {
              field: 'page.page_token',
              description: 'is not a token this listing issued (or its filter or order changed)',
            },
          ],
        });
      }
      return position;
    },
  };
}

/** The position most listings continue after: the last item's creation time and id. */
export interface CreatedPosition {
  readonly createdAt: Date;
  readonly id: string;
}

/** Page tokens for listings ordered by creation time, then id. */
export const createdAtTokens = (): PageTokens<CreatedPosition> =>
  pageTokens<CreatedPosition>(
    (value) =>
      Array.isArray(value) &&
      value.length === 2 &&
      Number.isFinite(value[0]) &&
      typeof value[1] === 'string'
        ? { createdAt: new Date(value[0] as number), id: value[1] }
        : undefined,
    (position) => [position.createdAt.getTime(), position.id],
  );

/** The `page` of a List request (shop.common.v1.PageRequest). */
export interface PageRequest {
  readonly pageSize?: number;
  readonly pageToken?: string;
}

/** How many items a page holds when the request names no size, and at the most. */
export interface PageLimits {
  readonly defaultSize: number;
  readonly maxSize: number;
}

/** The page sizes of every List RPC unless it says otherwise. */
export const PAGE_LIMITS: PageLimits = { defaultSize: 20, maxSize: 100 };

/** Records a violation of `page.page_size` when it is negative (before `throwIfInvalid`). */
export function checkPageSize(v: Validator, page: PageRequest | undefined): void {
  v.check((page?.pageSize ?? 0) >= 0, 'page.page_size', 'must not be negative');
}

/**
 * One page of a keyset-paginated listing: decodes the request's token (bound to `listing`), reads
 * one item more than the page holds to know whether another page follows, and encodes the next
 * token from the page's last item (empty on the last page).
 */
export async function readPage<Item, Position>(
  page: PageRequest | undefined,
  options: {
    readonly tokens: PageTokens<Position>;
    /** Default {@link PAGE_LIMITS}. */
    readonly limits?: PageLimits;
    readonly positionOf: (item: Item) => Position;
    readonly listing?: string;
  },
  read: (after: Position | undefined, limit: number) => Promise<readonly Item[]>,
): Promise<{ items: Item[]; nextPageToken: string }> {
  const { tokens, limits = PAGE_LIMITS, positionOf, listing } = options;
  const size = Math.min(page?.pageSize || limits.defaultSize, limits.maxSize);
  const token = page?.pageToken ?? '';
  const rows = await read(token ? tokens.decode(token, listing) : undefined, size + 1);
  const items = rows.slice(0, size);
  const last = items.at(-1);
  return {
    items,
    nextPageToken:
      rows.length > size && last !== undefined ? tokens.encode(positionOf(last), listing) : '',
  };
}
