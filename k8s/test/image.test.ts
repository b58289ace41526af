/**
 * The images, checked without a container engine: the Dockerfile's runtime stage is a supported
 * Node LTS, non-root, with a healthcheck, and carries only the closure k8s/image/closure.js
 * computes from package-lock.json; each process's closure, copied out on its own, resolves every
 * package its compiled code requires and loads. Sizes are printed, before (every workspace's
 * production dependencies, what `npm prune --omit=dev` kept) and per process now.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const DOCKERFILE = readFileSync(path.join(ROOT, 'k8s/Dockerfile'), 'utf8');
const CLOSURE = path.join(ROOT, 'k8s/image/closure.js');

/** Runs closure.js in plain Node (outside Jest's module mapping); its JSON and exit status. */
function closure<T>(...args: string[]): { result: T; ok: boolean } {
  try {
    const out = execFileSync(process.execPath, [CLOSURE, ...args], { encoding: 'utf8' });
    return { result: JSON.parse(out) as T, ok: true };
  } catch (err) {
    return { result: JSON.parse((err as { stdout: string }).stdout) as T, ok: false };
  }
}
interface Report {
  packages: number;
  bytes: number;
  missing: string[];
}
interface Verified {
  modules: number;
  problems: string[];
}

const processes = [
  ...['grpc-services', 'subgraphs'].flatMap((dir) =>
    readdirSync(path.join(ROOT, dir))
      .filter((p) => existsSync(path.join(ROOT, dir, p, 'src', 'main.ts')))
      .map((p) => `${dir}/${p}`),
  ),
  'supergraph',
];
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

describe('k8s/Dockerfile', () => {
  const runtime = DOCKERFILE.slice(DOCKERFILE.indexOf('AS runtime'));

  it('builds on a supported Node LTS (22 or 24)', () => {
    const major = /ARG NODE_IMAGE=node:(\d+)-/.exec(DOCKERFILE)?.[1];
    expect(['22', '24']).toContain(major);
  });

  it('runs as a non-root user with a healthcheck, from the process closure only', () => {
    expect(runtime).toMatch(/^USER 1000:1000$/m);
    expect(runtime).toMatch(
      /^HEALTHCHECK .*\n\s+CMD \["node", "\/usr\/local\/lib\/healthcheck\.js"\]/m,
    );
    expect(runtime.match(/^COPY .*$/gm)).toEqual([
      'COPY --from=build --chown=root:root /out /app',
      'COPY --from=build --chown=root:root /app/k8s/image/healthcheck.js /app/k8s/image/start.js /usr/local/lib/',
    ]);
    expect(runtime).toMatch(
      /^CMD \["node", "--enable-source-maps", "\/usr\/local\/lib\/start\.js"\]$/m,
    );
    expect(DOCKERFILE).toContain('RUN node k8s/image/closure.js "${SERVICE}" --copy /out');
  });
});

describe('process closures', () => {
  const sizes: string[] = [];
  afterAll(() => {
    const before = closure<Report>('--all-production').result;
    process.stdout.write(
      `image dependencies before: ${mb(before.bytes)} (${before.packages} lock entries, every ` +
        `workspace's production dependencies); per process now:\n${sizes.join('\n')}\n`,
    );
  });

  it.each(processes)(
    '%s: resolves every package it requires and loads, on its own',
    (workspace) => {
      const report = closure<Report>(workspace).result;
      sizes.push(`  ${workspace}: ${mb(report.bytes)} (${report.packages} lock entries)`);
      expect(report.missing).toEqual([]);
      const { result, ok } = closure<Verified>(workspace, '--verify');
      expect(result.problems).toEqual([]);
      expect(ok).toBe(true);
      expect(result.modules).toBeGreaterThan(10);
    },
    120_000,
  );

  it('resolves the storefront closure from the lock (its .next build is not checked here)', () => {
    const report = closure<Report>('storefront').result;
    sizes.push(
      `  storefront: ${mb(report.bytes)} (${report.packages} lock entries, without .next)`,
    );
    expect(report.missing).toEqual([]);
  });

  it('fails the check when the closure lacks a package the process needs', () => {
    const { result, ok } = closure<Verified>(
      'grpc-services/product',
      '--verify',
      '--omit',
      'node_modules/kafkajs',
    );
    expect(ok).toBe(false);
    expect(result.problems).toContain(
      'packages/platform/dist/src/kafka.js: cannot resolve kafkajs',
    );
  }, 120_000);
});
