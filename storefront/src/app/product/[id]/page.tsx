import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import type { ReactNode } from 'react';
import { PurchasePanel } from '../../../components/purchase-panel';
import { ProductPageDocument } from '../../../generated/graphql';
import { formatMoney } from '../../../lib/format';
import { serverQuery } from '../../../lib/server';

type Props = { params: Promise<{ id: string }> };

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { id } = await params;
  const { product } = await serverQuery(ProductPageDocument, { id });
  return { title: product?.name ?? 'Product not found' };
}

/** A product with its price, category path and live stock. */
export default async function ProductPage({ params }: Props): Promise<ReactNode> {
  const { id } = await params;
  const { product } = await serverQuery(ProductPageDocument, { id });
  if (!product) notFound();
  const available = product.inventory?.available ?? null;
  const path = product.category ? [...product.category.ancestors, product.category] : [];
  return (
    <article className="product-page">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <ol>
          <li>
            <Link href="/">Home</Link>
          </li>
          {path.map((c) => (
            <li key={c.id}>
              <Link href={`/category/${c.id}`}>{c.name}</Link>
            </li>
          ))}
          <li aria-current="page">{product.name}</li>
        </ol>
      </nav>
      <div className="product-layout">
        <div className="product-image" aria-hidden="true">
          {product.name.slice(0, 1)}
        </div>
        <div className="product-info">
          <h1>{product.name}</h1>
          <p className="sku">SKU {product.sku}</p>
          <p className="price big" data-testid="price">
            {formatMoney(product.price)}
          </p>
          <p className="description">{product.description}</p>
          {product.attributes.length > 0 ? (
            <dl className="attributes">
              {product.attributes.map((a) => (
                <div key={a.name}>
                  <dt>{a.name}</dt>
                  <dd>{a.value}</dd>
                </div>
              ))}
            </dl>
          ) : null}
          <PurchasePanel
            productId={product.id}
            name={product.name}
            price={product.price}
            initialAvailable={available}
          />
        </div>
      </div>
    </article>
  );
}
