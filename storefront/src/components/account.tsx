'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { useEffect, useState } from 'react';
import { beginSignIn, signOut } from '../lib/auth';
import { onCartChange, readCart } from '../lib/cart';
import { useSession, useSettings } from './shop-provider';

/** Sign-in button, or the shopper's name with their orders and a sign-out button. */
export function AccountMenu(): React.ReactNode {
  const settings = useSettings();
  const session = useSession();
  const pathname = usePathname();
  if (session === undefined) return <span className="account" />;
  if (!session) {
    return (
      <span className="account">
        <Link href="/signup">Create account</Link>
        <button
          type="button"
          className="button ghost"
          onClick={() => void beginSignIn(settings.oidc, pathname)}
        >
          Sign in
        </button>
      </span>
    );
  }
  return (
    <span className="account">
      {session.roles.includes('admin') ? <Link href="/admin">Admin</Link> : null}
      <Link href="/orders">My orders</Link>
      <Link href="/notifications">Notifications</Link>
      <span className="who" data-testid="signed-in-as">
        {session.name || session.email}
      </span>
      <button type="button" className="button ghost" onClick={() => signOut(settings.oidc)}>
        Sign out
      </button>
    </span>
  );
}

/** The cart link with its item count, updated as the cart changes. */
export function CartLink(): React.ReactNode {
  const [count, setCount] = useState(0);
  useEffect(() => {
    const update = (): void => setCount(readCart().reduce((n, l) => n + l.quantity, 0));
    update();
    return onCartChange(update);
  }, []);
  return (
    <Link href="/cart" className="cart-link" aria-label={`Cart, ${count} items`}>
      Cart <span className="cart-count">{count}</span>
    </Link>
  );
}
