// Feeds and their subscribers: one execution per event serves every subscriber of a feed, and its
// result is serialised once into a payload that each subscriber's connection frames and writes.
import { SpanKind, SpanStatusCode, trace, type Link, type SpanContext } from '@opentelemetry/api';
import type { SubscriptionDeclaration } from '@shop/graphql/subscriptions';
import type { Caller } from '@shop/platform';
import type { FormattedExecutionResult } from 'graphql';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

/** `state`: current state first, then the state after every change; `stream`: each event once. */
export type Mode = SubscriptionDeclaration['mode'];

/** The credentials an execution runs with. */
export interface Credentials {
  readonly caller: Caller;
  readonly authorization?: string;
}

/** The credentials of public reads, shared by every subscriber that reads anonymously. */
export const ANONYMOUS: Credentials = { caller: { kind: 'anonymous' } };

/** Error codes after which a subscription ends (retrying on the next event cannot help). */
const TERMINAL_CODES = new Set(['NOT_FOUND', 'UNAUTHENTICATED', 'FORBIDDEN', 'BAD_USER_INPUT']);

/** Subscribers written to between two yields to the event loop during one fan-out. */
const FANOUT_SLICE = 256;
/** Events a coalesced push links to at most (the first ones; the count is an attribute). */
const MAX_LINKS = 32;

const tracer = trace.getTracer('shop-gateway-subscriptions');

/** What a subscriber needs from its connection. */
export interface SubscriberConnection {
  /** Writes a `next` message for `sub` carrying a serialised execution result. */
  sendNext(sub: Subscriber, payload: Buffer): void;
  /** The subscription ended: it no longer counts towards the connection's limit. */
  release(sub: Subscriber): void;
}

/**
 * One graphql-ws subscription. Its messages are written straight to the connection by the feed;
 * as the async iterator graphql-ws consumes it never yields and only ends (graphql-ws then sends
 * `complete`), so no message waits in a per-subscriber queue or promise chain.
 */
export class Subscriber implements AsyncIterableIterator<never> {
  private ended: ((r: IteratorResult<never>) => void) | undefined;
  private done = false;
  /** Set when the subscriber still has to receive the entity's current state. */
  needsInitial: boolean;
  /** Messages written since its connection's send buffer was last seen empty (slow-client check). */
  backlog = 0;

  constructor(
    /** The graphql-ws operation id. */
    readonly id: string,
    readonly feed: Feed,
    readonly credentials: Credentials,
    /** Run (state) or event (stream) sequence at joining; only later ones reach this subscriber. */
    readonly joinedAt: number,
    private readonly connection: SubscriberConnection,
  ) {
    this.needsInitial = feed.mode === 'state';
  }

  send(payload: Buffer): void {
    if (this.done) return;
    this.needsInitial = false;
    this.connection.sendNext(this, payload);
  }

  /** Ends the subscription (graphql-ws then sends `complete` unless the client completed it). */
  end(): void {
    if (this.done) return;
    this.done = true;
    this.feed.remove(this);
    this.connection.release(this);
    const ended = this.ended;
    this.ended = undefined;
    ended?.({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<never>> {
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.ended = resolve));
  }

  return(): Promise<IteratorResult<never>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** What feeds report, shared by all of them. */
export interface FeedHooks {
  /** The feed lost its last subscriber. */
  empty(feed: Feed): void;
  /** An execution result was serialised (once, for all of the feed's subscribers). */
  serialised(field: string): void;
  /** A result went out to `sent` subscribers; `eventAt` is when the event behind it occurred. */
  delivered(field: string, sent: number, eventAt: number | undefined): void;
}

/**
 * Subscribers of one entity with the same selection, variables and identity: one execution per
 * event serves them all. State feeds coalesce events (at most one execution in flight and one
 * queued) and send only what changed; stream feeds execute once per event, in order.
 */
export class Feed {
  readonly subscribers = new Set<Subscriber>();
  private running = false;
  private dirty = false;
  /** State feeds: number of executions started; stream feeds: number of events seen. */
  seq = 0;
  private last: Buffer | undefined;
  private readonly pending: Array<{
    seq: number;
    entityId: string;
    at: number;
    cause: SpanContext | undefined;
  }> = [];
  private pendingSince: number | undefined;
  /** State feeds: the spans of the events the next push answers (traced runs only). */
  private causes: SpanContext[] = [];
  private causeCount = 0;

  constructor(
    readonly id: string,
    readonly routingKey: string,
    readonly field: string,
    readonly mode: Mode,
    private readonly execute: (
      credentials: Credentials,
      entityId: string | undefined,
    ) => Promise<FormattedExecutionResult>,
    private readonly hooks: FeedHooks,
  ) {}

  /** Someone's credentials that are still connected (expired connections are closed). */
  private credentials(): Credentials | undefined {
    for (const s of this.subscribers) return s.credentials;
    return undefined;
  }

  add(sub: Subscriber): void {
    this.subscribers.add(sub);
    if (this.mode === 'state') this.schedule(undefined);
  }

  remove(sub: Subscriber): void {
    if (this.subscribers.delete(sub) && this.subscribers.size === 0) this.hooks.empty(this);
  }

  /**
   * An event about this feed's entity arrived (`entityId` for stream feeds); `cause` is the span
   * that handled it, which the push it leads to links to.
   */
  wake(entityId: string | undefined, at: number, cause?: SpanContext): void {
    if (this.mode === 'stream') {
      this.seq += 1;
      if (entityId !== undefined) this.pending.push({ seq: this.seq, entityId, at, cause });
      if (!this.running) void this.drain();
      return;
    }
    if (cause !== undefined) {
      this.causeCount += 1;
      if (this.causes.length < MAX_LINKS) this.causes.push(cause);
    }
    this.schedule(at);
  }

  /**
   * Runs one push (execution, serialisation, fan-out) in a span of its own trace, linked to the
   * events that caused it: a push may answer several events, each from its own trace.
   */
  private push(
    causes: readonly SpanContext[],
    causeCount: number,
    run: () => Promise<number>,
  ): Promise<number> {
    if (causes.length === 0) return run();
    const links: Link[] = causes.map((context) => ({ context }));
    return tracer.startActiveSpan(
      'subscription push',
      {
        root: true,
        kind: SpanKind.PRODUCER,
        links,
        attributes: {
          'graphql.subscription.field': this.field,
          'subscription.events': causeCount,
          'subscription.subscribers': this.subscribers.size,
        },
      },
      async (span) => {
        try {
          const sent = await run();
          span.setAttribute('subscription.delivered', sent);
          return sent;
        } catch (err) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: String(err) });
          throw err;
        } finally {
          span.end();
        }
      },
    );
  }

  private schedule(at: number | undefined): void {
    if (at !== undefined) this.pendingSince ??= at;
    if (this.running) {
      this.dirty = true;
      return;
    }
    void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      if (this.mode === 'state') {
        do {
          this.dirty = false;
          const credentials = this.credentials();
          if (credentials === undefined) return;
          this.seq += 1;
          const started = this.seq;
          const eventAt = this.pendingSince;
          this.pendingSince = undefined;
          const causes = this.causes;
          const causeCount = this.causeCount;
          this.causes = [];
          this.causeCount = 0;
          const sent = await this.push(causes, causeCount, async () =>
            this.deliverState(await this.execute(credentials, undefined), started),
          );
          this.hooks.delivered(this.field, sent, eventAt);
        } while (this.dirty);
      } else {
        for (let next = this.pending.shift(); next; next = this.pending.shift()) {
          const credentials = this.credentials();
          if (credentials === undefined) return;
          const { seq, entityId, cause } = next;
          const sent = await this.push(cause === undefined ? [] : [cause], 1, async () => {
            const result = await this.execute(credentials, entityId);
            return this.fanOut(this.serialise(result), (s) => s.joinedAt < seq);
          });
          this.hooks.delivered(this.field, sent, next.at);
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async deliverState(result: FormattedExecutionResult, started: number): Promise<number> {
    const joined = (sub: Subscriber) => sub.joinedAt < started;
    const data = result.data;
    const value = data === null || data === undefined ? null : Object.values(data)[0];
    if (value === null || value === undefined) {
      // No state: an error (delivered as the query would report it), or no record yet (nothing
      // to deliver until one exists).
      if (result.errors === undefined || result.errors.length === 0) return 0;
      this.last = undefined;
      const terminal = result.errors.some((e) => TERMINAL_CODES.has(String(e.extensions?.code)));
      return this.fanOut(this.serialise({ data: null, errors: result.errors }), joined, terminal);
    }
    const payload = this.serialise(result);
    const changed = this.last === undefined || !payload.equals(this.last);
    this.last = payload;
    return this.fanOut(payload, changed ? joined : (sub) => sub.needsInitial && joined(sub));
  }

  /** The one serialisation of a result that all of this feed's subscribers receive. */
  private serialise(result: FormattedExecutionResult): Buffer {
    this.hooks.serialised(this.field);
    return Buffer.from(JSON.stringify(result));
  }

  /**
   * Writes `payload` to every subscriber `accept` picks (ending each when `terminal`), yielding
   * to the event loop between slices so a large feed does not hold up everything else. Drains
   * await it, so the next result of this feed never overtakes this one.
   */
  private async fanOut(
    payload: Buffer,
    accept: (sub: Subscriber) => boolean,
    terminal = false,
  ): Promise<number> {
    let sent = 0;
    // The set is iterated live: subscribers that leave meanwhile are skipped, and those that
    // join meanwhile joined after this result's execution started, so `accept` refuses them.
    for (const sub of this.subscribers) {
      if (!accept(sub)) continue;
      sub.send(payload);
      if (terminal) sub.end();
      sent += 1;
      if (sent % FANOUT_SLICE === 0) await yieldToEventLoop();
    }
    return sent;
  }
}
