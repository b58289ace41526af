/**
 * Where each process of the platform listens by default: the one source for the subgraph names
 * and the local ports that configs, the launcher, composition and tests must agree on. Kubernetes
 * keeps its own copies in YAML; a test checks them against this table.
 */

/** One domain: its gRPC service and the subgraph in front of it. */
export interface Domain {
  /** The service's name (`grpc-services/<service>`, `<SERVICE>_GRPC_URL`). */
  readonly service: string;
  /** The subgraph's name (`subgraphs/<subgraph>`, supergraph.yaml, `<SUBGRAPH>_SUBGRAPH_URL`). */
  readonly subgraph: string;
  readonly grpcPort: number;
  /** The service's `/metrics` and `/healthz`. */
  readonly serviceMetricsPort: number;
  /** The subgraph's GraphQL endpoint. */
  readonly subgraphPort: number;
  readonly subgraphMetricsPort: number;
}

const domain = <const D extends Domain>(d: D): D => d;

/** The six domains, in the order the supergraph lists their subgraphs. */
export const DOMAINS = [
  domain({
    service: 'product',
    subgraph: 'products',
    grpcPort: 50051,
    serviceMetricsPort: 9451,
    subgraphPort: 4001,
    subgraphMetricsPort: 9461,
  }),
  domain({
    service: 'category',
    subgraph: 'categories',
    grpcPort: 50052,
    serviceMetricsPort: 9452,
    subgraphPort: 4002,
    subgraphMetricsPort: 9462,
  }),
  domain({
    service: 'inventory',
    subgraph: 'inventory',
    grpcPort: 50053,
    serviceMetricsPort: 9453,
    subgraphPort: 4003,
    subgraphMetricsPort: 9463,
  }),
  domain({
    service: 'user',
    subgraph: 'users',
    grpcPort: 50054,
    serviceMetricsPort: 9454,
    subgraphPort: 4004,
    subgraphMetricsPort: 9464,
  }),
  domain({
    service: 'order',
    subgraph: 'orders',
    grpcPort: 50055,
    serviceMetricsPort: 9455,
    subgraphPort: 4005,
    subgraphMetricsPort: 9465,
  }),
  domain({
    service: 'notification',
    subgraph: 'notifications',
    grpcPort: 50056,
    serviceMetricsPort: 9456,
    subgraphPort: 4006,
    subgraphMetricsPort: 9466,
  }),
] as const;

export type ServiceName = (typeof DOMAINS)[number]['service'];
export type SubgraphName = (typeof DOMAINS)[number]['subgraph'];

/** The subgraph names, in supergraph order. */
export const SUBGRAPH_NAMES: readonly SubgraphName[] = DOMAINS.map((d) => d.subgraph);

/** The gateway: GraphQL (and graphql-ws) on `http`, `/metrics` and `/healthz` on `metrics`. */
export const GATEWAY_PORTS = { http: 4000, metrics: 9460 } as const;

/** The domain of a service. */
export function domainOfService(service: ServiceName): Domain {
  return DOMAINS.find((d) => d.service === service)!;
}

/** The domain of a subgraph. */
export function domainOfSubgraph(subgraph: SubgraphName): Domain {
  return DOMAINS.find((d) => d.subgraph === subgraph)!;
}

/** Where a service listens on this machine by default (`host:port`, gRPC's target form). */
export const localGrpcAddress = (service: ServiceName): string =>
  `127.0.0.1:${domainOfService(service).grpcPort}`;

/** Where a subgraph serves GraphQL on this machine by default. */
export const localSubgraphUrl = (subgraph: SubgraphName): string =>
  `http://127.0.0.1:${domainOfSubgraph(subgraph).subgraphPort}/graphql`;

/** A service's default ports, as `readBaseServiceConfig` takes them. */
export function servicePorts(service: ServiceName): { grpcPort: number; metricsPort: number } {
  const d = domainOfService(service);
  return { grpcPort: d.grpcPort, metricsPort: d.serviceMetricsPort };
}

/** A subgraph's default ports, as `readBaseSubgraphConfig` takes them. */
export function subgraphPorts(subgraph: SubgraphName): { port: number; metricsPort: number } {
  const d = domainOfSubgraph(subgraph);
  return { port: d.subgraphPort, metricsPort: d.subgraphMetricsPort };
}
