import { order, type common } from '@shop/proto';

/** Template names, as recorded on notifications. */
export type TemplateName = 'order-placed' | 'order-confirmed' | 'order-cancelled';

/** A rendered message for every channel. */
export interface RenderedMessage {
  template: TemplateName;
  subject: string;
  text: string;
  html: string;
  /** Short text for SMS. */
  sms: string;
}

/** Formats integer minor units in their currency, e.g. 4297 EUR -> "€42.97". */
export function formatMoney(money: common.Money | undefined): string {
  if (!money || !money.currency) return '';
  const format = new Intl.NumberFormat('en-GB', { style: 'currency', currency: money.currency });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(money.amount / 10 ** digits);
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const shortId = (orderId: string): string => orderId.slice(0, 8).toUpperCase();

/** Why an order was cancelled, in words for the customer. */
export const CANCELLATION_TEXT: Readonly<Record<order.CancellationReason, string>> = {
  [order.CancellationReason.CANCELLATION_REASON_UNSPECIFIED]: 'it was cancelled',
  [order.CancellationReason.CANCELLATION_REASON_OUT_OF_STOCK]: 'some items are no longer in stock',
  [order.CancellationReason.CANCELLATION_REASON_PAYMENT_DECLINED]: 'your payment was declined',
  [order.CancellationReason.CANCELLATION_REASON_PAYMENT_FAILED]:
    'we could not complete your payment',
  [order.CancellationReason.CANCELLATION_REASON_CUSTOMER_CANCELLED]: 'you cancelled it',
  [order.CancellationReason.CANCELLATION_REASON_OPERATOR_CANCELLED]: 'our team cancelled it',
  [order.CancellationReason.CANCELLATION_REASON_EXPIRED]: 'it was not completed in time',
};

function build(
  template: TemplateName,
  subject: string,
  paragraphs: string[],
  lines: order.OrderLine[] = [],
  sms: string,
): RenderedMessage {
  const table = lines.map(
    (l) => `${l.quantity} × ${l.productName || l.sku}  ${formatMoney(l.lineTotal)}`,
  );
  const text = [
    'Hello,',
    '',
    ...paragraphs.flatMap((p) => [p, '']),
    ...(table.length > 0 ? [...table, ''] : []),
    'Thank you for shopping with us.',
  ].join('\n');
  const html = [
    '<p>Hello,</p>',
    ...paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`),
    table.length > 0
      ? `<ul>${table.map((row) => `<li>${escapeHtml(row)}</li>`).join('')}</ul>`
      : '',
    '<p>Thank you for shopping with us.</p>',
  ].join('\n');
  return { template, subject, text, html, sms };
}

/** "Order received": sent when the order is placed. */
export function orderPlaced(o: {
  orderId: string;
  lines: order.OrderLine[];
  total?: common.Money | undefined;
}): RenderedMessage {
  const ref = shortId(o.orderId);
  return build(
    'order-placed',
    `We received your order ${ref}`,
    [
      `We received your order ${ref} and are reserving your items.`,
      `Total: ${formatMoney(o.total)}. You will get another message once it is confirmed.`,
    ],
    o.lines,
    `Shop: we received your order ${ref} (${formatMoney(o.total)}).`,
  );
}

/** "Order confirmed": payment captured and stock reserved. */
export function orderConfirmed(o: {
  orderId: string;
  total?: common.Money | undefined;
}): RenderedMessage {
  const ref = shortId(o.orderId);
  return build(
    'order-confirmed',
    `Your order ${ref} is confirmed`,
    [
      `Good news: your order ${ref} is confirmed and your payment of ${formatMoney(o.total)} was taken.`,
      'We will let you know when it ships.',
    ],
    [],
    `Shop: order ${ref} is confirmed (${formatMoney(o.total)}).`,
  );
}

/** "Order cancelled", with the reason and whether money was refunded. */
export function orderCancelled(o: {
  orderId: string;
  reason: order.CancellationReason;
  note: string;
  refunded: boolean;
  lines: order.OrderLine[];
  total?: common.Money | undefined;
}): RenderedMessage {
  const ref = shortId(o.orderId);
  const why = CANCELLATION_TEXT[o.reason] ?? CANCELLATION_TEXT[0];
  const paragraphs = [`Your order ${ref} was cancelled because ${why}.`];
  if (o.note) paragraphs.push(o.note);
  paragraphs.push(
    o.refunded
      ? `Your payment of ${formatMoney(o.total)} has been refunded.`
      : 'You have not been charged.',
  );
  return build(
    'order-cancelled',
    `Your order ${ref} was cancelled`,
    paragraphs,
    o.lines,
    `Shop: order ${ref} was cancelled because ${why}.`,
  );
}
