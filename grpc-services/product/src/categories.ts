import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { callDownstream, identityMetadata, type Caller, type PromiseClient } from '@shop/platform';
import type { category } from '@shop/proto';

/** What the product service needs to know about categories (owned by the category service). */
export interface CategoryDirectory {
  /** True when the category exists. */
  exists(id: string, caller: Caller): Promise<boolean>;
  /** The category and every descendant; null when the category does not exist. */
  subtreeIds(id: string, caller: Caller): Promise<string[] | null>;
}

const code = (err: unknown): number | undefined => (err as Partial<ServiceError>).code;

/** A {@link CategoryDirectory} over the category service's gRPC client. */
export function grpcCategoryDirectory(
  client: PromiseClient<category.CategoryServiceService>,
): CategoryDirectory {
  const call = async <T>(fn: () => Promise<T>): Promise<T | null> => {
    try {
      return await callDownstream('category', fn);
    } catch (err) {
      if (code(err) === status.NOT_FOUND) return null;
      throw err;
    }
  };
  const md = (caller: Caller): { metadata: Metadata } => ({
    metadata: identityMetadata(caller, new Metadata()),
  });
  return {
    async exists(id, caller) {
      return (await call(() => client.getCategory({ id }, md(caller)))) !== null;
    },
    async subtreeIds(id, caller) {
      const res = await call(() => client.getSubtreeIds({ id, includeSelf: true }, md(caller)));
      return res?.ids ?? null;
    },
  };
}
