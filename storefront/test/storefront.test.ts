import { waitFor } from '@shop/testing';
import type { BrowserContext, Page } from 'playwright-core';
import {
  mailSubjectsTo,
  reportPageErrors,
  seriousA11yViolations,
  screenshot,
  signInOnKeycloak,
  startFixture,
  type StorefrontFixture,
} from './harness';

// The storefront in Debian's Chromium against the real stack: every service, subgraph and the
// gateway in-process with real tokens from the realm, Kafka-fed subscriptions, and Keycloak's
// own login page. One fixture for the file: one `next build` (skipped when fresh) per run.
let f: StorefrontFixture;
beforeAll(async () => {
  f = await startFixture();
}, 300_000);
afterAll(async () => {
  await f?.stop();
});

let context: BrowserContext;
let page: Page;
beforeEach(async () => {
  context = await f.browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  reportPageErrors(page);
});
afterEach(async () => {
  await context?.close();
});

const url = (path: string): string => `${f.storefront.url}${path}`;

async function adminAdjustStock(productId: string, delta: number): Promise<void> {
  const res = await f.stack.query(
    'mutation($p: ID!, $d: Int!) { adjustStock(productId: $p, delta: $d, reason: "test") { available } }',
    { p: productId, d: delta },
    { authorization: `Bearer ${await f.adminToken()}` },
  );
  expect(res.errors).toBeUndefined();
}

async function orderCount(user: 'alice' | 'bob'): Promise<number> {
  const res = await f.stack.query<{ myOrders: { edges: unknown[] } }>(
    '{ myOrders(first: 100) { edges { node { id } } } }',
    {},
    { authorization: `Bearer ${await f.tokenOf(user)}` },
  );
  expect(res.errors).toBeUndefined();
  return res.data?.myOrders.edges.length ?? 0;
}

/** Adds a product to the cart from its page, signs in at checkout, and fills the address. */
async function checkoutAs(
  user: 'alice' | 'bob',
  productId: string,
  quantity: number,
): Promise<void> {
  await page.goto(url(`/product/${productId}`));
  await page.fill('#quantity', String(quantity));
  await page.click('button:has-text("Add to cart")');
  await page.getByRole('status').getByText('Added to your cart').waitFor();
  await page.goto(url('/checkout'));
  await page.click('button:has-text("Sign in to check out")');
  await signInOnKeycloak(page, user);
  await page.waitForURL(url('/checkout'));
  await page.fill('#line1', 'Invalidenstraße 116');
  await page.fill('#postalCode', '10115');
  await page.fill('#city', 'Berlin');
}

describe('catalog', () => {
  it('is server-rendered for anonymous visitors: names, prices and stock are in the HTML', async () => {
    const html = await (await fetch(url('/'))).text();
    expect(html).toContain('Alpine Dome Tent');
    expect(html).toContain('€99.00');
    expect(html).toContain('In stock');
    expect(html).toContain('Tents');
  });

  it('pages through products with the cursor and browses a category subtree', async () => {
    await page.goto(url('/'));
    await expectCards(12);
    await screenshot(page, 'catalog');
    await page.click('a[rel="next"]');
    await page.waitForURL(/after=/);
    await expectCards(f.catalog.products.length - 12);
    await page
      .getByRole('navigation', { name: 'Categories' })
      .getByRole('link', { name: 'Outdoor' })
      .click();
    await page.waitForURL(url(`/category/${f.catalog.rootId}`));
    await page.getByRole('heading', { name: 'Outdoor' }).waitFor();
    await expectCards(12);
    expect(await page.getByText('Reading Lamp').count()).toBe(0);
    await page
      .getByRole('navigation', { name: 'Categories' })
      .getByRole('link', { name: 'Lamps' })
      .click();
    await page.waitForURL(url(`/category/${f.catalog.otherLeafId}`));
    await expectCards(1);
    await screenshot(page, 'category');
  });
});

async function expectCards(n: number): Promise<void> {
  await page.waitForFunction(
    (count) => document.querySelectorAll('[data-testid="product-card"]').length === count,
    n,
  );
}

describe('search', () => {
  it('finds products by part of their name, server-rendered', async () => {
    await page.goto(url('/'));
    await page.getByLabel('Search products').fill('tarp');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\?q=tarp/);
    await expectCards(1);
    await page.getByRole('heading', { name: 'Results for “tarp”' }).waitFor();
    expect(await page.getByTestId('product-card').innerText()).toContain('Backcountry Tarp');
  });
});

describe('product page', () => {
  it('shows price and the category path, and its stock changes live when an admin adjusts it', async () => {
    const product = f.catalog.products[1];
    await page.goto(url(`/product/${product.id}`));
    await page.getByRole('heading', { name: product.name }).waitFor();
    const crumbs = await page.getByRole('navigation', { name: 'Breadcrumb' }).innerText();
    expect(crumbs.replace(/\s+/g, ' ')).toMatch(/Home.*Outdoor.*Camping.*Tents.*Backcountry Tarp/);
    expect(await page.getByTestId('price').innerText()).toBe('€109.00');
    const stock = page.getByTestId('stock');
    await expect(stock.innerText()).resolves.toBe('Only 3 left');
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 1));
    await adminAdjustStock(product.id, -3);
    await page.waitForFunction(
      () => document.querySelector('[data-testid="stock"]')?.textContent === 'Out of stock',
    );
    expect(await page.getByRole('button', { name: 'Add to cart' }).isDisabled()).toBe(true);
    await adminAdjustStock(product.id, 20);
    await page.waitForFunction(
      () => document.querySelector('[data-testid="stock"]')?.textContent === 'In stock',
    );
    // The same document all along: the change came over graphql-ws, not by reloading.
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1);
    await screenshot(page, 'product');
  });
});

describe('checkout', () => {
  it('takes Alice from the cart through Keycloak to an order that turns CONFIRMED without a reload', async () => {
    const product = f.catalog.products[0];
    await checkoutAs('alice', product.id, 2);
    await screenshot(page, 'checkout');
    await page.click('button:has-text("Place order")');
    await page.waitForURL(/\/orders\/[^/]+$/);
    let navigations = 0;
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations += 1;
    });
    await page.getByTestId('order-status').waitFor();
    await page.waitForFunction(
      () => document.querySelector('[data-testid="order-status"]')?.textContent === 'Confirmed',
      undefined,
      { timeout: 45_000 },
    );
    expect(navigations).toBe(0);
    expect(await page.locator('.timeline li').count()).toBeGreaterThanOrEqual(2);
    expect(await page.getByTestId('signed-in-as').innerText()).not.toBe('');
    await screenshot(page, 'order-confirmed');
    // Emails name the order by the first 8 characters of its id, as the order page does.
    const reference = (page.url().split('/').pop() ?? '').slice(0, 8).toUpperCase();
    await expect(page.getByRole('heading', { name: `Order ${reference}` }).count()).resolves.toBe(
      1,
    );
    await waitFor(
      `Alice's confirmation email for order ${reference}`,
      async () =>
        (await mailSubjectsTo('alice@shop.local')).includes(`Your order ${reference} is confirmed`)
          ? true
          : undefined,
      { timeoutMs: 30_000 },
    );
    // …and the notification reached her open page through notificationReceived.
    await page
      .getByTestId('toasts')
      .getByRole('link', { name: `Your order ${reference} is confirmed` })
      .waitFor();
    expect(navigations).toBe(0);
  });

  it('places one order when "Place order" is double-clicked', async () => {
    const before = await orderCount('bob');
    await checkoutAs('bob', f.catalog.products[2].id, 1);
    await page.dblclick('button:has-text("Place order")');
    await page.waitForURL(/\/orders\/[^/]+$/);
    await page.getByTestId('order-status').waitFor();
    expect(await orderCount('bob')).toBe(before + 1);
  });

  it('shows Bob "not found" for Alice\'s order', async () => {
    const alice = await f.tokenOf('alice');
    const placed = await f.stack.query<{ placeOrder: { id: string } }>(
      'mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id } }',
      {
        i: {
          idempotencyKey: `bob-peeks-${Date.now()}`,
          items: [{ productId: f.catalog.products[3].id, quantity: 1 }],
          paymentMethod: 'pm_card_visa',
          shippingAddress: {
            recipientName: 'Alice',
            line1: 'A 1',
            city: 'Berlin',
            postalCode: '10115',
            countryCode: 'DE',
          },
        },
      },
      { authorization: `Bearer ${alice}` },
    );
    expect(placed.errors).toBeUndefined();
    const orderId = placed.data!.placeOrder.id;
    await page.goto(url('/orders'));
    await page.click('button:has-text("Sign in")');
    await signInOnKeycloak(page, 'bob');
    await page.waitForURL(url('/orders'));
    await page.goto(url(`/orders/${orderId}`));
    await page.getByRole('heading', { name: 'Order not found' }).waitFor();
    expect(await page.content()).not.toContain('Alice');
  });

  it('tells the shopper plainly when an item ran out of stock', async () => {
    const product = f.catalog.products[4];
    await checkoutAs('alice', product.id, product.stock + 5);
    await page.click('button:has-text("Place order")');
    await page.waitForURL(/\/orders\/[^/]+$/);
    await page.waitForFunction(
      () => document.querySelector('[data-testid="order-status"]')?.textContent === 'Cancelled',
      undefined,
      { timeout: 45_000 },
    );
    expect(await page.getByTestId('cancellation-reason').innerText()).toContain('ran out of stock');
    await screenshot(page, 'order-out-of-stock');
  });
});

describe('sign-up', () => {
  it('creates an account through register, then signs in with it on Keycloak', async () => {
    const email = `newcomer-${Date.now().toString(36)}@shop.local`;
    await page.goto(url('/'));
    await page.click('a:has-text("Create account")');
    await page.getByLabel('Your name').fill('Nova Newcomer');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password (at least 8 characters)').fill('newcomer-password');
    await page.click('button:has-text("Create account")');
    await page.getByRole('heading', { name: 'Your account is ready' }).waitFor();
    await page.getByRole('main').getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/protocol\/openid-connect\/auth/);
    await page.fill('#username', email);
    await page.fill('#password', 'newcomer-password');
    await page.click('#kc-login');
    await page.waitForURL(url('/'));
    await expect(page.getByTestId('signed-in-as').innerText()).resolves.toBe('Nova Newcomer');
  });

  it('says plainly when the email already has an account', async () => {
    await page.goto(url('/signup'));
    await page.getByLabel('Your name').fill('Alice Again');
    await page.getByLabel('Email').fill('alice@shop.local');
    await page.getByLabel('Password (at least 8 characters)').fill('whatever-password');
    await page.click('button:has-text("Create account")');
    await page.getByText('An account with this email already exists').waitFor();
  });
});

describe('errors in plain words', () => {
  it('asks the shopper to sign in again when the session is no longer accepted', async () => {
    await page.goto(url('/'));
    // A session whose token the gateway refuses (as an expired or revoked one would be).
    await page.evaluate(() =>
      sessionStorage.setItem(
        'shop.session',
        JSON.stringify({
          accessToken: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl',
          expiresAt: Date.now() + 600_000,
          email: 'alice@shop.local',
          name: 'Alice',
          roles: ['customer'],
        }),
      ),
    );
    await page.goto(url('/orders/some-order'));
    await page.getByText('Your session has expired. Please sign in again.').waitFor();
    await page.getByRole('button', { name: 'Sign in again' }).waitFor();
    await page.goto(url('/orders'));
    await page.getByText('Your session has expired. Please sign in again.').waitFor();
  });

  it('says the page does not exist for an unknown product', async () => {
    await page.goto(url('/product/no-such-product'));
    await page.getByRole('heading', { name: 'Not found' }).waitFor();
  });
});

describe('admin area', () => {
  it('adjusts stock while a shopper has the product open in another browser, whose page updates live', async () => {
    const product = f.catalog.products[6];
    await page.goto(url(`/product/${product.id}`));
    await expect(page.getByTestId('stock').innerText()).resolves.toBe('In stock');
    const admin = await f.browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const adminPage = await admin.newPage();
      reportPageErrors(adminPage);
      await adminPage.goto(url('/admin'));
      await adminPage.click('button:has-text("Sign in")');
      await signInOnKeycloak(adminPage, 'admin');
      await adminPage.waitForURL(url('/admin'));
      const row = adminPage.locator(`[data-product-id="${product.id}"]`);
      await row.waitFor();
      await row
        .getByLabel(`Change in units for ${product.name}`)
        .fill(String(-(product.stock - 2)));
      await row.getByLabel(`Reason for ${product.name}`).fill('damaged in storage');
      await row.getByRole('button', { name: `Apply to ${product.name}` }).click();
      await adminPage
        .getByTestId('admin-message')
        .getByText(`${product.name}: 2 available now.`)
        .waitFor();
      await screenshot(adminPage, 'admin');
    } finally {
      await admin.close();
    }
    await page.waitForFunction(
      () => document.querySelector('[data-testid="stock"]')?.textContent === 'Only 2 left',
    );
  });

  it('creates a product with its first stock, which the catalog then lists', async () => {
    await page.goto(url('/admin'));
    await page.click('button:has-text("Sign in")');
    await signInOnKeycloak(page, 'admin');
    await page.waitForURL(url('/admin'));
    await page.getByLabel('Name').fill('Desk Lamp Pro');
    await page.getByLabel('SKU').fill(`SF-DESK-LAMP-${Date.now().toString(36)}`);
    await page.getByLabel('Category').selectOption({ label: 'Home › Lamps' });
    await page.getByLabel('Price (EUR)').fill('59.90');
    await page.getByLabel('Units in stock').fill('4');
    await page.click('button:has-text("Create product")');
    await page.getByTestId('admin-message').getByText('Created Desk Lamp Pro.').waitFor();
    await page.goto(url(`/category/${f.catalog.otherLeafId}`));
    const card = page.getByTestId('product-card').filter({ hasText: 'Desk Lamp Pro' });
    await card.waitFor();
    expect((await card.innerText()).replace(/\s+/g, ' ')).toContain('€59.90 Only 4 left');
  });

  it('tells a customer plainly that it is not for them', async () => {
    await page.goto(url('/admin'));
    await page.click('button:has-text("Sign in")');
    await signInOnKeycloak(page, 'bob');
    await page.waitForURL(url('/admin'));
    await page.getByRole('heading', { name: 'Not allowed' }).waitFor();
    expect(await page.getByTestId('admin-product').count()).toBe(0);
  });
});

describe('accessibility', () => {
  it('catalog, category, product, sign-up, cart and order pages have no serious or critical axe violations', async () => {
    const product = f.catalog.products[5];
    const pages: Array<[string, () => Promise<void>]> = [
      ['catalog', () => page.goto(url('/')).then(() => undefined)],
      ['category', () => page.goto(url(`/category/${f.catalog.leafId}`)).then(() => undefined)],
      ['product', () => page.goto(url(`/product/${product.id}`)).then(() => undefined)],
      ['sign-up', () => page.goto(url('/signup')).then(() => undefined)],
      [
        'cart',
        async () => {
          await page.goto(url(`/product/${product.id}`));
          await page.click('button:has-text("Add to cart")');
          await page.goto(url('/cart'));
          await page.getByTestId('cart-total').waitFor();
        },
      ],
      [
        'order',
        async () => {
          await checkoutAs('alice', product.id, 1);
          await page.click('button:has-text("Place order")');
          await page.waitForURL(/\/orders\/[^/]+$/);
          await page.getByTestId('order-status').waitFor();
        },
      ],
    ];
    const found: Record<string, unknown> = {};
    for (const [name, open] of pages) {
      await open();
      const violations = await seriousA11yViolations(page);
      if (violations.length > 0) found[name] = violations;
    }
    expect(found).toEqual({});
  });

  it('can be shopped with the keyboard: skip link, then Tab to a product and Enter', async () => {
    await page.goto(url('/'));
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Enter');
    // From the main landmark: past the category links to the first product.
    for (let i = 0; i < 20; i += 1) {
      await page.keyboard.press('Tab');
      const href = await page.evaluate(() => document.activeElement?.getAttribute('href') ?? '');
      if (href.startsWith('/product/')) break;
    }
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/product\//);
    await page.getByRole('button', { name: 'Add to cart' }).waitFor();
  });
});
