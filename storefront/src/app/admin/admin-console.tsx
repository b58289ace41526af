'use client';

import { useCallback, useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { clientQuery } from '../../components/client-query';
import { useSession, useSettings } from '../../components/shop-provider';
import {
  AdjustStockDocument,
  AdminProductsDocument,
  CreateProductDocument,
  SetInitialStockDocument,
  type AdminProductsQuery,
} from '../../generated/graphql';
import { beginSignIn } from '../../lib/auth';
import { formatMoney, plainError } from '../../lib/format';
import { GraphQLRequestError } from '../../lib/graphql';

type Data = AdminProductsQuery;
type Category = Data['categories'][number];

function flatten(tree: readonly Category[]): Array<{ id: string; label: string }> {
  return tree.flatMap((root) => [
    { id: root.id, label: root.name },
    ...root.children.flatMap((child) => [
      { id: child.id, label: `${root.name} › ${child.name}` },
      ...child.children.map((leaf) => ({
        id: leaf.id,
        label: `${root.name} › ${child.name} › ${leaf.name}`,
      })),
    ]),
  ]);
}

const codeOf = (err: unknown): string =>
  err instanceof GraphQLRequestError ? err.code : 'INTERNAL';

const text = (form: FormData, name: string): string => {
  const value = form.get(name);
  return typeof value === 'string' ? value.trim() : '';
};

/** Operators' area: create a product with its first stock, and adjust the stock of any product. */
export function AdminConsole(): ReactNode {
  const settings = useSettings();
  const session = useSession();
  const [data, setData] = useState<Data | undefined>(undefined);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | undefined>();
  const token = session?.accessToken;
  const isAdmin = session?.roles.includes('admin') ?? false;

  const load = useCallback(async (): Promise<void> => {
    if (!token) return;
    try {
      setData(await clientQuery(settings.gatewayUrl, AdminProductsDocument, { first: 50 }, token));
    } catch (err) {
      setMessage({ kind: 'error', text: plainError(codeOf(err)) });
    }
  }, [settings.gatewayUrl, token]);

  useEffect(() => {
    if (isAdmin) void load();
  }, [isAdmin, load]);

  if (session === undefined) return <h1>Shop admin</h1>;
  if (!session) {
    return (
      <div className="message-page">
        <h1>Shop admin</h1>
        <p>Please sign in with an operator account.</p>
        <button
          type="button"
          className="button primary"
          onClick={() => void beginSignIn(settings.oidc, '/admin')}
        >
          Sign in
        </button>
      </div>
    );
  }
  if (!isAdmin) {
    return (
      <div className="message-page" role="alert">
        <h1>Not allowed</h1>
        <p>{plainError('FORBIDDEN')} This area is for the shop&apos;s operators.</p>
      </div>
    );
  }

  const run = async (what: () => Promise<string>): Promise<void> => {
    setMessage(undefined);
    try {
      const done = await what();
      await load();
      setMessage({ kind: 'ok', text: done });
    } catch (err) {
      setMessage({ kind: 'error', text: plainError(codeOf(err)) });
    }
  };

  const createProduct = (e: FormEvent<HTMLFormElement>): void => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const target = e.currentTarget;
    void run(async () => {
      const euros = Number(text(form, 'price').replace(',', '.'));
      const { createProduct: created } = await clientQuery(
        settings.gatewayUrl,
        CreateProductDocument,
        {
          input: {
            name: text(form, 'name'),
            sku: text(form, 'sku'),
            categoryId: text(form, 'categoryId'),
            description: text(form, 'description'),
            price: { amount: Math.round(euros * 100), currency: 'EUR' },
          },
        },
        token,
      );
      await clientQuery(
        settings.gatewayUrl,
        SetInitialStockDocument,
        { productId: created.id, onHand: Number(text(form, 'stock')) || 0 },
        token,
      );
      target.reset();
      return `Created ${created.name}.`;
    });
  };

  const adjust = (productId: string, name: string) => (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    void run(async () => {
      const delta = Number(text(form, 'delta'));
      const { adjustStock } = await clientQuery(
        settings.gatewayUrl,
        AdjustStockDocument,
        {
          productId,
          delta,
          reason: text(form, 'reason') || 'manual adjustment',
          idempotencyKey: crypto.randomUUID(),
        },
        token,
      );
      return `${name}: ${adjustStock.available} available now.`;
    });
  };

  return (
    <div className="admin">
      <h1>Shop admin</h1>
      <p
        role="status"
        className={message?.kind === 'error' ? 'error' : 'ok'}
        data-testid="admin-message"
      >
        {message?.text}
      </p>
      <section aria-labelledby="new-product" className="panel">
        <h2 id="new-product">New product</h2>
        <form onSubmit={createProduct} className="admin-form">
          <div className="field">
            <label htmlFor="new-name">Name</label>
            <input id="new-name" name="name" required maxLength={200} />
          </div>
          <div className="field">
            <label htmlFor="new-sku">SKU</label>
            <input id="new-sku" name="sku" required />
          </div>
          <div className="field">
            <label htmlFor="new-category">Category</label>
            <select id="new-category" name="categoryId" required>
              {flatten(data?.categories ?? []).map((c) => (
                <option key={c.id} value={c.id}>
                  {c.label}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="new-price">Price (EUR)</label>
            <input
              id="new-price"
              name="price"
              required
              inputMode="decimal"
              pattern="[0-9]+([.,][0-9]{1,2})?"
            />
          </div>
          <div className="field">
            <label htmlFor="new-stock">Units in stock</label>
            <input id="new-stock" name="stock" type="number" min={0} defaultValue={0} />
          </div>
          <div className="field wide">
            <label htmlFor="new-description">Description</label>
            <input id="new-description" name="description" />
          </div>
          <button type="submit" className="button primary">
            Create product
          </button>
        </form>
      </section>
      <section aria-labelledby="stock" className="panel">
        <h2 id="stock">Stock</h2>
        <table className="cart-table">
          <thead>
            <tr>
              <th scope="col">Product</th>
              <th scope="col">Price</th>
              <th scope="col">Available</th>
              <th scope="col">Adjust</th>
            </tr>
          </thead>
          <tbody>
            {(data?.products.edges ?? []).map(({ node }) => (
              <tr key={node.id} data-testid="admin-product" data-product-id={node.id}>
                <td>
                  {node.name}
                  <br />
                  <small>{node.sku}</small>
                </td>
                <td>{formatMoney(node.price)}</td>
                <td data-testid="admin-available">
                  {node.inventory
                    ? `${node.inventory.available} of ${node.inventory.onHand}`
                    : 'no stock record'}
                </td>
                <td>
                  <form onSubmit={adjust(node.id, node.name)} className="adjust-form">
                    <label className="visually-hidden" htmlFor={`delta-${node.id}`}>
                      Change in units for {node.name}
                    </label>
                    <input
                      id={`delta-${node.id}`}
                      name="delta"
                      type="number"
                      required
                      placeholder="±units"
                    />
                    <label className="visually-hidden" htmlFor={`reason-${node.id}`}>
                      Reason for {node.name}
                    </label>
                    <input id={`reason-${node.id}`} name="reason" placeholder="Reason" />
                    <button type="submit" className="button primary">
                      Apply<span className="visually-hidden"> to {node.name}</span>
                    </button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </div>
  );
}
