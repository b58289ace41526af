/**
 * Derives the network edges of a rendered overlay and checks each against its Services and
 * NetworkPolicies, so a new dependency cannot be forgotten in the policies.
 *
 * An edge is a process's declared dependency: for the platform processes, each dependency
 * variable (`*_GRPC_URL`, `*_SUBGRAPH_URL`, `KAFKA_BROKERS`, `MONGO_URL`, the in-cluster OIDC
 * URLs, `SMTP_URL`, the OTLP endpoint, the payment and SMS APIs) that the process's config reads
 * and its pod sets; for every other workload, each `<service>:<port>` its env or args name. An
 * in-cluster edge must resolve to a Service, a Service port, and a container port on every pod
 * the Service selects; the target's ingress policies must admit the source on that port, and
 * the source's egress policies (when it has any) must admit the target, plus DNS. An external
 * edge needs an egress rule to an IP block on its port. Loopback addresses are always wrong in
 * a pod (they name the pod itself).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Obj } from './k8scheck';

/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument --
   rendered objects are untyped JSON, validated strictly by k8scheck before they get here. */

const ROOT = path.resolve(__dirname, '..', '..');
const NAMESPACE = 'shop';
const WORKLOADS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'];

/** Variables that name another process or service the reader connects to. */
const DEPENDENCY =
  /(_GRPC_URL|_SUBGRAPH_URL)$|^(KAFKA_BROKERS|MONGO_URL|OIDC_JWKS_URL|OIDC_TOKEN_URL|OIDC_ADMIN_URL|SMTP_URL|OTEL_EXPORTER_OTLP_TRACES_ENDPOINT|STRIPE_API_BASE|TWILIO_API_BASE)$/;
const DEFAULT_PORTS: Record<string, number> = {
  'http:': 80,
  'https:': 443,
  'smtp:': 25,
  'smtps:': 465,
  'mongodb:': 27017,
};

/** One verified connection. */
export interface Edge {
  from: string;
  /** The variable (platform) or `env NAME` / `args` (other workloads) that declares it. */
  via: string;
  /** `service:port` inside the cluster, or `external host:port`. */
  to: string;
  /** The workloads behind the Service, with the container port reached. */
  pods: string[];
}

/** What the check found for one overlay. */
export interface NetworkReport {
  edges: Edge[];
  failures: string[];
}

type Labels = Record<string, string>;

function selects(selector: Obj | undefined, labels: Labels): boolean {
  if (selector === undefined) return false;
  const matchLabels = (selector.matchLabels ?? {}) as Labels;
  if (!Object.entries(matchLabels).every(([k, v]) => labels[k] === v)) return false;
  return ((selector.matchExpressions ?? []) as Obj[]).every((e) => {
    const has = e.key in labels;
    const values = (e.values ?? []) as string[];
    switch (e.operator) {
      case 'In':
        return has && values.includes(labels[e.key]);
      case 'NotIn':
        return !has || !values.includes(labels[e.key]);
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
      default:
        return false;
    }
  });
}

/** Source files whose variable names a platform process reads, by its workspace folder. */
function readsOf(workspace: string): (name: string) => boolean {
  const text = [
    path.join(ROOT, workspace, 'src', 'config.ts'),
    path.join(ROOT, 'packages/platform/src/config.ts'),
    ...(workspace.startsWith('subgraphs/')
      ? [path.join(ROOT, 'packages/graphql/src/config.ts')]
      : []),
  ]
    .filter((f) => existsSync(f))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
  return (name) =>
    text.includes(`'${name}'`) ||
    // the gateway builds `<NAME>_SUBGRAPH_URL` from each subgraph's name
    (name.endsWith('_SUBGRAPH_URL') && text.includes('}_SUBGRAPH_URL'));
}

/** The workspace folder of a platform workload, from its labels. */
function workspaceOf(w: Obj): string | undefined {
  const labels = w.spec.template.metadata.labels as Labels;
  const name = w.metadata.name as string;
  switch (labels['app.kubernetes.io/component']) {
    case 'grpc-service':
      return `grpc-services/${name.replace(/-service$/, '')}`;
    case 'subgraph':
      return `subgraphs/${name.replace(/-subgraph$/, '')}`;
    case 'gateway':
      return 'supergraph';
    default:
      return undefined;
  }
}

/**
 * Splits a dependency value into host:port endpoints: a URL (its authority may list several
 * hosts, as a MongoDB replica set URL does), `dns:///host:port`, or a comma-separated list.
 */
function endpoints(value: string): Array<{ host: string; port: number }> {
  const url = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)/.exec(value.trim());
  const scheme = url?.[1] === 'dns' ? undefined : url?.[1];
  const authority = url
    ? url[1] === 'dns'
      ? value.trim().replace(/^dns:\/\/\//, '')
      : (url[2] ?? '').replace(/^.*@/, '')
    : value;
  return authority
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((hostPort) => {
      const [host = '', port] = hostPort.split(':');
      const fallback = scheme === undefined ? undefined : DEFAULT_PORTS[`${scheme}:`];
      return { host, port: port === undefined ? (fallback ?? NaN) : Number(port) };
    });
}

/** Checks every edge of one rendered overlay. */
export function checkNetwork(objs: Obj[]): NetworkReport {
  const edges: Edge[] = [];
  const failures: string[] = [];
  const workloads = objs.filter((o) => WORKLOADS.includes(o.kind));
  const services = new Map(
    objs.filter((o) => o.kind === 'Service').map((s) => [s.metadata.name as string, s]),
  );
  const policies = objs.filter((o) => o.kind === 'NetworkPolicy');
  const labelsOf = (w: Obj): Labels => w.spec.template.metadata.labels as Labels;
  const dataOf = (kind: string, name: string): Record<string, string> => {
    const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
    const decoded = Object.fromEntries(
      Object.entries((o?.data ?? {}) as Record<string, string>).map(([k, v]) => [
        k,
        kind === 'Secret' ? Buffer.from(v, 'base64').toString('utf8') : v,
      ]),
    );
    return { ...decoded, ...((o?.stringData ?? {}) as Record<string, string>) };
  };
  const envOf = (c: Obj): Map<string, string> => {
    const env = new Map<string, string>();
    for (const from of (c.envFrom ?? []) as Obj[]) {
      const data = from.configMapRef
        ? dataOf('ConfigMap', from.configMapRef.name as string)
        : dataOf('Secret', from.secretRef.name as string);
      for (const [k, v] of Object.entries(data)) env.set(`${from.prefix ?? ''}${k}`, v);
    }
    for (const e of (c.env ?? []) as Obj[]) {
      const ref = e.valueFrom?.configMapKeyRef ?? e.valueFrom?.secretKeyRef;
      const kind = e.valueFrom?.configMapKeyRef ? 'ConfigMap' : 'Secret';
      const raw = ref ? dataOf(kind, ref.name as string)[ref.key as string] : e.value;
      if (typeof raw !== 'string') continue;
      env.set(
        e.name as string,
        raw.replace(/\$\(([A-Z_]+)\)/g, (m, v: string) => env.get(v) ?? m),
      );
    }
    return env;
  };

  /** Policies of a type that select the pod; none means the pod is not isolated that way. */
  const isolating = (labels: Labels, type: 'Ingress' | 'Egress'): Obj[] =>
    policies.filter((p) => {
      const types = (p.spec.policyTypes ??
        (p.spec.egress ? ['Ingress', 'Egress'] : ['Ingress'])) as string[];
      return types.includes(type) && selects(p.spec.podSelector, labels);
    });
  const portMatches = (rule: Obj, port: { name?: string; number: number; protocol: string }) => {
    const ports = (rule.ports ?? []) as Obj[];
    return (
      ports.length === 0 ||
      ports.some(
        (p) =>
          (p.protocol ?? 'TCP') === port.protocol &&
          (p.port === undefined ||
            p.port === port.name ||
            p.port === port.number ||
            (typeof p.port === 'number' &&
              p.endPort !== undefined &&
              port.number >= p.port &&
              port.number <= (p.endPort as number))),
      )
    );
  };
  const peerIsPod = (peer: Obj, labels: Labels): boolean =>
    peer.ipBlock === undefined &&
    (peer.namespaceSelector === undefined ||
      selects(peer.namespaceSelector, { 'kubernetes.io/metadata.name': NAMESPACE })) &&
    (peer.podSelector === undefined || selects(peer.podSelector, labels));
  const admits = (
    pols: Obj[],
    direction: 'ingress' | 'egress',
    peer: (p: Obj) => boolean,
    port: { name?: string; number: number; protocol: string },
  ): boolean =>
    pols.some((p) =>
      ((p.spec[direction] ?? []) as Obj[]).some((rule) => {
        const peers = (rule[direction === 'ingress' ? 'from' : 'to'] ?? []) as Obj[];
        return (peers.length === 0 || peers.some(peer)) && portMatches(rule, port);
      }),
    );

  /** Resolves a cluster host name to a Service in the namespace, or undefined if external. */
  const serviceOf = (host: string): string | undefined => {
    const labels = host.replace(/\.svc(\.cluster\.local)?$/, '').split('.');
    if (labels.at(-1) === NAMESPACE) labels.pop();
    if (labels.length === 1) return labels[0];
    // <pod>.<headless service>, as StatefulSet pods are addressed
    if (labels.length === 2 && services.has(labels[1])) return labels[1];
    return undefined;
  };

  const checkEdge = (w: Obj, via: string, host: string, port: number, strict: boolean): void => {
    const from = `${w.kind}/${w.metadata.name}`;
    const where = `${from} ${via} -> ${host}:${port}`;
    if (/^(127\.|localhost$|0\.0\.0\.0$|::1$)/.test(host)) {
      failures.push(`${where}: a loopback address in a pod names the pod itself`);
      return;
    }
    if (!Number.isInteger(port) || port <= 0) {
      failures.push(`${where}: no port`);
      return;
    }
    const egress = isolating(labelsOf(w), 'Egress');
    const name = serviceOf(host);
    if (name === undefined || !services.has(name)) {
      if (!strict) return;
      if (!host.includes('.') || host.endsWith(`.${NAMESPACE}`) || host.includes('.svc')) {
        failures.push(`${where}: no Service ${name ?? host}`);
        return;
      }
      const tcp = { number: port, protocol: 'TCP' };
      if (egress.length > 0 && !admits(egress, 'egress', (p) => p.ipBlock !== undefined, tcp))
        failures.push(`${where}: egress to the outside on ${port} not admitted`);
      edges.push({ from, via, to: `external ${host}:${port}`, pods: [] });
      return;
    }
    const svc = services.get(name) as Obj;
    const svcPort = ((svc.spec.ports ?? []) as Obj[]).find((p) => p.port === port);
    if (!svcPort) {
      failures.push(`${where}: Service ${name} has no port ${port}`);
      return;
    }
    const targets = workloads.filter((t) =>
      selects({ matchLabels: svc.spec.selector }, labelsOf(t)),
    );
    if (targets.length === 0) failures.push(`${where}: Service ${name} selects no pods`);
    const pods: string[] = [];
    for (const t of targets) {
      const target = `${t.kind}/${t.metadata.name}`;
      const want = (svcPort.targetPort ?? svcPort.port) as string | number;
      const cport = (t.spec.template.spec.containers as Obj[])
        .flatMap((c) => (c.ports ?? []) as Obj[])
        .find((p) => p.name === want || p.containerPort === want);
      if (!cport) {
        failures.push(`${where}: ${target} has no container port ${want}`);
        continue;
      }
      const p = {
        name: cport.name as string | undefined,
        number: cport.containerPort as number,
        protocol: (cport.protocol ?? 'TCP') as string,
      };
      const ingress = isolating(labelsOf(t), 'Ingress');
      if (
        ingress.length > 0 &&
        !admits(ingress, 'ingress', (peer) => peerIsPod(peer, labelsOf(w)), p)
      )
        failures.push(`${where}: ${target}'s ingress policies do not admit ${from} on ${want}`);
      if (egress.length > 0 && !admits(egress, 'egress', (peer) => peerIsPod(peer, labelsOf(t)), p))
        failures.push(`${where}: ${from}'s egress policies do not admit ${target} on ${want}`);
      pods.push(`${target}:${p.number}`);
    }
    edges.push({ from, via, to: `${name}:${port}`, pods });
  };

  const serviceNames = [...services.keys()].sort((a, b) => b.length - a.length);
  const mention = new RegExp(
    `(?<![\\w.-])((?:[a-z0-9-]+\\.)?(?:${serviceNames.join('|')})(?:\\.${NAMESPACE}(?:\\.svc(?:\\.cluster\\.local)?)?)?):(\\d+)`,
    'g',
  );
  for (const w of workloads) {
    const workspace = workspaceOf(w);
    const reads = workspace ? readsOf(workspace) : undefined;
    for (const c of w.spec.template.spec.containers as Obj[]) {
      const env = envOf(c);
      if (reads) {
        for (const [name, value] of env) {
          if (!DEPENDENCY.test(name) || !reads(name)) continue;
          for (const { host, port } of endpoints(value)) checkEdge(w, name, host, port, true);
        }
      } else {
        const sources: Array<[string, string]> = [
          ...[...env]
            .filter(([name]) => !/LISTENERS$/.test(name))
            .map(([name, v]): [string, string] => [`env ${name}`, v]),
          ...((c.args ?? []) as string[]).map((a): [string, string] => ['args', a]),
        ];
        for (const [via, value] of sources)
          for (const m of value.matchAll(mention)) checkEdge(w, via, m[1], Number(m[2]), false);
      }
    }
    const egress = isolating(labelsOf(w), 'Egress');
    const dns = { number: 53, protocol: 'UDP' };
    const kubeDns = (peer: Obj): boolean =>
      peer.ipBlock !== undefined ||
      (selects(peer.namespaceSelector, { 'kubernetes.io/metadata.name': 'kube-system' }) &&
        (peer.podSelector === undefined || selects(peer.podSelector, { 'k8s-app': 'kube-dns' })));
    if (egress.length > 0 && !admits(egress, 'egress', kubeDns, dns))
      failures.push(`${w.kind}/${w.metadata.name}: egress policies do not admit DNS (UDP 53)`);
  }
  return { edges, failures };
}
