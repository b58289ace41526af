import type { ReactNode } from 'react';
import { CategoryNav } from '../components/category-nav';
import { ProductGrid } from '../components/product-grid';
import { CatalogPageDocument, CategoryTreeDocument } from '../generated/graphql';
import { PAGE_SIZE, serverQuery } from '../lib/server';

/** The catalog: every product, a page at a time, with the category tree beside it. */
export default async function CatalogPage({
  searchParams,
}: {
  searchParams: Promise<{ after?: string; q?: string }>;
}): Promise<ReactNode> {
  const { after, q } = await searchParams;
  const query = q?.trim().slice(0, 200) ?? '';
  const [tree, page] = await Promise.all([
    serverQuery(CategoryTreeDocument, {}),
    serverQuery(CatalogPageDocument, {
      first: PAGE_SIZE,
      after: after ?? null,
      filter: query ? { nameQuery: query } : null,
    }),
  ]);
  const { pageInfo } = page.products;
  return (
    <div className="catalog">
      <CategoryNav tree={tree.categories} />
      <section aria-labelledby="catalog-title">
        <div className="hero">
          <h1 id="catalog-title">{query ? `Results for “${query}”` : 'All products'}</h1>
          <p>Hand-picked gear for home, work and the outdoors.</p>
          <form role="search" action="/" className="search">
            <label htmlFor="search" className="visually-hidden">
              Search products
            </label>
            <input
              id="search"
              name="q"
              type="search"
              defaultValue={query}
              placeholder="Search products"
            />
            <button type="submit" className="button primary">
              Search
            </button>
          </form>
        </div>
        <ProductGrid
          products={page.products.edges.map((e) => e.node)}
          nextHref={
            pageInfo.hasNextPage && pageInfo.endCursor
              ? `/?${new URLSearchParams({ ...(query ? { q: query } : {}), after: pageInfo.endCursor }).toString()}`
              : undefined
          }
          firstHref={after ? (query ? `/?q=${encodeURIComponent(query)}` : '/') : undefined}
        />
      </section>
    </div>
  );
}
