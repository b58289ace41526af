/**
 * Cross-checks derived from the rendered manifests: every declared dependency of every process
 * resolves to a Service and a container port, and the NetworkPolicies on both ends (ingress at
 * the target, egress at the source) admit it. The edges verified are printed per overlay.
 */
import path from 'node:path';
import { type CheckResult, type Obj, renderAndValidate } from './k8scheck';
import { checkNetwork } from './network';

/* eslint-disable @typescript-eslint/no-unsafe-member-access --
   rendered objects are untyped JSON. */

const K8S = path.resolve(__dirname, '..');
const TARGETS = ['base', 'overlays/local', 'overlays/production'] as const;
let renders: CheckResult[] = [];
const objects = (target: (typeof TARGETS)[number]): Obj[] =>
  structuredClone(renders[TARGETS.indexOf(target)]?.objects ?? []);
const find = (objs: Obj[], kind: string, name: string): Obj =>
  objs.find((o) => o.kind === kind && o.metadata.name === name) as Obj;

beforeAll(() => {
  renders = renderAndValidate(TARGETS.map((t) => path.join(K8S, t)));
}, 600_000);

describe.each(TARGETS)('network edges of %s', (target) => {
  it('resolve to Services and are admitted by ingress and egress policies', () => {
    const { edges, failures } = checkNetwork(objects(target));
    process.stdout.write(
      `${target}: ${edges.length} edges verified\n${edges
        .map((e) => `  ${e.from} [${e.via}] -> ${e.to} (${e.pods.join(', ') || 'outside'})`)
        .join('\n')}\n`,
    );
    expect(failures).toEqual([]);
    expect(edges.length).toBeGreaterThan(50);
  });
});

describe('the network cross-check', () => {
  it('fails when a policy stops admitting a consumer (the gateway reads Kafka)', () => {
    const objs = objects('base');
    const kafka = find(objs, 'NetworkPolicy', 'kafka');
    const peers = kafka.spec.ingress[0].from as Obj[];
    kafka.spec.ingress[0].from = peers.filter(
      (p) => p.podSelector?.matchLabels?.['app.kubernetes.io/component'] !== 'gateway',
    );
    expect(checkNetwork(objs).failures).toContain(
      "Deployment/gateway KAFKA_BROKERS -> kafka.shop.svc.cluster.local:9092: StatefulSet/kafka's ingress policies do not admit Deployment/gateway on broker",
    );
  });

  it('fails on a dependency that names no Service, and on a loopback address', () => {
    const objs = objects('overlays/local');
    const config = find(objs, 'ConfigMap', 'shop-config');
    config.data.PRODUCT_GRPC_URL = 'products-service.shop.svc.cluster.local:50051';
    config.data.OIDC_JWKS_URL = 'http://127.0.0.1:8180/realms/shop/protocol/openid-connect/certs';
    const { failures } = checkNetwork(objs);
    expect(failures).toContain(
      'Deployment/products-subgraph PRODUCT_GRPC_URL -> products-service.shop.svc.cluster.local:50051: no Service products-service',
    );
    expect(failures).toContain(
      'Deployment/gateway OIDC_JWKS_URL -> 127.0.0.1:8180: a loopback address in a pod names the pod itself',
    );
  });

  it('fails when an egress policy omits a dependency or DNS', () => {
    const objs = objects('base').filter(
      (o) => !(o.kind === 'NetworkPolicy' && o.metadata.name === 'gateway-egress'),
    );
    const platform = find(objs, 'NetworkPolicy', 'platform-egress');
    platform.spec.egress = (platform.spec.egress as Obj[]).filter(
      (rule) => !((rule.ports ?? []) as Obj[]).some((p) => p.port === 53),
    );
    const { failures } = checkNetwork(objs);
    expect(failures).toContain(
      "Deployment/gateway KAFKA_BROKERS -> kafka.shop.svc.cluster.local:9092: Deployment/gateway's egress policies do not admit StatefulSet/kafka on broker",
    );
    expect(failures).toContain('Deployment/gateway: egress policies do not admit DNS (UDP 53)');
  });

  it('fails when a process reaches the outside without an egress rule for it', () => {
    const objs = objects('base').filter(
      (o) => !(o.kind === 'NetworkPolicy' && o.metadata.name === 'order-service-egress'),
    );
    expect(checkNetwork(objs).failures).toEqual([
      'Deployment/order-service STRIPE_API_BASE -> api.stripe.com:443: egress to the outside on 443 not admitted',
    ]);
  });
});
