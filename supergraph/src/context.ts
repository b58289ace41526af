import type { Caller } from '@shop/platform/grpc';
import type { OperationRecording } from './cache/entity-cache';

/** Per-request context of the gateway: who calls, and the credential to forward. */
export interface GatewayContext {
  readonly caller: Caller;
  /** The client's Authorization header, forwarded so subgraphs and services can verify it. */
  readonly authorization?: string;
  /**
   * Read past the entity cache and in-flight sharing (reads an event triggered, such as
   * subscription re-reads, must see that event's change).
   */
  readonly fresh?: boolean;
  /** Set by the operation cache on a miss: what the operation's subgraph fetches depended on. */
  recording?: OperationRecording;
}
