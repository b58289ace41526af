import { createMetrics, startOpsServer, type OpsServer } from '@shop/platform';
import { testEnv, uniqueId, waitFor } from '@shop/testing';
import { Counter } from 'prom-client';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

interface PromVector {
  status: string;
  data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

describe('Prometheus scraping a /metrics endpoint of ours', () => {
  let ops: OpsServer;
  let targetFile: string;

  afterAll(async () => {
    await rm(targetFile, { force: true });
    await ops.close();
  });

  it('scrapes our registry and answers queries on our metric through its HTTP API', async () => {
    const env = testEnv();
    const job = uniqueId('platform-test');
    const metrics = createMetrics({ service: job });
    const orders = new Counter({
      name: 'shop_test_orders_total',
      help: 'Orders seen by the test.',
      registers: [metrics.registry],
    });
    orders.inc(7);
    ops = await startOpsServer({ registry: metrics.registry, port: 0 });
    targetFile = path.join(env.prometheusTargetsDir, `${job}.json`);
    await writeFile(
      targetFile,
      JSON.stringify([{ targets: [`127.0.0.1:${ops.port}`], labels: { job } }]),
    );

    const query = async (q: string) => {
      const res = await fetch(`${env.prometheusUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
      return (await res.json()) as PromVector;
    };
    const result = await waitFor(
      'Prometheus to scrape our endpoint',
      async () => {
        const body = await query(`shop_test_orders_total{job="${job}"}`);
        return body.data.result[0];
      },
      { timeoutMs: 45_000, intervalMs: 500 },
    );
    expect(result.value[1]).toBe('7');
    expect(result.metric).toMatchObject({ job, service: job, instance: `127.0.0.1:${ops.port}` });
    const up = await query(`up{job="${job}"}`);
    expect(up.data.result[0]?.value[1]).toBe('1');
  });
});
