import type { ReactNode } from 'react';
import { CategoryNav } from '../components/category-nav';
import { ProductGrid } from '../components/product-grid';
import { CatalogPageDocument, CategoryTreeDocument } from '../generated/graphql';
import { PAGE_SIZE, serverQuery } from '../lib/server';

/** The catalog: every product, a page at a time, with the category tree beside it. */
export default async function CatalogPage({
  searchParams,
}: {
  searchParams: Promise<{ after?: string }>;
}): Promise<ReactNode> {
  const { after } = await searchParams;
  const [tree, page] = await Promise.all([
    serverQuery(CategoryTreeDocument, {}),
    serverQuery(CatalogPageDocument, { first: PAGE_SIZE, after: after ?? null }),
  ]);
  const { pageInfo } = page.products;
  return (
    <div className="catalog">
      <CategoryNav tree={tree.categories} />
      <section aria-labelledby="catalog-title">
        <div className="hero">
          <h1 id="catalog-title">All products</h1>
          <p>Hand-picked gear for home, work and the outdoors.</p>
        </div>
        <ProductGrid
          products={page.products.edges.map((e) => e.node)}
          nextHref={
            pageInfo.hasNextPage && pageInfo.endCursor
              ? `/?after=${encodeURIComponent(pageInfo.endCursor)}`
              : undefined
          }
          firstHref={after ? '/' : undefined}
        />
      </section>
    </div>
  );
}
