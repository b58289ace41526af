import { stockLabel } from '../lib/format';

/** A coloured badge: in stock, only N left, out of stock. */
export function StockBadge({
  available,
  live = false,
}: {
  available: number | null | undefined;
  live?: boolean;
}): React.ReactNode {
  const { text, tone } = stockLabel(available);
  return (
    <span
      className={`badge badge-${tone}`}
      data-testid="stock"
      data-available={available ?? ''}
      {...(live ? { 'aria-live': 'polite' as const } : {})}
    >
      {text}
    </span>
  );
}
