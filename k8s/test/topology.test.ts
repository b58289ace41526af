/**
 * The manifests keep their own copies of the ports (YAML cannot import the table): each must
 * agree with the platform's topology (`@shop/platform/topology`), the source the processes'
 * defaults, the launcher and composition read.
 */
import { DOMAINS, GATEWAY_PORTS } from '@shop/platform/topology';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

const K8S = path.resolve(__dirname, '..');

interface Port {
  name: string;
  containerPort?: number;
  port?: number;
}
interface Manifest {
  kind: string;
  spec: {
    ports?: Port[];
    template?: {
      spec: {
        containers: Array<{ ports: Port[]; env?: Array<{ name: string; value?: string }> }>;
      };
    };
  };
}

const manifests = (file: string): Manifest[] =>
  parseAllDocuments(readFileSync(path.join(K8S, 'base/apps', file), 'utf8')).map(
    (d) => d.toJS() as Manifest,
  );

/** The ports an app's manifest declares, by port name: container port, variable and Service port. */
function declaredPorts(file: string, variables: Record<string, string>) {
  const docs = manifests(file);
  const [container] = docs.find((d) => d.kind === 'Deployment')!.spec.template!.spec.containers;
  const service = docs.find((d) => d.kind === 'Service')!;
  const env = new Map(container.env?.map((e) => [e.name, e.value]));
  return Object.fromEntries(
    Object.entries(variables).map(([portName, variable]) => [
      portName,
      {
        container: container.ports.find((p) => p.name === portName)?.containerPort,
        variable: Number(env.get(variable)),
        service: service.spec.ports?.find((p) => p.name === portName)?.port,
      },
    ]),
  );
}

const all = (port: number) => ({ container: port, variable: port, service: port });

describe('the manifests agree with the platform topology', () => {
  it.each(DOMAINS.map((d) => [d.service, d] as const))(
    '%s-service listens where the topology says',
    (service, d) => {
      expect(
        declaredPorts(`${service}-service.yaml`, { grpc: 'GRPC_PORT', metrics: 'METRICS_PORT' }),
      ).toEqual({ grpc: all(d.grpcPort), metrics: all(d.serviceMetricsPort) });
    },
  );

  it.each(DOMAINS.map((d) => [d.subgraph, d] as const))(
    '%s-subgraph listens where the topology says',
    (subgraph, d) => {
      expect(
        declaredPorts(`${subgraph}-subgraph.yaml`, {
          http: 'SUBGRAPH_PORT',
          metrics: 'METRICS_PORT',
        }),
      ).toEqual({ http: all(d.subgraphPort), metrics: all(d.subgraphMetricsPort) });
    },
  );

  it('the gateway listens where the topology says', () => {
    expect(
      declaredPorts('gateway.yaml', { http: 'GATEWAY_PORT', metrics: 'METRICS_PORT' }),
    ).toEqual({ http: all(GATEWAY_PORTS.http), metrics: all(GATEWAY_PORTS.metrics) });
  });

  it('the shared config points every caller at those ports', () => {
    const [config] = parseAllDocuments(
      readFileSync(path.join(K8S, 'base/config/shop-config.yaml'), 'utf8'),
    ).map((d) => d.toJS() as { data: Record<string, string> });
    for (const d of DOMAINS) {
      expect(config.data[`${d.service.toUpperCase()}_GRPC_URL`]).toBe(
        `dns:///${d.service}-service.shop.svc.cluster.local:${d.grpcPort}`,
      );
      expect(config.data[`${d.subgraph.toUpperCase()}_SUBGRAPH_URL`]).toBe(
        `http://${d.subgraph}-subgraph.shop.svc.cluster.local:${d.subgraphPort}/graphql`,
      );
    }
  });

  it('the compose Prometheus scrapes every process on its metrics port', () => {
    const groups = JSON.parse(
      readFileSync(path.join(K8S, 'compose/prometheus-targets/shop-platform.json'), 'utf8'),
    ) as Array<{ targets: string[] }>;
    const targets = groups.flatMap((g) => g.targets).sort();
    expect(targets).toEqual(
      [
        ...DOMAINS.map((d) => `${d.service}-service:${d.serviceMetricsPort}`),
        ...DOMAINS.map((d) => `${d.subgraph}-subgraph:${d.subgraphMetricsPort}`),
        `gateway:${GATEWAY_PORTS.metrics}`,
      ].sort(),
    );
  });
});
