'use client';

import type { ReactNode } from 'react';

/** Anything a page could not load, in plain words, with a way to try again. */
export default function ErrorPage({ reset }: { error: Error; reset: () => void }): ReactNode {
  return (
    <div className="message-page" role="alert">
      <h1>The shop is not available right now</h1>
      <p>We could not load this page. Please try again in a moment.</p>
      <button type="button" className="button primary" onClick={reset}>
        Try again
      </button>
    </div>
  );
}
