import { stopInfra, type DependencyName } from '@shop/infra';

/**
 * Jest global teardown: stops the dependencies this run started, unless KEEP_INFRA=1 (handy
 * when iterating: the next run then reuses them and starts in seconds).
 */
export default async function globalTeardown(): Promise<void> {
  if (process.env['KEEP_INFRA'] === '1') return;
  const names = (process.env['SHOP_TEST_STARTED_INFRA'] ?? '')
    .split(',')
    .filter((n): n is DependencyName => n.length > 0);
  if (names.length > 0) await stopInfra({ names });
}
