/**
 * Static checks of the Kubernetes manifests: nothing here needs a cluster. Every YAML file must
 * parse; every built-in object, as written and as rendered for each overlay, must decode strictly
 * against the Kubernetes 1.32 API (k8scheck: unknown fields, wrong types and unknown kinds are
 * errors, as with `kubectl apply`) and validate against the kubernetes-models JSON schemas
 * (required fields and formats); and the platform's own rules hold: probes, resources, non-root,
 * ports that exist, secrets that are templates, topics, dashboards over metrics the code really
 * exports, kustomizations that list real files.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import {
  GATEWAY_PORTS,
  domainOfService,
  domainOfSubgraph,
  type ServiceName,
  type SubgraphName,
} from '@shop/platform/topology';
import { type CheckResult, type Obj, renderAndValidate, validateStrict } from './k8scheck';

const K8S = path.resolve(__dirname, '..');
const ROOT = path.resolve(K8S, '..');

/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment,
   @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-argument --
   parsed YAML is untyped; k8scheck and kubernetes-models check each object's shape. */

function walk(dir: string, accept: (file: string) => boolean): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    if (entry === 'node_modules' || entry === 'dist') return [];
    if (statSync(full).isDirectory()) return walk(full, accept);
    return accept(full) ? [full] : [];
  });
}

function parseYaml(text: string, source: string): Obj[] {
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors[0]?.message}`);
    const value = doc.toJS() as Obj | null;
    return value === null ? [] : [value];
  });
}

const yamlFiles = walk(K8S, (f) => /\.ya?ml$/.test(f));
const rel = (file: string): string => path.relative(K8S, file);
const isKustomization = (o: Obj): boolean =>
  typeof o.apiVersion === 'string' && o.apiVersion.startsWith('kustomize.config.k8s.io/');
/** Built-in objects as written in the files (patches are partial and left to the renders). */
const written: Array<{ file: string; obj: Obj }> = yamlFiles
  .filter((f) => !f.includes(`${path.sep}overlays${path.sep}`))
  .flatMap((file) =>
    parseYaml(readFileSync(file, 'utf8'), rel(file))
      .filter((obj) => typeof obj.kind === 'string' && !isKustomization(obj))
      .map((obj) => ({ file: rel(file), obj })),
  );

const TARGETS = ['base', 'overlays/local', 'overlays/production'] as const;
type Target = (typeof TARGETS)[number];
let renders: Map<string, CheckResult> | undefined;
/** Every target rendered once (one k8scheck run; the first builds it with the Go toolchain). */
function render(target: Target): CheckResult {
  renders ??= new Map(
    renderAndValidate(TARGETS.map((t) => path.join(K8S, t))).map((r) => [
      path.relative(K8S, r.target),
      r,
    ]),
  );
  return renders.get(target) as CheckResult;
}
const rendered = (target: Target): Obj[] => render(target).objects;

/** Loads kubernetes-models modules by apiVersion (CommonJS; paths are computed). */
const loadModels = createRequire(__filename);

/** Validates with the kubernetes-models class of the object's apiVersion and kind. */
function validate(obj: Obj): void {
  const apiVersion = obj.apiVersion as string;
  // kubernetes-models has no Gateway API models; k8scheck decodes those strictly (gateway-api v1.2.1).
  if (apiVersion.startsWith('gateway.networking.k8s.io/')) return;
  const mod = loadModels(`kubernetes-models/${apiVersion}`) as Record<
    string,
    new (data: Obj) => { validate(): void }
  >;
  const Model = mod[obj.kind as string];
  if (!Model) throw new Error(`no model for ${apiVersion} ${obj.kind}`);
  new Model(obj).validate();
}

const WORKLOADS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'];
const workloads = (objs: Obj[]): Obj[] => objs.filter((o) => WORKLOADS.includes(o.kind));
const podSpec = (w: Obj): Obj => w.spec.template.spec as Obj;
const containers = (w: Obj): Obj[] => podSpec(w).containers as Obj[];
const isPlatform = (w: Obj): boolean =>
  ['grpc-service', 'subgraph', 'gateway'].includes(
    w.spec?.template?.metadata?.labels?.['app.kubernetes.io/component'] as string,
  );
const byKindName = (objs: Obj[], kind: string, name: string): Obj | undefined =>
  objs.find((o) => o.kind === kind && o.metadata?.name === name);

/** The domain services, from the repository itself. */
const domains = readdirSync(path.join(ROOT, 'grpc-services')).filter((d) =>
  existsSync(path.join(ROOT, 'grpc-services', d, 'src', 'config.ts')),
);
/** The ports a service's config defaults to: the platform topology's (each config reads it). */
function configDefaults(domain: string): { grpcPort: number; metricsPort: number } {
  const d = domainOfService(domain as ServiceName);
  return { grpcPort: d.grpcPort, metricsPort: d.serviceMetricsPort };
}

/** Source files that read the environment: each process's config and the shared readers. */
const configSources = [
  ...['grpc-services', 'subgraphs']
    .filter((d) => existsSync(path.join(ROOT, d)))
    .flatMap((d) =>
      readdirSync(path.join(ROOT, d)).map((p) => path.join(ROOT, d, p, 'src', 'config.ts')),
    ),
  path.join(ROOT, 'supergraph/src/config.ts'),
  path.join(ROOT, 'packages/platform/src/config.ts'),
  path.join(ROOT, 'packages/graphql/src/config.ts'),
]
  .filter((f) => existsSync(f))
  .map((f) => readFileSync(f, 'utf8'))
  .join('\n');
/** Whether some config reader names the variable (or, for a suffix, builds names ending in it). */
const sourceReads = (name: string): boolean =>
  name.startsWith('_') ? configSources.includes(`}${name}`) : configSources.includes(`'${name}'`);

describe('YAML files', () => {
  it.each(yamlFiles.map(rel))('%s parses', (file) => {
    expect(() => parseYaml(readFileSync(path.join(K8S, file), 'utf8'), file)).not.toThrow();
  });

  it.each(written.map(({ file, obj }) => [`${file} ${obj.kind}/${obj.metadata?.name}`, obj]))(
    '%s validates against the Kubernetes schema',
    (_label, obj) => {
      expect(() => validate(obj)).not.toThrow();
    },
  );
});

describe('strict validation (k8scheck, Kubernetes 1.32)', () => {
  const gateway = (): Obj =>
    structuredClone(
      rendered('base').find((o) => o.kind === 'Deployment' && o.metadata.name === 'gateway'),
    ) as Obj;

  beforeAll(() => {
    render('base');
  }, 600_000);

  it('decodes every object as written in base/ and components/ strictly', () => {
    expect(validateStrict(written.map(({ obj }) => obj)).errors).toEqual([]);
  });

  it('rejects an invented field', () => {
    const d = gateway();
    d.spec.template.spec.containers[0].inventedField = 'x';
    expect(validateStrict([d]).errors).toEqual([
      {
        object: 'apps/v1 Deployment/gateway',
        error: expect.stringContaining(
          'unknown field "spec.template.spec.containers[0].inventedField"',
        ),
      },
    ]);
  });

  it('rejects appProtocol on a container port (it exists only on Service ports)', () => {
    const d = gateway();
    d.spec.template.spec.containers[0].ports[0].appProtocol = 'http';
    expect(validateStrict([d]).errors).toEqual([
      {
        object: 'apps/v1 Deployment/gateway',
        error: expect.stringContaining(
          'unknown field "spec.template.spec.containers[0].ports[0].appProtocol"',
        ),
      },
    ]);
    const svc = rendered('base').find((o) => o.kind === 'Service' && o.metadata.name === 'gateway');
    expect(svc?.spec.ports[0].appProtocol).toBe('http');
    expect(validateStrict([svc as Obj]).errors).toEqual([]);
  });

  it('rejects a wrong type and a kind the API does not serve', () => {
    const d = gateway();
    d.spec.template.spec.containers[0].ports[0].containerPort = 'four thousand';
    const { errors } = validateStrict([d, { ...gateway(), kind: 'Deploymnet' }]);
    expect(errors.map((e) => e.object)).toEqual([
      'apps/v1 Deployment/gateway',
      'apps/v1 Deploymnet/gateway',
    ]);
    expect(errors[1]?.error).toContain('no kind "Deploymnet" is registered');
  });
});

describe('kustomizations', () => {
  const kustomizations = yamlFiles.filter((f) => path.basename(f) === 'kustomization.yaml');

  it.each(kustomizations.map(rel))('%s lists only files that exist', (file) => {
    const dir = path.dirname(path.join(K8S, file));
    const k = parseYaml(readFileSync(path.join(K8S, file), 'utf8'), file)[0];
    const listed: string[] = [
      ...((k.resources ?? []) as string[]),
      ...((k.components ?? []) as string[]),
      ...((k.patches ?? []) as Obj[]).flatMap((p) => (p.path ? [p.path as string] : [])),
      ...[...((k.configMapGenerator ?? []) as Obj[]), ...((k.secretGenerator ?? []) as Obj[])]
        .flatMap((g) => (g.files ?? []) as string[])
        .map((f) => f.split('=').pop() as string),
    ];
    expect(listed.length).toBeGreaterThan(0);
    for (const entry of listed)
      expect([entry, existsSync(path.join(dir, entry))]).toEqual([entry, true]);
  });

  it('every manifest file under base/ is listed by a kustomization', () => {
    const listedFiles = new Set(
      kustomizations.flatMap((file) => {
        const k = parseYaml(readFileSync(file, 'utf8'), rel(file))[0];
        return ((k.resources ?? []) as string[]).map((r) => path.join(path.dirname(file), r));
      }),
    );
    const manifests = yamlFiles.filter(
      (f) =>
        rel(f).startsWith('base') &&
        path.basename(f) !== 'kustomization.yaml' &&
        parseYaml(readFileSync(f, 'utf8'), rel(f)).some((o) => typeof o.kind === 'string'),
    );
    expect(manifests.filter((f) => !listedFiles.has(f)).map(rel)).toEqual([]);
  });

  it('ships the same realm and alert rules as the local stack', () => {
    const same = (a: string, b: string): void =>
      expect(readFileSync(path.join(K8S, a), 'utf8')).toBe(
        readFileSync(path.join(ROOT, b), 'utf8'),
      );
    same('base/dependencies/keycloak/realm-shop.json', 'infra/keycloak/realm-shop.json');
    same('base/observability/prometheus/alerts.yml', 'infra/prometheus/alerts.yml');
    same('base/observability/alertmanager/alertmanager.yml', 'infra/alertmanager/alertmanager.yml');
    same(
      'overlays/production/persisted-operations/storefront.json',
      'storefront/src/generated/persisted-operations.json',
    );
  });
});

describe.each(TARGETS)('kustomize build %s', (target) => {
  const objs = (): Obj[] => rendered(target);

  beforeAll(() => {
    render(target);
  }, 600_000);

  it('renders objects that the Kubernetes 1.32 API decodes strictly (no unknown fields)', () => {
    expect(render(target).errors).toEqual([]);
  });

  it('renders objects that validate against the Kubernetes schema', () => {
    const builtIn = objs();
    expect(builtIn.length).toBeGreaterThan(50);
    for (const obj of builtIn) {
      expect(() => validate(obj)).not.toThrow();
    }
    expect(new Set(builtIn.map((o) => o.metadata?.namespace ?? 'shop'))).toEqual(new Set(['shop']));
  });

  it('runs a Deployment and a Service for every domain service, subgraph and the gateway', () => {
    for (const domain of domains) {
      const name = `${domain}-service`;
      const deployment = byKindName(objs(), 'Deployment', name);
      const { grpcPort, metricsPort } = configDefaults(domain);
      expect([name, deployment?.kind]).toEqual([name, 'Deployment']);
      const ports = (containers(deployment as Obj)[0]?.ports ?? []) as Obj[];
      expect(ports.map((p) => p.containerPort)).toEqual([grpcPort, metricsPort]);
      expect(byKindName(objs(), 'Service', name)).toBeDefined();
    }
    const subgraphDir = path.join(ROOT, 'subgraphs');
    for (const name of existsSync(subgraphDir) ? readdirSync(subgraphDir) : []) {
      const config = path.join(subgraphDir, name, 'src', 'config.ts');
      if (!existsSync(config)) continue;
      const d = domainOfSubgraph(name as SubgraphName);
      const deployment = byKindName(objs(), 'Deployment', `${name}-subgraph`) as Obj;
      const ports = (containers(deployment)[0]?.ports ?? []) as Obj[];
      expect([name, ports.map((p) => p.containerPort)]).toEqual([
        name,
        [d.subgraphPort, d.subgraphMetricsPort],
      ]);
    }
    const gateway = byKindName(objs(), 'Deployment', 'gateway') as Obj;
    expect(((containers(gateway)[0]?.ports ?? []) as Obj[]).map((p) => p.containerPort)).toEqual([
      GATEWAY_PORTS.http,
      GATEWAY_PORTS.metrics,
    ]);
    const platform = workloads(objs()).filter(isPlatform);
    expect(
      platform.filter((w) => w.metadata.labels['app.kubernetes.io/component'] === 'subgraph'),
    ).toHaveLength(6);
  });

  it('gives every container probes, resources and a locked-down security context', () => {
    for (const w of workloads(objs())) {
      const pod = podSpec(w);
      for (const c of containers(w)) {
        const where = `${w.kind}/${w.metadata.name}/${c.name}`;
        if (w.kind !== 'Job') {
          expect([where, Boolean(c.readinessProbe), Boolean(c.livenessProbe)]).toEqual([
            where,
            true,
            true,
          ]);
        }
        for (const kind of ['requests', 'limits']) {
          expect([where, kind, Object.keys(c.resources?.[kind] ?? {}).sort()]).toEqual([
            where,
            kind,
            ['cpu', 'memory'],
          ]);
        }
        expect([where, c.securityContext?.allowPrivilegeEscalation]).toEqual([where, false]);
        expect([where, c.securityContext?.capabilities?.drop]).toEqual([where, ['ALL']]);
        // Filebeat alone runs as root (no capabilities) to read the node's log files.
        if (w.metadata.name !== 'filebeat') {
          const nonRoot = c.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
          const uid = c.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
          expect([where, nonRoot, typeof uid === 'number' && uid > 0]).toEqual([where, true, true]);
        }
      }
    }
  });

  it('runs the platform processes read-only, spread, scraped, drained and autoscaled', () => {
    const config = byKindName(objs(), 'ConfigMap', 'shop-config')?.data as Record<string, string>;
    const graceMs = Number(config.SHUTDOWN_GRACE_MS);
    for (const w of workloads(objs()).filter(isPlatform)) {
      const name = w.metadata.name as string;
      const [c] = containers(w) as [Obj];
      const ports = c.ports as Obj[];
      const metrics = ports.find((p) => p.name === 'metrics');
      expect([name, c.securityContext.readOnlyRootFilesystem]).toEqual([name, true]);
      expect(podSpec(w).topologySpreadConstraints?.length).toBeGreaterThan(0);
      const annotations = w.spec.template.metadata.annotations as Record<string, string>;
      expect([
        name,
        annotations['prometheus.io/scrape'],
        Number(annotations['prometheus.io/port']),
      ]).toEqual([name, 'true', metrics?.containerPort]);
      if (w.metadata.labels['app.kubernetes.io/component'] === 'grpc-service') {
        const grpc = ports.find((p) => p.name === 'grpc')?.containerPort as number;
        for (const probe of ['readinessProbe', 'livenessProbe'])
          expect(c[probe].grpc.port).toBe(grpc);
      } else {
        for (const probe of ['readinessProbe', 'livenessProbe'])
          expect(c[probe].httpGet.path).toBe('/healthz');
      }
      const preStopMs = Number(c.lifecycle?.preStop?.exec?.command?.[1] ?? 0) * 1000;
      const termMs = (podSpec(w).terminationGracePeriodSeconds as number) * 1000;
      expect(termMs).toBeGreaterThanOrEqual(preStopMs + graceMs);
      expect(termMs).toBeLessThanOrEqual(preStopMs + graceMs + 10_000);

      const hpa = byKindName(objs(), 'HorizontalPodAutoscaler', name);
      expect(hpa?.spec.scaleTargetRef.name).toBe(name);
      expect(hpa?.spec.metrics[0].resource).toEqual({
        name: 'cpu',
        target: { type: 'Utilization', averageUtilization: 70 },
      });
      if (target === 'base')
        expect([hpa?.spec.minReplicas, hpa?.spec.maxReplicas]).toEqual([2, 10]);
      if (target === 'overlays/local') expect(hpa?.spec.maxReplicas).toBe(1);
      if (target === 'overlays/production') {
        expect(hpa?.spec.minReplicas).toBeGreaterThanOrEqual(3);
        expect(byKindName(objs(), 'PodDisruptionBudget', name)?.spec.minAvailable).toBe(2);
        expect(c.resources.limits.memory).toBe(c.resources.requests.memory);
      }
      expect(byKindName(objs(), 'PodDisruptionBudget', name)).toBeDefined();
    }
  });

  it('points every Service and NetworkPolicy port at a container port that exists', () => {
    const pods = workloads(objs()).map((w) => ({
      labels: w.spec.template.metadata.labels as Record<string, string>,
      ports: containers(w).flatMap((c) => (c.ports ?? []) as Obj[]),
    }));
    const matching = (selector: Record<string, string>): typeof pods =>
      pods.filter((p) => Object.entries(selector).every(([k, v]) => p.labels[k] === v));
    const exists = (ports: Obj[], port: string | number): boolean =>
      ports.some((p) => p.name === port || p.containerPort === port);
    for (const svc of objs().filter((o) => o.kind === 'Service')) {
      const selected = matching(svc.spec.selector as Record<string, string>);
      expect([svc.metadata.name, selected.length > 0]).toEqual([svc.metadata.name, true]);
      for (const port of svc.spec.ports as Obj[]) {
        const targetPort = (port.targetPort ?? port.port) as string | number;
        for (const pod of selected) {
          expect([svc.metadata.name, targetPort, exists(pod.ports, targetPort)]).toEqual([
            svc.metadata.name,
            targetPort,
            true,
          ]);
        }
      }
    }
    for (const np of objs().filter((o) => o.kind === 'NetworkPolicy')) {
      const selected = matching((np.spec.podSelector.matchLabels ?? {}) as Record<string, string>);
      for (const rule of (np.spec.ingress ?? []) as Obj[]) {
        for (const { port } of (rule.ports ?? []) as Obj[]) {
          for (const pod of selected) {
            expect([np.metadata.name, port, exists(pod.ports, port as string | number)]).toEqual([
              np.metadata.name,
              port,
              true,
            ]);
          }
        }
      }
    }
  });

  it('lets the edge proxies reach only the storefront, the gateway and the login pages', () => {
    const fromEdge = objs()
      .filter((o) => o.kind === 'NetworkPolicy')
      .filter((np) =>
        ((np.spec.ingress ?? []) as Obj[]).some((r) =>
          ((r.from ?? []) as Obj[]).some((f) => f.namespaceSelector !== undefined),
        ),
      );
    expect(fromEdge.map((np) => np.metadata.name as string).sort()).toEqual([
      'gateway',
      'keycloak',
      'storefront',
    ]);
    for (const np of fromEdge) {
      const peers = (np.spec.ingress as Obj[]).flatMap((r) => (r.from ?? []) as Obj[]);
      expect(peers.filter((f) => f.namespaceSelector).map((f) => f.namespaceSelector)).toEqual([
        { matchLabels: { 'shop.example.com/edge': 'true' } },
      ]);
    }
    const expected = new Set(
      target === 'overlays/production'
        ? ['gateway', 'keycloak', 'storefront']
        : ['gateway', 'storefront'],
    );
    const ingressBackends = objs()
      .filter((o) => o.kind === 'Ingress')
      .flatMap((i) => (i.spec.rules as Obj[]).flatMap((r) => r.http.paths as Obj[]))
      .map((p) => p.backend.service.name as string);
    expect(new Set(ingressBackends)).toEqual(expected);
    const routeBackends = objs()
      .filter((o) => o.kind === 'HTTPRoute')
      .flatMap((r) => (r.spec.rules as Obj[]).flatMap((rule) => (rule.backendRefs ?? []) as Obj[]))
      .map((b) => b.name as string);
    expect(new Set(routeBackends)).toEqual(expected);
    // Controller-neutral Ingresses: the default IngressClass, no controller annotations.
    for (const ingress of objs().filter((o) => o.kind === 'Ingress')) {
      expect(ingress.spec.ingressClassName).toBeUndefined();
      expect(
        Object.keys((ingress.metadata.annotations ?? {}) as Record<string, string>).filter(
          (a) => !a.startsWith('cert-manager.io/'),
        ),
      ).toEqual([]);
    }
    const defaultDeny = byKindName(objs(), 'NetworkPolicy', 'default-deny-ingress');
    expect(defaultDeny?.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress'] });
  });

  it('routes through the Gateway API: every route attaches to a listener of its host and port', () => {
    const routes = objs().filter((o) => o.kind === 'HTTPRoute');
    expect(routes.map((r) => r.metadata.name as string)).toContain('gateway');
    for (const route of routes) {
      for (const ref of route.spec.parentRefs as Obj[]) {
        const gw = byKindName(objs(), 'Gateway', ref.name as string);
        const listener = ((gw?.spec.listeners ?? []) as Obj[]).find(
          (l) => l.name === ref.sectionName,
        );
        expect([route.metadata.name, ref.sectionName, Boolean(listener)]).toEqual([
          route.metadata.name,
          ref.sectionName,
          true,
        ]);
        for (const host of (route.spec.hostnames ?? []) as string[])
          if (listener?.hostname)
            expect([route.metadata.name, host]).toEqual([route.metadata.name, listener.hostname]);
      }
      for (const backend of (route.spec.rules as Obj[]).flatMap(
        (r) => r.backendRefs ?? [],
      ) as Obj[]) {
        const svc = byKindName(objs(), 'Service', backend.name as string);
        expect((svc?.spec.ports as Obj[]).map((p) => p.port)).toContain(backend.port);
      }
    }
    // graphql-ws upgrades get no request timeout; plain requests stay bounded.
    const gateway = byKindName(objs(), 'HTTPRoute', 'gateway') as Obj;
    const rules = gateway.spec.rules as Obj[];
    const ws = rules.find((r) =>
      (r.matches as Obj[]).some((m) =>
        ((m.headers ?? []) as Obj[]).some((h) => h.name === 'Upgrade'),
      ),
    );
    expect(ws?.matches[0].path).toEqual({ type: 'Exact', value: '/graphql' });
    expect(ws?.timeouts).toEqual({ request: '0s' });
    if (target === 'overlays/production') {
      const https = (byKindName(objs(), 'Gateway', 'shop')?.spec.listeners as Obj[]).filter(
        (l) => l.protocol === 'HTTPS',
      );
      expect(https.map((l) => l.tls.certificateRefs[0].name as string).sort()).toEqual([
        'auth-tls',
        'shop-tls',
      ]);
      expect(gateway.spec.parentRefs).toEqual([{ name: 'shop', sectionName: 'https' }]);
    }
  });

  it('resolves every env reference: ConfigMap and Secret keys, and $(VAR) defined earlier', () => {
    const data = (kind: string, name: string): Record<string, string> | undefined => {
      const o = byKindName(objs(), kind, name);
      return o ? { ...(o.data ?? {}), ...(o.stringData ?? {}) } : undefined;
    };
    for (const w of workloads(objs())) {
      for (const c of containers(w)) {
        const seen = new Set<string>();
        for (const from of (c.envFrom ?? []) as Obj[]) {
          const ref = (from.configMapRef ?? from.secretRef) as Obj;
          expect([
            ref.name,
            data(from.configMapRef ? 'ConfigMap' : 'Secret', ref.name as string),
          ]).not.toEqual([ref.name, undefined]);
        }
        for (const env of (c.env ?? []) as Obj[]) {
          const ref = (env.valueFrom?.configMapKeyRef ?? env.valueFrom?.secretKeyRef) as
            Obj | undefined;
          if (ref && !ref.optional) {
            const kind = env.valueFrom.configMapKeyRef ? 'ConfigMap' : 'Secret';
            expect([env.name, ref.key in (data(kind, ref.name as string) ?? {})]).toEqual([
              env.name,
              true,
            ]);
          }
          for (const [, used] of String(env.value ?? '').matchAll(/\$\(([A-Z_]+)\)/g)) {
            expect([env.name, used, seen.has(used)]).toEqual([env.name, used, true]);
          }
          seen.add(env.name as string);
        }
      }
    }
  });

  it('sets only shop-config keys that some process reads', () => {
    const OTEL_SDK_READS = new Set(['OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG']);
    const config = byKindName(objs(), 'ConfigMap', 'shop-config')?.data as Record<string, string>;
    const remapped = new Set(
      workloads(objs()).flatMap((w) =>
        containers(w).flatMap((c) =>
          ((c.env ?? []) as Obj[]).flatMap((e) =>
            e.valueFrom?.configMapKeyRef?.name === 'shop-config'
              ? [e.valueFrom.configMapKeyRef.key as string]
              : [],
          ),
        ),
      ),
    );
    const unread = Object.keys(config).filter(
      (key) =>
        !remapped.has(key) &&
        !sourceReads(key) &&
        // read by the OpenTelemetry SDK itself (the standard sampler variables)
        !OTEL_SDK_READS.has(key) &&
        // the gateway reads `<NAME>_SUBGRAPH_URL` for each subgraph name
        !(key.endsWith('_SUBGRAPH_URL') && sourceReads('_SUBGRAPH_URL')),
    );
    expect(unread).toEqual([]);
  });

  it('runs MongoDB as an authenticated replica set, each service as its own user', () => {
    const config = byKindName(objs(), 'ConfigMap', 'shop-config')?.data as Record<string, string>;
    const mongo = byKindName(objs(), 'StatefulSet', 'mongodb') as Obj;
    const [c] = containers(mongo) as [Obj];
    expect(c.args).toEqual(expect.arrayContaining(['--replSet=rs0', '--keyFile=/keyfile/keyfile']));
    const keyfile = (podSpec(mongo).volumes as Obj[]).find((v) => v.secret);
    expect(keyfile?.secret.secretName).toBe('mongodb-keyfile');
    const hosts = config.MONGO_HOSTS.split(',');
    expect(hosts).toEqual(
      Array.from(
        { length: mongo.spec.replicas as number },
        (_, i) => `mongodb-${i}.mongodb.shop.svc.cluster.local:27017`,
      ),
    );
    if (target === 'overlays/production') expect(hosts).toHaveLength(3);
    const init = byKindName(objs(), 'Job', 'mongodb-init') as Obj;
    const services = ((containers(init)[0]?.env ?? []) as Obj[]).find((e) => e.name === 'SERVICES');
    expect(String(services?.value).split(' ').sort()).toEqual([...domains].sort());
    for (const domain of domains) {
      const env = (containers(byKindName(objs(), 'Deployment', `${domain}-service`) as Obj)[0]
        ?.env ?? []) as Obj[];
      const url = env.find((e) => e.name === 'MONGO_URL')?.value as string;
      expect([domain, url]).toEqual([
        domain,
        `mongodb://${domain}:$(MONGO_PASSWORD)@$(MONGO_HOSTS)/shop_${domain}?replicaSet=rs0&authSource=shop_${domain}`,
      ]);
      expect(env.find((e) => e.name === 'MONGO_PASSWORD')?.valueFrom.secretKeyRef).toEqual({
        name: 'shop-mongo',
        key: `${domain.toUpperCase()}_MONGO_PASSWORD`,
      });
    }
  });

  it("exports the Kafka brokers' own metrics through the JMX agent their image carries", () => {
    const kafka = byKindName(objs(), 'StatefulSet', 'kafka') as Obj;
    const [c] = containers(kafka) as [Obj];
    const annotations = kafka.spec.template.metadata.annotations as Record<string, string>;
    const metrics = (c.ports as Obj[]).find((p) => p.name === 'metrics')?.containerPort as number;
    expect([
      annotations['prometheus.io/scrape'],
      Number(annotations['prometheus.io/port']),
    ]).toEqual(['true', metrics]);
    const opts = ((c.env ?? []) as Obj[]).find((e) => e.name === 'KAFKA_OPTS')?.value as string;
    const [, jar, port, config] = /^-javaagent:(\S+?)=(\d+):(\S+)$/.exec(opts) ?? [];
    expect(Number(port)).toBe(metrics);
    const dockerfile = readFileSync(path.join(K8S, 'kafka/Dockerfile'), 'utf8');
    expect(dockerfile).toContain(`/agent/jmx_prometheus_javaagent.jar ${jar}`);
    expect(dockerfile).toContain(`COPY k8s/kafka/jmx-exporter.yaml ${config}`);
    expect(dockerfile).toMatch(/sha256sum -c -/);
    expect(c.image).toMatch(/(^|\/)shop\/kafka(:|$)/);
  });

  it('answers GraphQL introspection only in the local overlay', () => {
    const config = byKindName(objs(), 'ConfigMap', 'shop-config')?.data as Record<string, string>;
    const gateway = byKindName(objs(), 'Deployment', 'gateway') as Obj;
    const override = ((containers(gateway)[0]?.env ?? []) as Obj[]).find(
      (e) => e.name === 'GRAPHQL_INTROSPECTION',
    );
    expect(sourceReads('GRAPHQL_INTROSPECTION')).toBe(true);
    expect([override, config.GRAPHQL_INTROSPECTION]).toEqual([
      undefined,
      target === 'overlays/local' ? 'true' : 'false',
    ]);
  });

  it('runs the gateway persisted-only in production, with the storefront manifest mounted', () => {
    const gateway = byKindName(objs(), 'Deployment', 'gateway') as Obj;
    const [container] = containers(gateway);
    const manifests = ((container?.env ?? []) as Obj[]).find(
      (e) => e.name === 'PERSISTED_OPERATIONS_MANIFESTS',
    )?.value as string | undefined;
    expect(sourceReads('PERSISTED_OPERATIONS_MANIFESTS')).toBe(true);
    if (target !== 'overlays/production') {
      expect(manifests).toBeUndefined();
      return;
    }
    const mount = ((container?.volumeMounts ?? []) as Obj[]).find(
      (m) => manifests?.startsWith(`${m.mountPath as string}/`) === true,
    );
    const volume = (podSpec(gateway).volumes as Obj[]).find((v) => v.name === mount?.name);
    const configMap = byKindName(objs(), 'ConfigMap', volume?.configMap?.name as string);
    const file = path.basename(manifests ?? '');
    expect(JSON.parse((configMap?.data as Record<string, string>)[file])).toEqual(
      JSON.parse(
        readFileSync(path.join(ROOT, 'storefront/src/generated/persisted-operations.json'), 'utf8'),
      ),
    );
  });

  it('reaches Keycloak inside the cluster while tokens keep the public issuer', () => {
    const config = byKindName(objs(), 'ConfigMap', 'shop-config')?.data as Record<string, string>;
    const svc = byKindName(objs(), 'Service', 'keycloak') as Obj;
    const port = (svc.spec.ports as Obj[]).find((p) => p.name === 'http')?.port as number;
    const internal = `http://keycloak.shop.svc.cluster.local:${port}`;
    expect({
      jwks: config.OIDC_JWKS_URL,
      token: config.OIDC_TOKEN_URL,
      admin: config.OIDC_ADMIN_URL,
    }).toEqual({
      jwks: `${internal}/realms/shop/protocol/openid-connect/certs`,
      token: `${internal}/realms/shop/protocol/openid-connect/token`,
      admin: `${internal}/admin/realms/shop`,
    });
    const keycloak = byKindName(objs(), 'Deployment', 'keycloak') as Obj;
    const hostname = ((containers(keycloak)[0]?.env ?? []) as Obj[]).find(
      (e) => e.name === 'KC_HOSTNAME',
    )?.value as string | undefined;
    // The issuer is the one Keycloak stamps into tokens: its configured public hostname.
    if (target !== 'base') expect(config.OIDC_ISSUER_URL).toBe(`${hostname}/realms/shop`);
  });

  it('addresses each domain service through DNS at the port its headless Service exposes', () => {
    const config = byKindName(objs(), 'ConfigMap', 'shop-config')?.data as Record<string, string>;
    for (const domain of domains) {
      const url = config[`${domain.toUpperCase()}_GRPC_URL`];
      const [host, port] = url.replace(/^dns:\/\/\//, '').split(':');
      expect([domain, url.startsWith('dns:///')]).toEqual([domain, true]);
      expect(host).toBe(`${domain}-service.shop.svc.cluster.local`);
      const svc = byKindName(objs(), 'Service', `${domain}-service`) as Obj;
      expect([domain, svc.spec.clusterIP]).toEqual([domain, 'None']);
      expect((svc.spec.ports as Obj[]).find((p) => p.name === 'grpc')?.port).toBe(Number(port));
    }
  });
});

describe('Kafka topics Job', () => {
  it('creates the four topics and their dead-letter topics', () => {
    const job = written.find(
      ({ obj }) => obj.kind === 'Job' && obj.metadata.name === 'kafka-topics',
    )?.obj as Obj;
    const [c] = containers(job) as [Obj];
    const topics = String((c.env as Obj[]).find((e) => e.name === 'TOPICS')?.value)
      .split(/\s+/)
      .filter(Boolean);
    const base = ['order-events', 'inventory-updates', 'user-notifications', 'catalog-events'];
    expect(topics.sort()).toEqual([...base, ...base.map((t) => `${t}.dlq`)].sort());
    expect(c.args[0]).toContain('--create --if-not-exists');
  });
});

describe('secrets', () => {
  it('are templates with placeholder values in base', () => {
    const secrets = written.filter(({ obj }) => obj.kind === 'Secret');
    expect(secrets.length).toBeGreaterThan(0);
    for (const { obj } of secrets) {
      expect(obj.data).toBeUndefined();
      for (const [key, value] of Object.entries((obj.stringData ?? {}) as Record<string, string>)) {
        if (/PASSWORD|SECRET|KEY|URL/.test(key))
          expect([key, value]).toEqual([key, expect.stringContaining('REPLACE')]);
      }
    }
  });

  it('the production realm has no demo users, no password grant and no literal client secret', () => {
    const realm = JSON.parse(
      readFileSync(path.join(K8S, 'overlays/production/keycloak/realm-shop.json'), 'utf8'),
    ) as Obj;
    const local = JSON.parse(
      readFileSync(path.join(ROOT, 'infra/keycloak/realm-shop.json'), 'utf8'),
    ) as Obj;
    expect((realm.users as Obj[]).every((u) => u.serviceAccountClientId !== undefined)).toBe(true);
    expect((realm.clients as Obj[]).map((c) => c.clientId)).toEqual(
      (local.clients as Obj[]).map((c) => c.clientId),
    );
    expect(realm.roles).toEqual(local.roles);
    for (const client of realm.clients as Obj[]) {
      expect(client.directAccessGrantsEnabled).toBe(false);
      if (client.secret !== undefined) expect(client.secret).toBe('${SHOP_SERVICES_CLIENT_SECRET}');
    }
  });
});

describe('Grafana dashboards', () => {
  const dir = path.join(K8S, 'base/observability/grafana/dashboards');
  const dashboards = readdirSync(dir).filter((f) => f.endsWith('.json'));
  /** Metric names the code registers (prom-client `name: '...'`). */
  const exported = new Set(
    [
      'packages/platform/src',
      'packages/graphql/src',
      'supergraph/src',
      ...readdirSync(path.join(ROOT, 'grpc-services'))
        .map((d) => `grpc-services/${d}/src`)
        .filter((d) => existsSync(path.join(ROOT, d))),
    ].flatMap((d) =>
      walk(path.join(ROOT, d), (f) => f.endsWith('.ts')).flatMap((f) =>
        [...readFileSync(f, 'utf8').matchAll(/name: '([a-z_]+)'/g)].map((m) => m[1]),
      ),
    ),
  );
  /** Series that come from exporters rather than our code. */
  const external = new Set(['kafka_consumergroup_lag']);
  const KEYWORDS = new Set([
    'by',
    'without',
    'on',
    'ignoring',
    'group_left',
    'group_right',
    'bool',
    'and',
    'or',
    'unless',
    'offset',
  ]);

  /** Metric names in a PromQL expression: identifiers that are not functions, keywords or labels. */
  function metricNames(expr: string): string[] {
    const stripped = expr
      .replace(/"(?:[^"\\]|\\.)*"/g, '')
      .replace(/\{[^}]*\}/g, '')
      .replace(/\[[^\]]*\]/g, '')
      .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '');
    return [...stripped.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?/g)]
      .filter((m) => m[2] === undefined && !KEYWORDS.has(m[1]))
      .map((m) => m[1].replace(/_(bucket|sum|count)$/, ''));
  }

  it('provisions at least two dashboards', () => {
    expect(dashboards.length).toBeGreaterThanOrEqual(2);
  });

  it.each(dashboards)('%s is valid JSON whose panels query metrics the code exports', (file) => {
    const dashboard = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Obj;
    expect(typeof dashboard.uid).toBe('string');
    const panels = dashboard.panels as Obj[];
    expect(panels.length).toBeGreaterThan(0);
    for (const panel of panels) {
      const targets = panel.targets as Obj[];
      expect(targets.length).toBeGreaterThan(0);
      for (const { expr } of targets) {
        const names = metricNames(expr as string);
        expect([expr, names.length > 0]).toEqual([expr, true]);
        for (const name of names) {
          expect([name, exported.has(name) || external.has(name)]).toEqual([name, true]);
        }
      }
    }
  });

  it('reads the gRPC RED and Kafka consumer metrics', () => {
    const all = dashboards.map((f) => readFileSync(path.join(dir, f), 'utf8')).join('\n');
    for (const metric of [
      'grpc_server_handled_total',
      'grpc_server_handling_seconds_bucket',
      'kafka_consumer_processed_total',
      'kafka_consumer_failed_attempts_total',
      'kafka_consumer_dead_lettered_total',
    ]) {
      expect(exported.has(metric.replace(/_bucket$/, ''))).toBe(true);
      expect(all).toContain(metric);
    }
  });
});
