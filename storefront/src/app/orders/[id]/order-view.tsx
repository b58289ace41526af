'use client';

import Link from 'next/link';
import type { ReactNode } from 'react';
import { useSession, useSettings, useSubscription } from '../../../components/shop-provider';
import {
  OrderStatusDocument,
  type CancellationReason,
  type OrderStatus,
} from '../../../generated/graphql';
import { beginSignIn } from '../../../lib/auth';
import { formatMoney, plainError } from '../../../lib/format';

const STATUS_TEXT: Record<OrderStatus, string> = {
  PENDING: 'Received — checking stock and payment',
  CONFIRMED: 'Confirmed',
  SHIPPED: 'Shipped',
  DELIVERED: 'Delivered',
  CANCELLED: 'Cancelled',
};

const REASON_TEXT: Record<CancellationReason, string> = {
  OUT_OF_STOCK:
    'Sorry, an item ran out of stock before we could reserve it. You have not been charged.',
  PAYMENT_DECLINED: 'Your payment was declined. You have not been charged.',
  PAYMENT_FAILED: 'We could not complete your payment. You have not been charged.',
  CUSTOMER_CANCELLED: 'You cancelled this order.',
  OPERATOR_CANCELLED: 'We cancelled this order.',
  EXPIRED: 'The order was not completed in time.',
};

/** The order with a status timeline kept live by `orderStatusChanged` (its first message is the current state). */
export function OrderView({ orderId }: { orderId: string }): ReactNode {
  const settings = useSettings();
  const session = useSession();
  const { data, error } = useSubscription(
    OrderStatusDocument,
    { orderId },
    { token: session?.accessToken, skip: !session },
  );
  if (session === undefined) return <h1>Your order</h1>;
  if (!session) {
    return (
      <div className="message-page">
        <h1>Your order</h1>
        <p>Please sign in to see this order.</p>
        <button
          type="button"
          className="button primary"
          onClick={() => void beginSignIn(settings.oidc, `/orders/${orderId}`)}
        >
          Sign in
        </button>
      </div>
    );
  }
  if (error === 'NOT_FOUND') {
    return (
      <div className="message-page">
        <h1>Order not found</h1>
        <p>We could not find this order in your account.</p>
        <Link href="/orders" className="button primary">
          Your orders
        </Link>
      </div>
    );
  }
  if (error) {
    return (
      <div className="message-page" role="alert">
        <h1>Your order</h1>
        <p>{plainError(error)}</p>
        {error === 'UNAUTHENTICATED' ? (
          <button
            type="button"
            className="button primary"
            onClick={() => void beginSignIn(settings.oidc, `/orders/${orderId}`)}
          >
            Sign in again
          </button>
        ) : null}
      </div>
    );
  }
  const order = data?.orderStatusChanged;
  if (!order) return <h1>Loading your order…</h1>;
  const status = order.status ?? 'PENDING';
  return (
    <div className="order">
      <h1>Order {order.id.slice(0, 8).toUpperCase()}</h1>
      <p
        className={`status status-${status.toLowerCase()}`}
        data-testid="order-status"
        aria-live="polite"
      >
        {STATUS_TEXT[status]}
      </p>
      {status === 'CANCELLED' && order.cancellationReason ? (
        <p className="notice" data-testid="cancellation-reason">
          {REASON_TEXT[order.cancellationReason]}
        </p>
      ) : null}
      <div className="order-layout">
        <section aria-labelledby="timeline-title">
          <h2 id="timeline-title">Status</h2>
          <ol className="timeline">
            {order.statusHistory.map((change, i) => (
              <li key={i} className={`step status-${(change.status ?? 'PENDING').toLowerCase()}`}>
                <strong>{STATUS_TEXT[change.status ?? 'PENDING']}</strong>
                {change.at ? (
                  <time dateTime={change.at}>{new Date(change.at).toLocaleString('en-GB')}</time>
                ) : null}
              </li>
            ))}
          </ol>
        </section>
        <section aria-labelledby="items-title">
          <h2 id="items-title">Items</h2>
          <ul className="order-items">
            {order.items.map((item) => (
              <li key={item.productId}>
                <span>
                  {item.quantity} ×{' '}
                  <Link href={`/product/${item.productId}`}>{item.productName}</Link>
                </span>
                <span>{formatMoney(item.lineTotal)}</span>
              </li>
            ))}
          </ul>
          <p className="total">
            Total <strong>{formatMoney(order.total)}</strong>
          </p>
          {order.shippingAddress ? (
            <address>
              {order.shippingAddress.recipientName}
              <br />
              {order.shippingAddress.line1}
              <br />
              {order.shippingAddress.postalCode} {order.shippingAddress.city},{' '}
              {order.shippingAddress.countryCode}
            </address>
          ) : null}
        </section>
      </div>
    </div>
  );
}
