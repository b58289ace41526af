'use client';

import { useRouter } from 'next/navigation';
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { useSettings } from '../../../components/shop-provider';
import { completeSignIn } from '../../../lib/auth';

/** Where Keycloak sends the shopper back: swaps the code for tokens and returns them to their page. */
export default function AuthCallback(): ReactNode {
  const settings = useSettings();
  const router = useRouter();
  const [error, setError] = useState<string | undefined>(undefined);
  const done = useRef(false);
  useEffect(() => {
    // Strict mode runs effects twice in development; the code can be swapped only once.
    if (done.current) return;
    done.current = true;
    completeSignIn(settings.oidc, new URLSearchParams(window.location.search)).then(
      (returnTo) => router.replace(returnTo),
      (err: unknown) => setError(err instanceof Error ? err.message : 'Sign-in failed.'),
    );
  }, [settings.oidc, router]);
  return (
    <div className="message-page">
      <h1>{error ? 'Sign-in did not work' : 'Signing you in…'}</h1>
      {error ? <p role="alert">{error}</p> : null}
    </div>
  );
}
