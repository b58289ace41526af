import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { urlVar } from '../env';
import { binDir, goInstall } from '../go';
import { httpOk } from '../health';
import { spawnDetached } from '../process';
import { hasStamp, writeStamp } from '../stamp';
import type { Dependency, InfraContext, InfraEndpoints } from '../types';

const VERSION = 'v1.30.5';
const SMTP_PORT = 1025;
const HTTP_PORT = 8025;
const SMTP_URL = `smtp://127.0.0.1:${SMTP_PORT}`;
const API_URL = `http://127.0.0.1:${HTTP_PORT}`;
const STAMP = `mailpit ${VERSION}`;

function binary(ctx: InfraContext): string {
  return path.join(binDir(ctx), 'mailpit');
}

async function install(ctx: InfraContext): Promise<void> {
  await goInstall(ctx, 'mailpit', `github.com/axllent/mailpit@${VERSION}`);
  writeStamp(ctx, 'mailpit', STAMP);
}

async function start(ctx: InfraContext): Promise<number> {
  const dir = path.join(ctx.cacheDir, 'mailpit');
  await mkdir(dir, { recursive: true });
  return spawnDetached(ctx, 'mailpit', {
    cmd: binary(ctx),
    args: [
      '--listen',
      `127.0.0.1:${HTTP_PORT}`,
      '--smtp',
      `127.0.0.1:${SMTP_PORT}`,
      '--disable-version-check',
      '--database',
      path.join(dir, 'mailpit.db'),
      // Services may send credentials or none, over plain SMTP on loopback: accept both.
      '--smtp-auth-accept-any',
      '--smtp-auth-allow-insecure',
    ],
  });
}

function external(env: NodeJS.ProcessEnv): Partial<InfraEndpoints> | undefined {
  const smtpUrl = urlVar(env, 'SMTP_URL');
  if (smtpUrl === undefined) return undefined;
  // An external SMTP catcher usually is a Mailpit too: assume its API on the same host unless told.
  const mailpitApiUrl =
    urlVar(env, 'MAILPIT_API_URL') ?? `http://${new URL(smtpUrl).hostname}:${HTTP_PORT}`;
  return { smtpUrl, mailpitApiUrl };
}

/** Mailpit: SMTP catcher on 1025 with its REST API on 8025. */
export const mailpit: Dependency = {
  name: 'mailpit',
  endpoint: SMTP_URL,
  ports: [SMTP_PORT, HTTP_PORT],
  healthTimeoutMs: 30_000,
  external,
  endpoints: () => ({ smtpUrl: SMTP_URL, mailpitApiUrl: API_URL }),
  isInstalled: (ctx) => Promise.resolve(hasStamp(ctx, 'mailpit', STAMP) && existsSync(binary(ctx))),
  install,
  start,
  health: () => httpOk(`${API_URL}/api/v1/info`),
};
