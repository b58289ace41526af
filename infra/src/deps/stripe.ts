import { existsSync } from 'node:fs';
import path from 'node:path';
import { urlVar } from '../env';
import { binDir, goInstall } from '../go';
import { httpOk } from '../health';
import { spawnDetached } from '../process';
import { hasStamp, writeStamp } from '../stamp';
import type { Dependency, InfraContext } from '../types';

const VERSION = 'v0.197.0';
const HTTP_PORT = 12111;
const HTTPS_PORT = 12112;
const API_BASE = `http://127.0.0.1:${HTTP_PORT}`;
const STAMP = `stripe-mock ${VERSION}`;

function binary(ctx: InfraContext): string {
  return path.join(binDir(ctx), 'stripe-mock');
}

async function install(ctx: InfraContext): Promise<void> {
  await goInstall(ctx, 'stripe', `github.com/stripe/stripe-mock@${VERSION}`);
  writeStamp(ctx, 'stripe', STAMP);
}

function start(ctx: InfraContext): Promise<number> {
  return Promise.resolve(
    spawnDetached(ctx, 'stripe', {
      cmd: binary(ctx),
      // Naming both addresses keeps the HTTPS listener on loopback too instead of its default on all interfaces.
      args: ['-http-addr', `127.0.0.1:${HTTP_PORT}`, '-https-addr', `127.0.0.1:${HTTPS_PORT}`],
    }),
  );
}

/** stripe-mock: Stripe's stateless API mock on 12111 (HTTPS on 12112). */
export const stripe: Dependency = {
  name: 'stripe',
  endpoint: API_BASE,
  ports: [HTTP_PORT, HTTPS_PORT],
  healthTimeoutMs: 30_000,
  external: (env) => {
    const stripeApiBase = urlVar(env, 'STRIPE_API_BASE');
    return stripeApiBase === undefined ? undefined : { stripeApiBase };
  },
  endpoints: () => ({ stripeApiBase: API_BASE }),
  isInstalled: (ctx) => Promise.resolve(hasStamp(ctx, 'stripe', STAMP) && existsSync(binary(ctx))),
  install,
  start,
  health: () => httpOk(`${API_BASE}/v1/charges`, { Authorization: 'Bearer sk_test_123' }),
};
