/**
 * The in-process stack for tests and benchmarks: services, subgraphs and gateway on free ports
 * against the shared MongoDB and Kafka. A subpath of its own, so `@shop/testing` users do not
 * load every service.
 */
export { catalogClients, startCatalog } from './catalog';
export type { Catalog, CatalogClients, CatalogOptions } from './catalog';
export { SERVICE_NAMES, startServices } from './services';
export type {
  Dependencies,
  RunningServices,
  ServiceName,
  ServicesOptions,
  Topics,
} from './services';
export { SUBGRAPH_NAMES, gatewayEnv, startStack, startSubgraphs } from './stack';
export type {
  GatewayOptions,
  GraphQLResponse,
  Stack,
  StackOptions,
  SubgraphName,
  SubgraphsOptions,
} from './stack';
