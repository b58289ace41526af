import Link from 'next/link';
import { notFound } from 'next/navigation';
import type { ReactNode } from 'react';
import { CategoryNav } from '../../../components/category-nav';
import { ProductGrid } from '../../../components/product-grid';
import { CategoryPageDocument, CategoryTreeDocument } from '../../../generated/graphql';
import { PAGE_SIZE, serverQuery } from '../../../lib/server';

/** One category and its whole subtree's products, a page at a time. */
export default async function CategoryPage({
  params,
  searchParams,
}: {
  params: Promise<{ id: string }>;
  searchParams: Promise<{ after?: string }>;
}): Promise<ReactNode> {
  const { id } = await params;
  const { after } = await searchParams;
  const [tree, page] = await Promise.all([
    serverQuery(CategoryTreeDocument, {}),
    serverQuery(CategoryPageDocument, { id, first: PAGE_SIZE, after: after ?? null }),
  ]);
  const category = page.category;
  if (!category) notFound();
  const { pageInfo } = category.products;
  return (
    <div className="catalog">
      <CategoryNav tree={tree.categories} currentId={category.id} />
      <section aria-labelledby="catalog-title">
        <nav aria-label="Breadcrumb" className="breadcrumb">
          <ol>
            <li>
              <Link href="/">Home</Link>
            </li>
            {category.ancestors.map((a) => (
              <li key={a.id}>
                <Link href={`/category/${a.id}`}>{a.name}</Link>
              </li>
            ))}
            <li aria-current="page">{category.name}</li>
          </ol>
        </nav>
        <div className="hero">
          <h1 id="catalog-title">{category.name}</h1>
          {category.children.length > 0 ? (
            <ul className="chips" aria-label="Subcategories">
              {category.children.map((c) => (
                <li key={c.id}>
                  <Link href={`/category/${c.id}`}>{c.name}</Link>
                </li>
              ))}
            </ul>
          ) : null}
        </div>
        <ProductGrid
          products={category.products.edges.map((e) => e.node)}
          nextHref={
            pageInfo.hasNextPage && pageInfo.endCursor
              ? `/category/${category.id}?after=${encodeURIComponent(pageInfo.endCursor)}`
              : undefined
          }
          firstHref={after ? `/category/${category.id}` : undefined}
        />
      </section>
    </div>
  );
}
