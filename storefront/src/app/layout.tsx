import type { Metadata } from 'next';
import Link from 'next/link';
import type { ReactNode } from 'react';
import { AccountMenu, CartLink } from '../components/account';
import { NotificationToasts } from '../components/notification-toasts';
import { ShopProvider, type PublicSettings } from '../components/shop-provider';
import { loadStorefrontConfig } from '../lib/config';
import './globals.css';

// Every page reads the platform's endpoints at request time and the catalog is live data.
export const dynamic = 'force-dynamic';

export const metadata: Metadata = {
  title: { default: 'Northwind Market', template: '%s · Northwind Market' },
  description: 'Electronics, home and outdoor gear, delivered.',
};

export default function RootLayout({ children }: { children: ReactNode }): ReactNode {
  const config = loadStorefrontConfig();
  const settings: PublicSettings = {
    gatewayUrl: config.publicGatewayUrl,
    wsUrl: config.publicWsUrl,
    oidc: { issuerUrl: config.oidcIssuerUrl, clientId: config.oidcClientId },
  };
  return (
    <html lang="en">
      <body>
        <ShopProvider settings={settings}>
          <a className="skip-link" href="#main">
            Skip to content
          </a>
          <header className="site-header">
            <div className="inner">
              <Link href="/" className="logo">
                Northwind <span>Market</span>
              </Link>
              <div className="header-actions">
                <AccountMenu />
                <CartLink />
              </div>
            </div>
          </header>
          <main id="main" className="inner" tabIndex={-1}>
            {children}
          </main>
          <NotificationToasts />
          <footer className="site-footer">
            <div className="inner">Free delivery over €50 · 30-day returns · Secure checkout</div>
          </footer>
        </ShopProvider>
      </body>
    </html>
  );
}
