import Link from 'next/link';
import type { ReactNode } from 'react';

export default function NotFound(): ReactNode {
  return (
    <div className="message-page">
      <h1>Not found</h1>
      <p>We could not find that page. It may have been removed.</p>
      <Link href="/" className="button primary">
        Back to the shop
      </Link>
    </div>
  );
}
