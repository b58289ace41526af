/**
 * docker-compose.yml, checked without a container engine: k8s/tools/composecheck loads it with
 * the Compose Specification's loader (compose-go, what `docker compose` uses), which validates it
 * against the specification's schema (unknown keys fail). The loaded project must run every
 * platform process from k8s/Dockerfile, locked down, with the ports the manifests give it, and
 * every dependency address a process is given must name a service of the file on a port it
 * serves. The services and the addresses verified are printed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { type Obj, buildGoTool } from './k8scheck';

/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment --
   the loaded project is untyped JSON. */

const ROOT = path.resolve(__dirname, '..', '..');
const COMPOSE = path.join(ROOT, 'docker-compose.yml');

function load(file: string): { project?: Obj; error: string } {
  const run = spawnSync(buildGoTool('composecheck'), [file], { encoding: 'utf8' });
  return {
    project: run.status === 0 ? (JSON.parse(run.stdout) as Obj) : undefined,
    error: run.stderr,
  };
}

/** The 13 platform processes, named as in k8s/, with the workspace each is built from. */
const processes: Array<{ name: string; workspace: string }> = [
  ...readdirSync(path.join(ROOT, 'grpc-services'))
    .filter((d) => existsSync(path.join(ROOT, 'grpc-services', d, 'src', 'main.ts')))
    .map((d) => ({ name: `${d}-service`, workspace: `grpc-services/${d}` })),
  ...readdirSync(path.join(ROOT, 'subgraphs'))
    .filter((d) => existsSync(path.join(ROOT, 'subgraphs', d, 'src', 'main.ts')))
    .map((d) => ({ name: `${d}-subgraph`, workspace: `subgraphs/${d}` })),
  { name: 'gateway', workspace: 'supergraph' },
];
const DEPENDENCIES = ['mongo', 'kafka', 'kafka-topics', 'keycloak', 'mailpit', 'stripe'];
const OBSERVABILITY = [
  'prometheus',
  'alertmanager',
  'grafana',
  'jaeger',
  'opensearch',
  'opensearch-dashboards',
];
const ADDRESS =
  /(_GRPC_URL|_SUBGRAPH_URL)$|^(KAFKA_BROKERS|MONGO_URL|OIDC_JWKS_URL|OIDC_TOKEN_URL|OIDC_ADMIN_URL|SMTP_URL|OTEL_EXPORTER_OTLP_TRACES_ENDPOINT|STRIPE_API_BASE)$/;

/** The env a process's Deployment in k8s/base sets (its ports). */
function manifestEnv(name: string): Record<string, string> {
  const docs = parseAllDocuments(
    readFileSync(path.join(ROOT, 'k8s/base/apps', `${name}.yaml`), 'utf8'),
  );
  const deployment = docs.map((d) => d.toJS() as Obj).find((o) => o.kind === 'Deployment') as Obj;
  const env = deployment.spec.template.spec.containers[0].env as Obj[];
  return Object.fromEntries(
    env.filter((e) => e.value !== undefined).map((e) => [e.name as string, e.value as string]),
  );
}

describe('docker-compose.yml', () => {
  let project: Obj;
  beforeAll(() => {
    const loaded = load(COMPOSE);
    if (!loaded.project) throw new Error(`docker-compose.yml does not load: ${loaded.error}`);
    project = loaded.project;
  }, 600_000);
  const services = (): Record<string, Obj> => project.services as Record<string, Obj>;

  it('loads with the Compose Specification loader and lists every service of the platform', () => {
    const names = Object.keys(services()).sort();
    process.stdout.write(`docker-compose.yml: ${names.length} services: ${names.join(', ')}\n`);
    expect(names).toEqual(
      [...processes.map((p) => p.name), 'storefront', ...DEPENDENCIES, ...OBSERVABILITY].sort(),
    );
  });

  it.each(processes)(
    'builds $name from k8s/Dockerfile, locked down, on its k8s ports',
    ({ name, workspace }) => {
      const svc = services()[name];
      expect(svc.build).toEqual({
        context: '.',
        dockerfile: 'k8s/Dockerfile',
        args: { SERVICE: workspace },
      });
      expect({
        user: svc.user,
        read_only: svc.read_only,
        cap_drop: svc.cap_drop,
        healthcheck: svc.healthcheck,
      }).toEqual({ user: '1000:1000', read_only: true, cap_drop: ['ALL'], healthcheck: undefined });
      const k8s = manifestEnv(name);
      for (const key of Object.keys(k8s).filter((k) => k.endsWith('_PORT')))
        expect([name, key, svc.environment[key]]).toEqual([name, key, k8s[key]]);
    },
  );

  it('gives every process addresses of services in the file, on ports they serve', () => {
    const served = (svc: Obj): Set<number> =>
      new Set<number>([
        ...((svc.ports ?? []) as Obj[]).map((p) => Number(p.target)),
        ...Object.entries((svc.environment ?? {}) as Record<string, string>)
          .filter(([k]) => k.endsWith('_PORT'))
          .map(([, v]) => Number(v)),
        ...[...String(svc.environment?.KAFKA_LISTENERS ?? '').matchAll(/:(\d+)/g)].map((m) =>
          Number(m[1]),
        ),
      ]);
    const edges: string[] = [];
    const problems: string[] = [];
    for (const { name } of processes) {
      const env = services()[name]?.environment as Record<string, string>;
      for (const [key, value] of Object.entries(env).filter(([k]) => ADDRESS.test(k))) {
        for (const address of value.split(',')) {
          const url = new URL(
            address.includes('://') ? address.replace('dns:///', 'grpc://') : `tcp://${address}`,
          );
          const target = services()[url.hostname];
          const port = Number(url.port);
          if (!target) problems.push(`${name} ${key}: no service ${url.hostname}`);
          else if (!served(target).has(port))
            problems.push(`${name} ${key}: ${url.hostname} serves no ${port}`);
          else edges.push(`${name} [${key}] -> ${url.hostname}:${port}`);
        }
      }
      const keycloak = services().keycloak;
      expect(env.OIDC_ISSUER_URL).toBe(`${keycloak.environment.KC_HOSTNAME}/realms/shop`);
    }
    const distinct = [...new Set(edges.map((e) => e.replace(/^\S+ \[[A-Z_]+\] -> /, '')))].sort();
    process.stdout.write(
      `docker-compose.yml: ${edges.length} addresses verified over the 13 processes, ` +
        `${distinct.length} distinct: ${distinct.join(', ')}\n`,
    );
    expect(problems).toEqual([]);
    expect(edges.length).toBeGreaterThan(13 * 5);
  });

  it('builds the storefront from k8s/Dockerfile, read-only, rendering through the gateway', () => {
    const svc = services().storefront;
    expect(svc.build).toEqual({
      context: '.',
      dockerfile: 'k8s/Dockerfile',
      args: { SERVICE: 'storefront' },
    });
    expect([svc.user, svc.read_only]).toEqual(['1000:1000', true]);
    const gateway = services().gateway;
    const url = new URL(svc.environment.STOREFRONT_GATEWAY_URL as string);
    expect([url.hostname, url.port]).toEqual(['gateway', gateway.environment.GATEWAY_PORT]);
    expect(svc.environment.OIDC_ISSUER_URL).toBe(gateway.environment.OIDC_ISSUER_URL);
  });

  it('rejects a file with a key the specification does not define', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'compose-'));
    try {
      const file = path.join(dir, 'docker-compose.yml');
      writeFileSync(
        file,
        readFileSync(COMPOSE, 'utf8').replace(
          '  gateway:\n',
          '  gateway:\n    inventedField: true\n',
        ),
      );
      const { project: invalid, error } = load(file);
      expect(invalid).toBeUndefined();
      expect(error).toContain('services.gateway');
      expect(error).toContain('inventedField');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
