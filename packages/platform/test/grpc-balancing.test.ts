import { connectivityState } from '@grpc/grpc-js';
import { Writable } from 'node:stream';
import { createGrpcClient, createGrpcServer, createLogger, type GrpcServer } from '@shop/platform';
import { echoDefinition } from './fixtures/echo';

const logger = createLogger({
  service: 'balancing-test',
  level: 'warn',
  stream: new Writable({ write: (_c, _e, done) => done() }),
});

/** An echo server that answers with its own name, so the test sees which replica served. */
async function replica(name: string, maxConnectionAgeMs?: number) {
  const server: GrpcServer = createGrpcServer({ logger, maxConnectionAgeMs });
  server.addService('shop.testing.v1.EchoService', echoDefinition, {
    Echo: (req) => Promise.resolve({ text: req.text, caller: name }),
  });
  const port = await server.listen('127.0.0.1', 0);
  return { server, port };
}

describe('gRPC load balancing', () => {
  const servers: GrpcServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.shutdown(1_000)));
  });

  it('spreads calls over every resolved address (round_robin, not pick_first)', async () => {
    const a = await replica('a');
    const b = await replica('b');
    servers.push(a.server, b.server);
    // Two addresses for one name, as DNS returns for a headless Service with two ready pods.
    const client = createGrpcClient(
      'shop.testing.v1.EchoService',
      echoDefinition,
      `ipv4:127.0.0.1:${a.port},127.0.0.1:${b.port}`,
    );
    const served = new Set<string>();
    for (let i = 0; i < 10; i += 1) {
      served.add((await client.Echo({ text: 'hi', delayMs: 0, fail: '' })).caller);
    }
    client.close();
    expect([...served].sort()).toEqual(['a', 'b']);
  });

  it('ends client connections at the max connection age, and calls go on over a new one', async () => {
    const c = await replica('c', 300);
    servers.push(c.server);
    const client = createGrpcClient(
      'shop.testing.v1.EchoService',
      echoDefinition,
      `dns:///127.0.0.1:${c.port}`,
    );
    await client.Echo({ text: 'first', delayMs: 0, fail: '' });
    const channel = client.raw.getChannel();
    const states: connectivityState[] = [];
    const watch = (): void => {
      const current = channel.getConnectivityState(false);
      if (current === connectivityState.SHUTDOWN) return;
      channel.watchConnectivityState(current, Date.now() + 5_000, () => {
        states.push(channel.getConnectivityState(false));
        watch();
      });
    };
    watch();
    await new Promise((r) => setTimeout(r, 1_000));
    await expect(client.Echo({ text: 'after', delayMs: 0, fail: '' })).resolves.toMatchObject({
      caller: 'c',
    });
    client.close();
    // The channel left READY when the server closed the aged connection.
    expect(
      states.some((s) => s === connectivityState.IDLE || s === connectivityState.CONNECTING),
    ).toBe(true);
  });
});
