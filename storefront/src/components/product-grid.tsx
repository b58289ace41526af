import Link from 'next/link';
import type { ProductCardFragment } from '../generated/graphql';
import { formatMoney } from '../lib/format';
import { StockBadge } from './stock-badge';

/** Product tiles with name, price and stock, and a link to the next page when there is one. */
export function ProductGrid({
  products,
  nextHref,
  firstHref,
}: {
  products: ProductCardFragment[];
  nextHref: string | undefined;
  firstHref: string | undefined;
}): React.ReactNode {
  if (products.length === 0) {
    return <p className="empty">No products here yet.</p>;
  }
  return (
    <>
      <ul className="product-grid" aria-label="Products">
        {products.map((p) => (
          <li key={p.id} className="product-card" data-testid="product-card">
            <Link href={`/product/${p.id}`}>
              <span className="thumb" aria-hidden="true">
                {p.name.slice(0, 1)}
              </span>
              <span className="name">{p.name}</span>
            </Link>
            <span className="price">{formatMoney(p.price)}</span>
            <StockBadge available={p.inventory?.available} />
          </li>
        ))}
      </ul>
      <nav className="pager" aria-label="Pages">
        {firstHref ? <Link href={firstHref}>← First page</Link> : <span />}
        {nextHref ? (
          <Link href={nextHref} rel="next">
            Next page →
          </Link>
        ) : null}
      </nav>
    </>
  );
}
