import { ensureChromium, ensureStorefrontBuilt } from '@shop/infra';
import { freePort, passwordGrantToken, testEnv } from '@shop/testing';
import { startStack, type Stack } from '@shop/testing/stack';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

const ROOT = path.resolve(__dirname, '..', '..');
const SCREENSHOTS = path.join(__dirname, 'screenshots');

/** The storefront's Next.js server, started with `next start` on a free port. */
export interface RunningStorefront {
  url: string;
  stop(): Promise<void>;
}

/** Serves the built storefront against a gateway, and waits for its `/healthz`. */
export async function startStorefront(
  port: number,
  env: Record<string, string>,
): Promise<RunningStorefront> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      path.join(ROOT, 'node_modules/next/dist/bin/next'),
      'start',
      '--hostname',
      '127.0.0.1',
      '--port',
      String(port),
    ],
    {
      cwd: path.join(ROOT, 'storefront'),
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', ...env },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`next start exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('the storefront did not start within 60 s');
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Products of the test catalog: enough in one category for two pages. */
export interface SeededCatalog {
  rootId: string;
  leafId: string;
  otherLeafId: string;
  products: Array<{ id: string; name: string; stock: number }>;
}

/** Creates a small category tree and products with stock through the gateway, as an admin. */
export async function seedCatalog(stack: Stack, adminToken: string): Promise<SeededCatalog> {
  const headers = { authorization: `Bearer ${adminToken}` };
  const ok = async <T>(query: string, variables: Record<string, unknown>): Promise<T> => {
    const res = await stack.query<T>(query, variables, headers);
    if (res.errors) throw new Error(JSON.stringify(res.errors));
    return res.data as T;
  };
  const category = async (name: string, parentId?: string): Promise<string> =>
    (
      await ok<{ createCategory: { id: string } }>(
        'mutation($input: CreateCategoryInput!) { createCategory(input: $input) { id } }',
        { input: { name, ...(parentId ? { parentId } : {}) } },
      )
    ).createCategory.id;
  const rootId = await category('Outdoor');
  const leafId = await category('Tents', await category('Camping', rootId));
  const otherLeafId = await category('Lamps', await category('Home'));
  const products: SeededCatalog['products'] = [];
  const names = [
    'Alpine Dome Tent',
    'Backcountry Tarp',
    'Canyon Tunnel Tent',
    'Desert Shade Shelter',
    'Expedition Tent 4P',
    'Forest Hammock Tent',
    'Glacier Bivy',
    'Highland Tent 2P',
    'Island Beach Tent',
    'Juniper Trekking Tent',
    'Kestrel Ultralight Tent',
    'Lakeside Family Tent',
    'Meadow Pop-up Tent',
    'Nordic Winter Tent',
  ];
  const create = async (name: string, categoryId: string, cents: number, stock: number) => {
    const { createProduct } = await ok<{ createProduct: { id: string } }>(
      'mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }',
      {
        input: {
          sku: `SF-${name.replace(/\W+/g, '-').toUpperCase()}-${Date.now().toString(36)}`,
          name,
          description: `${name}: sturdy, light and quick to pitch.`,
          categoryId,
          price: { amount: cents, currency: 'EUR' },
          attributes: [{ name: 'weight', value: '2.1 kg' }],
        },
      },
    );
    await ok(
      'mutation($p: ID!, $n: Int!) { setInitialStock(productId: $p, onHand: $n) { available } }',
      {
        p: createProduct.id,
        n: stock,
      },
    );
    products.push({ id: createProduct.id, name, stock });
  };
  for (const [i, name] of names.entries())
    await create(name, leafId, 9_900 + i * 1_000, i === 1 ? 3 : 25);
  await create('Reading Lamp', otherLeafId, 4_500, 10);
  return { rootId, leafId, otherLeafId, products };
}

/** Everything a browser test needs: the real stack, a seeded catalog, the storefront, Chromium. */
export interface StorefrontFixture {
  stack: Stack;
  storefront: RunningStorefront;
  browser: Browser;
  catalog: SeededCatalog;
  issuer: string;
  adminToken(): Promise<string>;
  tokenOf(user: 'alice' | 'bob'): Promise<string>;
  stop(): Promise<void>;
}

/** Builds the storefront once (skipped when fresh), then starts the whole fixture. */
export async function startFixture(): Promise<StorefrontFixture> {
  const issuer = testEnv().oidcIssuerUrl;
  const [executablePath] = await Promise.all([ensureChromium(), ensureStorefrontBuilt()]);
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const stack = await startStack('storefront', {
    orders: true,
    tokens: true,
    subscriptions: true,
    gatewayEnv: { CORS_ORIGINS: origin },
  });
  const adminToken = (): Promise<string> =>
    passwordGrantToken(issuer, 'admin@shop.local', 'admin-password');
  const catalog = await seedCatalog(stack, await adminToken());
  const storefront = await startStorefront(port, {
    STOREFRONT_GATEWAY_URL: stack.gatewayUrl,
    OIDC_ISSUER_URL: issuer,
  });
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  return {
    stack,
    storefront,
    browser,
    catalog,
    issuer,
    adminToken,
    tokenOf: (user) => passwordGrantToken(issuer, `${user}@shop.local`, `${user}-password`),
    async stop() {
      await browser.close();
      await storefront.stop();
      await stack.stop();
    },
  };
}

/** One axe-core finding that a person would be blocked or badly hindered by. */
export interface AxeViolation {
  id: string;
  impact: string;
  help: string;
  targets: string[];
}

/** Runs axe-core in the page; returns the serious and critical violations. */
export async function seriousA11yViolations(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
  return page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run(): Promise<{
            violations: Array<{
              id: string;
              impact?: string | null;
              help: string;
              nodes: Array<{ target: unknown[] }>;
            }>;
          }>;
        };
      }
    ).axe;
    const { violations } = await axe.run();
    return violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({
        id: v.id,
        impact: v.impact ?? '',
        help: v.help,
        targets: v.nodes.map((n) => n.target.join(' ')),
      }));
  });
}

/** Subjects of the latest messages Mailpit received for an address. */
export async function mailSubjectsTo(address: string): Promise<string[]> {
  const url = new URL('/api/v1/search', testEnv().mailpitApiUrl);
  url.searchParams.set('query', `to:"${address}"`);
  url.searchParams.set('limit', '50');
  const { messages } = (await (await fetch(url)).json()) as {
    messages: Array<{ Subject: string }>;
  };
  return messages.map((m) => m.Subject);
}

/** Sends the page's errors and console errors to the test output, to see why a step hangs. */
export function reportPageErrors(page: Page): void {
  page.on('pageerror', (err) => process.stderr.write(`[browser] ${err.message}\n`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') process.stderr.write(`[browser console] ${msg.text()}\n`);
  });
}

/** Saves a full-page screenshot under storefront/test/screenshots/. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Signs in on the real Keycloak login page the storefront redirected to. */
export async function signInOnKeycloak(page: Page, user: 'alice' | 'bob' | 'admin'): Promise<void> {
  await page.waitForURL(/\/protocol\/openid-connect\/auth/);
  await page.fill('#username', `${user}@shop.local`);
  await page.fill('#password', `${user}-password`);
  await page.click('#kc-login');
}
