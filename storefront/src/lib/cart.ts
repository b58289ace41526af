// The cart lives in the browser (localStorage), so anonymous visitors can fill it before they
// sign in; prices are shown as seen and the order service prices the order from the catalog.

import type { MoneyValue } from './format';

/** One line of the cart. */
export interface CartLine {
  productId: string;
  name: string;
  price: MoneyValue;
  quantity: number;
}

const CART_KEY = 'shop.cart';
const EVENT = 'shop:cart';

/** The cart's lines (empty when none). */
export function readCart(): CartLine[] {
  try {
    return JSON.parse(localStorage.getItem(CART_KEY) ?? '[]') as CartLine[];
  } catch {
    return [];
  }
}

function writeCart(lines: CartLine[]): void {
  localStorage.setItem(CART_KEY, JSON.stringify(lines));
  window.dispatchEvent(new Event(EVENT));
}

/** Adds units of a product (merging with an existing line). */
export function addToCart(line: CartLine): void {
  const lines = readCart();
  const existing = lines.find((l) => l.productId === line.productId);
  if (existing) existing.quantity += line.quantity;
  else lines.push(line);
  writeCart(lines);
}

/** Sets a line's quantity; zero removes it. */
export function setQuantity(productId: string, quantity: number): void {
  writeCart(
    readCart()
      .map((l) => (l.productId === productId ? { ...l, quantity } : l))
      .filter((l) => l.quantity > 0),
  );
}

/** Empties the cart (after an order is placed). */
export function clearCart(): void {
  writeCart([]);
}

/** Calls `listener` whenever the cart changes in this tab or another. */
export function onCartChange(listener: () => void): () => void {
  window.addEventListener(EVENT, listener);
  window.addEventListener('storage', listener);
  return () => {
    window.removeEventListener(EVENT, listener);
    window.removeEventListener('storage', listener);
  };
}
