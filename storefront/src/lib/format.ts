/** Money as the API sends it: integer minor units and an ISO 4217 code. */
export interface MoneyValue {
  amount: number;
  currency: string;
}

/** "€19.99" from { amount: 1999, currency: 'EUR' }. */
export function formatMoney(money: MoneyValue | null | undefined): string {
  if (!money) return '';
  const digits =
    new Intl.NumberFormat('en', { style: 'currency', currency: money.currency }).resolvedOptions()
      .maximumFractionDigits ?? 2;
  return new Intl.NumberFormat('en-IE', { style: 'currency', currency: money.currency }).format(
    money.amount / 10 ** digits,
  );
}

/** The stock badge's words for an available count. */
export function stockLabel(available: number | null | undefined): {
  text: string;
  tone: 'in' | 'low' | 'out' | 'unknown';
} {
  if (available === null || available === undefined)
    return { text: 'Availability unknown', tone: 'unknown' };
  if (available <= 0) return { text: 'Out of stock', tone: 'out' };
  if (available <= 5) return { text: `Only ${available} left`, tone: 'low' };
  return { text: 'In stock', tone: 'in' };
}

/** Errors in plain words, by the gateway's `extensions.code`. */
export function plainError(code: string): string {
  switch (code) {
    case 'OUT_OF_STOCK':
      return 'Sorry, one of the items in your cart is out of stock.';
    case 'FORBIDDEN':
      return 'You are not allowed to do that.';
    case 'UNAUTHENTICATED':
      return 'Your session has expired. Please sign in again.';
    case 'NOT_FOUND':
      return 'We could not find that.';
    case 'BAD_USER_INPUT':
      return 'Some details are not valid. Please check the form.';
    // The gateway's codes (GRAPHQL_ERROR_CODES in @shop/platform), and the storefront's own
    // UNAVAILABLE for a lost live connection.
    case 'SERVICE_UNAVAILABLE':
    case 'DEADLINE_EXCEEDED':
    case 'UNAVAILABLE':
      return 'The shop is not available right now. Please try again in a moment.';
    default:
      return 'Something went wrong on our side. Please try again.';
  }
}
