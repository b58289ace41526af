import { status as GrpcStatus } from '@grpc/grpc-js';
import { commonErrors } from './errors';

/**
 * Statuses by which another of our services says it cannot answer now (down, too slow, or
 * shedding load), as opposed to refusing the request itself.
 */
const UNAVAILABLE_STATUSES: ReadonlySet<number> = new Set([
  GrpcStatus.UNAVAILABLE,
  GrpcStatus.DEADLINE_EXCEEDED,
  GrpcStatus.RESOURCE_EXHAUSTED,
]);

/** True when a failed call to another service means "that service cannot answer now". */
export function isDownstreamUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' && UNAVAILABLE_STATUSES.has(code);
}

/**
 * Awaits a call to another service (`service` names it for people, e.g. `product`). When that
 * service cannot answer, the caller's client gets UNAVAILABLE (reason DOWNSTREAM_UNAVAILABLE,
 * metadata `service`) and may retry; any other failure passes through unchanged.
 */
export async function callDownstream<T>(service: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (!isDownstreamUnavailable(err)) throw err;
    throw commonErrors.DOWNSTREAM_UNAVAILABLE({
      message: `The ${service} service could not be reached; retry later`,
      metadata: { service },
      cause: err,
    });
  }
}
