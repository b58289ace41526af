import DataLoader from 'dataloader';

/** Most ids our batch RPCs accept in one call. */
export const MAX_BATCH = 500;

/**
 * A per-request loader over a batch RPC: every `load(id)` of one tick becomes one call.
 * Missing ids resolve to null; a failed call rejects every load of its batch.
 */
export function batchLoader<T>(
  fetch: (ids: readonly string[]) => Promise<readonly T[]>,
  keyOf: (item: T) => string,
  options: { maxBatchSize?: number } = {},
): DataLoader<string, T | null> {
  return new DataLoader<string, T | null>(
    async (ids) => {
      const found = new Map<string, T>();
      for (const item of await fetch(ids)) found.set(keyOf(item), item);
      return ids.map((id) => found.get(id) ?? null);
    },
    { maxBatchSize: options.maxBatchSize ?? MAX_BATCH },
  );
}
