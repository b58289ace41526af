import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { urlVar } from '../env';
import { httpOk } from '../health';
import { findJdk } from '../java';
import { runStep, spawnDetached } from '../process';
import { hashFiles, hasStamp, writeStamp } from '../stamp';
import type { Dependency, InfraContext } from '../types';

const VERSION = '26.4.5';
const PORT = 8180;
const BASE = `http://127.0.0.1:${PORT}`;
const ISSUER = `${BASE}/realms/shop`;
const STAMP = `keycloak ${VERSION}`;
const ARTIFACT = `org.keycloak:keycloak-quarkus-dist:${VERSION}:tar.gz`;

function dirs(ctx: InfraContext): { root: string; home: string; realm: string } {
  const root = path.join(ctx.cacheDir, 'keycloak');
  return {
    root,
    home: path.join(root, `keycloak-${VERSION}`),
    realm: path.join(ctx.infraDir, 'keycloak', 'realm-shop.json'),
  };
}

/**
 * Maven fetches the distribution; system tar unpacks it. `dependency:unpack` (plugin 2.8, Maven 3.8's
 * default) truncates the tar's long PAX file names and Keycloak then fails on missing jars.
 */
async function install(ctx: InfraContext): Promise<void> {
  const { root, home } = dirs(ctx);
  const download = path.join(root, 'download');
  await rm(home, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  await runStep(ctx, 'keycloak', {
    cmd: 'mvn',
    args: [
      '-q',
      '-B',
      'org.apache.maven.plugins:maven-dependency-plugin:2.8:copy',
      `-Dartifact=${ARTIFACT}`,
      `-DoutputDirectory=${download}`,
    ],
    cwd: root,
  });
  await runStep(ctx, 'keycloak', {
    cmd: 'tar',
    args: ['-xzf', path.join(download, `keycloak-quarkus-dist-${VERSION}.tar.gz`), '-C', root],
  });
  await rm(download, { recursive: true, force: true });
  writeStamp(ctx, 'keycloak', STAMP);
}

// --import-realm skips realms that already exist, so a changed realm file needs a fresh dev database.
async function prepareRealm(ctx: InfraContext): Promise<void> {
  const { home, realm } = dirs(ctx);
  const data = path.join(home, 'data');
  const hashFile = path.join(data, 'realm-shop.hash');
  const hash = hashFiles(realm);
  if (!existsSync(hashFile) || readFileSync(hashFile, 'utf8') !== hash) {
    await rm(path.join(data, 'h2'), { recursive: true, force: true });
  }
  await mkdir(path.join(data, 'import'), { recursive: true });
  await copyFile(realm, path.join(data, 'import', 'realm-shop.json'));
  await writeFile(hashFile, hash);
}

async function start(ctx: InfraContext): Promise<number> {
  const { home } = dirs(ctx);
  await prepareRealm(ctx);
  return spawnDetached(ctx, 'keycloak', {
    cmd: path.join(home, 'bin', 'kc.sh'),
    args: ['start-dev', '--http-host=127.0.0.1', `--http-port=${PORT}`, '--import-realm'],
    cwd: home,
    env: {
      ...ctx.env,
      // Keycloak 26 needs Java 21+; the machine default may be 17, so only Keycloak gets the newer JDK.
      JAVA_HOME: findJdk(ctx.env, 21).home,
      // Without an explicit heap Keycloak sizes itself to 70 % of RAM.
      JAVA_OPTS_KC_HEAP: '-Xms64m -Xmx768m',
      // Start-up is CPU-bound on 2 cores; the C1-only JIT starts it markedly faster.
      JAVA_OPTS_APPEND: '-XX:TieredStopAtLevel=1',
      // Local only: the admin console account for the dev instance.
      KC_BOOTSTRAP_ADMIN_USERNAME: 'admin',
      KC_BOOTSTRAP_ADMIN_PASSWORD: 'admin',
    },
  });
}

/** Keycloak 26 in dev mode on 8180 with the `shop` realm imported from infra/keycloak. */
export const keycloak: Dependency = {
  name: 'keycloak',
  endpoint: ISSUER,
  ports: [PORT],
  healthTimeoutMs: 180_000,
  external: (env) => {
    const oidcIssuerUrl = urlVar(env, 'OIDC_ISSUER_URL');
    return oidcIssuerUrl === undefined ? undefined : { oidcIssuerUrl };
  },
  endpoints: () => ({ oidcIssuerUrl: ISSUER }),
  isInstalled: (ctx) =>
    Promise.resolve(
      hasStamp(ctx, 'keycloak', STAMP) && existsSync(path.join(dirs(ctx).home, 'bin', 'kc.sh')),
    ),
  install,
  start,
  health: () => httpOk(`${ISSUER}/.well-known/openid-configuration`),
};
