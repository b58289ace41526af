/**
 * What the entity cache may hold and what makes it stale: the one table of domain knowledge the
 * cache has. Only the catalog subgraphs are listed; their reads are public (the services' policy
 * answers them the same for every caller), so nothing here depends on who asks. Orders, users
 * and notifications are not listed and are never cached.
 *
 * Tags name what an entry depends on:
 * - `product:<id>`: one product's own fields;          `product-lists`: any listing of products;
 * - `categories`: the category tree (any category);    `stock:<productId>`: one product's stock;
 * - `stock-roots`: root `stock(productId)` reads;      `<subgraph>`: everything of that subgraph.
 */

/** A representation the gateway sends in `_entities`. */
export type Representation = Readonly<Record<string, unknown>> & { readonly __typename?: unknown };

/** How one subgraph's answers are cached. */
export interface SubgraphCacheRule {
  /** Tags of one entity answer, from its representation. */
  entityTags(representation: Representation): string[];
  /** Tags of a root-field answer (listings, lookups by argument). */
  readonly rootTags: readonly string[];
  /** Tags a mutation sent through this gateway to the subgraph invalidates (read-your-writes). */
  readonly mutationTags: readonly string[];
  /** Answers of operations mentioning one of these are not cached (see below). */
  readonly uncachedArguments?: readonly string[];
}

const idOf = (representation: Representation, field: string): string => {
  const value = representation[field];
  return typeof value === 'string' ? value : JSON.stringify(value);
};

/** The cacheable subgraphs, by name. */
export const CACHE_RULES: Readonly<Record<string, SubgraphCacheRule>> = {
  products: {
    entityTags: (r) =>
      r.__typename === 'Product'
        ? [`product:${idOf(r, 'id')}`, 'products']
        : // Category.products is a listing of the category's subtree.
          ['product-lists', 'categories', 'products'],
    rootTags: ['product-lists', 'categories', 'products'],
    mutationTags: ['products'],
    // The in-stock filter reads the product service's projection of stock, which that service
    // updates from the same events the cache listens to, in its own time: no exact invalidation.
    uncachedArguments: ['inStockOnly'],
  },
  categories: {
    // Ancestors, children and paths make every category answer depend on the whole tree.
    entityTags: () => ['categories'],
    rootTags: ['categories'],
    mutationTags: ['categories', 'product-lists'],
  },
  inventory: {
    entityTags: (r) => [
      `stock:${r.__typename === 'Stock' ? idOf(r, 'productId') : idOf(r, 'id')}`,
      'inventory',
    ],
    rootTags: ['stock-roots', 'inventory'],
    mutationTags: ['inventory'],
  },
};

/** An event as the invalidation feed sees it: its type and the aggregate it is about. */
export interface ChangeEvent {
  readonly eventType: string;
  readonly aggregateId: string;
}

/** The tags a domain event invalidates; empty for events that change no cached data. */
export function tagsOfEvent(event: ChangeEvent): string[] {
  switch (event.eventType) {
    case 'shop.inventory.v1.StockLevelChanged':
      return [`stock:${event.aggregateId}`, 'stock-roots'];
    case 'shop.product.v1.ProductChanged':
      return [`product:${event.aggregateId}`, 'product-lists'];
    case 'shop.category.v1.CategoryChanged':
      // A moved or renamed category changes the tree and which products a subtree lists.
      return ['categories', 'product-lists'];
    default:
      return [];
  }
}
