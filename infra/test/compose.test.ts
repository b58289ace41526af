import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { DEPENDENCIES } from '../src/deps';

interface ComposeService {
  image: string;
  ports?: string[];
  command?: string[];
  network_mode?: string;
}

const compose = parse(
  readFileSync(path.join(__dirname, '..', '..', 'docker-compose.yml'), 'utf8'),
) as { services: Record<string, ComposeService> };

/** Host ports a service exposes on 127.0.0.1, from `ports` or, with host networking, its listen flag. */
function hostPorts(service: ComposeService): number[] {
  const published = (service.ports ?? []).map((mapping) => {
    const [host, port] = mapping.split(':');
    expect(host).toBe('127.0.0.1');
    return Number(port);
  });
  const listen = (service.command ?? []).flatMap(
    (arg) => /^--web\.listen-address=127\.0\.0\.1:(\d+)$/.exec(arg)?.[1] ?? [],
  );
  return [...published, ...listen.map(Number)];
}

describe('docker-compose.yml', () => {
  it('uses the official images for every dependency', () => {
    const images = Object.values(compose.services).map((service) => service.image.split(':')[0]);
    expect(images).toEqual(
      expect.arrayContaining([
        'mongo',
        'apache/kafka',
        'quay.io/keycloak/keycloak',
        'axllent/mailpit',
        'stripe/stripe-mock',
        'prom/prometheus',
        'grafana/grafana',
        'jaegertracing/jaeger',
      ]),
    );
  });

  it.each(Object.values(DEPENDENCIES).map((dep) => [dep.name, dep] as const))(
    'publishes the launcher ports of %s on loopback',
    (name, dep) => {
      const service = compose.services[name];
      expect(service).toBeDefined();
      // The KRaft controller port is internal to the container.
      const expected = dep.ports.filter((port) => !(name === 'kafka' && port === 9093));
      const byNumber = (a: number, b: number): number => a - b;
      expect(hostPorts(service).sort(byNumber)).toEqual([...expected].sort(byNumber));
    },
  );

  it('mounts the same realm file the launcher imports', () => {
    const keycloak = compose.services.keycloak as ComposeService & { volumes: string[] };
    expect(keycloak.volumes).toContain(
      './infra/keycloak/realm-shop.json:/opt/keycloak/data/import/realm-shop.json:ro',
    );
  });
});
