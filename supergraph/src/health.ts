/** Up/down state of each subgraph, from polling its `/healthz`. */
export interface SubgraphHealth {
  /** `up` or `down` by subgraph name. */
  snapshot(): Record<string, 'up' | 'down'>;
  allUp(): boolean;
  /** Probes every subgraph now. */
  probe(): Promise<void>;
  stop(): void;
}

/** The `/healthz` next to a subgraph's GraphQL endpoint. */
export const healthUrlOf = (graphqlUrl: string): string =>
  new URL('/healthz', graphqlUrl).toString();

/** Polls every subgraph's `/healthz` now and then every `intervalMs`. */
export function pollSubgraphHealth(
  urls: Readonly<Record<string, string>>,
  intervalMs = 5_000,
): SubgraphHealth {
  const state: Record<string, 'up' | 'down'> = {};
  for (const name of Object.keys(urls)) state[name] = 'down';
  const probe = async (): Promise<void> => {
    await Promise.all(
      Object.entries(urls).map(async ([name, url]) => {
        try {
          const res = await fetch(healthUrlOf(url), { signal: AbortSignal.timeout(1_000) });
          state[name] = res.ok ? 'up' : 'down';
          await res.body?.cancel();
        } catch {
          state[name] = 'down';
        }
      }),
    );
  };
  void probe();
  const timer = setInterval(() => void probe(), intervalMs);
  timer.unref();
  return {
    snapshot: () => ({ ...state }),
    allUp: () => Object.values(state).every((s) => s === 'up'),
    probe,
    stop: () => clearInterval(timer),
  };
}
