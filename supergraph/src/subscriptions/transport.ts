// graphql-ws (`graphql-transport-ws`) on `ws`, wired with graphql-ws's `makeServer` instead of its
// `useServer`, so that a connection costs as little as it can: the connection object is itself the
// socket graphql-ws talks to, the upgrade request is not kept, one timer pings every socket (in
// slices) instead of an interval and a pong timeout per socket, and subscription results skip
// graphql-ws's per-message serialisation: feeds hand over an already serialised payload, which is
// framed here into the exact bytes graphql-ws would have written.
import type { Logger } from '@shop/platform';
import {
  CloseCode,
  handleProtocols,
  makeServer,
  type ServerOptions,
  type WebSocket as GraphQLWsSocket,
} from 'graphql-ws';
import type { IncomingMessage, Server } from 'node:http';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { ANONYMOUS, type Credentials, type Subscriber, type SubscriberConnection } from './feed';

/** The transport's share of the subscription settings. */
export interface TransportSettings {
  readonly maxQueued: number;
  readonly maxBufferedBytes: number;
  readonly keepAliveMs: number;
  readonly connectionInitTimeoutMs: number;
  readonly maxMessageBytes: number;
}

/** What connections report, shared by all of them. */
export interface ConnectionEvents {
  /** The gateway closes a connection, for a reason counted in metrics. */
  closing(reason: string): void;
  added(sub: Subscriber): void;
  released(sub: Subscriber): void;
}

/** Close codes of the gateway's graphql-ws connections (besides graphql-ws's own 44xx codes). */
export const SUBSCRIPTION_CLOSE_CODES = {
  /** The `connection_init` credentials were refused (graphql-ws's Forbidden). */
  forbidden: 4403,
  /** The connection's token expired: reconnect with a fresh token. */
  tokenExpired: 4401,
  /** The client did not read its messages fast enough; its buffers hit their limits. */
  slowConsumer: 4008,
  /** The gateway is shutting down: reconnect (to another replica). */
  goingAway: 1001,
} as const;

/** Keep-alive pings go out in this many slices of the interval, so no tick pings everyone. */
const KEEPALIVE_SLICES = 16;

const CLOSE_BRACE = 0x7d;

/** graphql-ws messages are text frames, also when written from a buffer. */
const TEXT = { binary: false } as const;

/**
 * The `next` message of subscription `id` around an already serialised execution result: byte for
 * byte what graphql-ws's `stringifyMessage` writes for `{ id, type: 'next', payload }`.
 */
export function nextFrame(id: string, payload: Buffer): Buffer {
  const head = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
  const headBytes = Buffer.byteLength(head);
  const frame = Buffer.allocUnsafe(headBytes + payload.length + 1);
  frame.write(head, 0);
  payload.copy(frame, headBytes);
  frame[frame.length - 1] = CLOSE_BRACE;
  return frame;
}

/** One graphql-ws connection: graphql-ws's view of the socket, its subscriptions and limits. */
export class Connection implements GraphQLWsSocket, SubscriberConnection {
  readonly subscribers = new Set<Subscriber>();
  /** Subscriptions accepted by `onSubscribe` and not yet released (counts towards the limit). */
  reserved = 0;
  credentials: Credentials = ANONYMOUS;
  closed = false;
  /** Answered the last keep-alive ping (or has not been pinged yet). */
  alive = true;
  /** Index of the keep-alive slice that pings this connection. */
  slice = 0;
  /** Until `connection_init` arrives: its deadline; then, for a token: its expiry. */
  private timer: NodeJS.Timeout | undefined;
  private receive: ((data: string) => Promise<void>) | undefined;

  constructor(
    readonly socket: WebSocket,
    /** The peer, for log lines. */
    readonly remoteAddress: string | undefined,
    private readonly settings: TransportSettings,
    private readonly events: ConnectionEvents,
  ) {}

  // graphql-ws's side of the socket.

  get protocol(): string {
    return this.socket.protocol;
  }

  send(data: string): void {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) return;
    this.socket.send(data);
    if (this.socket.bufferedAmount > this.settings.maxBufferedBytes) this.tooSlow();
  }

  close(code?: number, reason?: string): void {
    this.closed = true;
    this.clearTimer();
    this.socket.close(code, reason);
  }

  onMessage(cb: (data: string) => Promise<void>): void {
    this.receive = cb;
  }

  /** A frame arrived; graphql-ws's handler settles only when the operation it starts ends. */
  received(data: RawData): Promise<void> {
    if (this.receive === undefined) return Promise.resolve();
    const text = Array.isArray(data)
      ? Buffer.concat(data).toString()
      : Buffer.isBuffer(data)
        ? data.toString()
        : Buffer.from(data).toString();
    return this.receive(text);
  }

  // The gateway's side.

  /** Closes the connection unless `connection_init` arrives in time. */
  awaitInit(): void {
    this.timer = setTimeout(() => {
      this.close(CloseCode.ConnectionInitialisationTimeout, 'Connection initialisation timeout');
    }, this.settings.connectionInitTimeoutMs);
  }

  /** `connection_init` arrived (it is being authenticated). */
  initReceived(): void {
    this.clearTimer();
  }

  authenticated(credentials: Credentials): void {
    this.credentials = credentials;
    const exp = credentials.caller.kind === 'anonymous' ? undefined : credentials.caller.expiresAt;
    if (exp !== undefined) {
      const ms = Math.max(0, Math.min(exp * 1000 - Date.now(), 2 ** 31 - 1));
      this.timer = setTimeout(
        () => this.shut(SUBSCRIPTION_CLOSE_CODES.tokenExpired, 'Token expired', 'token_expired'),
        ms,
      );
      this.timer.unref();
    }
  }

  add(sub: Subscriber): void {
    this.subscribers.add(sub);
    this.events.added(sub);
  }

  release(sub: Subscriber): void {
    if (this.subscribers.delete(sub)) {
      this.reserved -= 1;
      this.events.released(sub);
    }
  }

  /**
   * Writes a subscription's `next` message. A client counts as too slow once more than
   * `maxQueued` of its messages are waiting in the socket's send buffer (counted since the buffer
   * was last seen empty) or the buffer holds more than `maxBufferedBytes`.
   */
  sendNext(sub: Subscriber, payload: Buffer): void {
    if (this.closed) return;
    const socket = this.socket;
    if (socket.bufferedAmount === 0) sub.backlog = 0;
    socket.send(nextFrame(sub.id, payload), TEXT);
    const buffered = socket.bufferedAmount;
    if (buffered === 0) return;
    sub.backlog += 1;
    if (sub.backlog > this.settings.maxQueued || buffered > this.settings.maxBufferedBytes) {
      this.tooSlow();
    }
  }

  /** One keep-alive round: a peer that did not answer the previous ping is dropped. */
  heartbeat(): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    if (!this.alive) {
      this.socket.terminate();
      return;
    }
    this.alive = false;
    this.socket.ping();
  }

  /** Closes with a code; a client too slow to read the close frame is cut off after 1 s. */
  shut(code: number, reason: string, metricReason: string): void {
    if (this.closed) return;
    this.events.closing(metricReason);
    this.close(code, reason);
    setTimeout(() => this.socket.terminate(), 1_000).unref();
  }

  /** The socket closed: its subscriptions end. */
  dispose(): void {
    this.closed = true;
    this.clearTimer();
    for (const sub of [...this.subscribers]) sub.end();
  }

  private tooSlow(): void {
    this.shut(SUBSCRIPTION_CLOSE_CODES.slowConsumer, 'Subscriber too slow', 'slow_consumer');
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** graphql-ws served on the gateway's HTTP server. */
export interface Transport {
  /** Closes every connection (1001) and stops accepting new ones. */
  dispose(): Promise<void>;
}

/** Serves graphql-ws with `options` on `server` at `path`; `ctx.extra` is the {@link Connection}. */
export function serveGraphQLWs(deps: {
  server: Server;
  path: string;
  settings: TransportSettings;
  options: ServerOptions<Record<string, unknown>, Connection>;
  events: ConnectionEvents;
  logger: Logger;
}): Transport {
  const { settings, logger, events } = deps;
  const graphqlWs = makeServer<Record<string, unknown>, Connection>({
    ...deps.options,
    // Timed by the connection instead, which drops the timer once `connection_init` arrives.
    connectionInitWaitTimeout: 0,
    onConnect: (ctx) => {
      ctx.extra.initReceived();
      return deps.options.onConnect?.(ctx);
    },
  });
  const wsServer = new WebSocketServer({
    server: deps.server,
    path: deps.path,
    maxPayload: settings.maxMessageBytes,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols,
  });
  const slices = Array.from({ length: KEEPALIVE_SLICES }, () => new Set<Connection>());
  let opened = 0;
  let tick = 0;
  const keepAlive = setInterval(() => {
    for (const connection of slices[tick % KEEPALIVE_SLICES]) connection.heartbeat();
    tick += 1;
  }, settings.keepAliveMs / KEEPALIVE_SLICES);
  keepAlive.unref();

  const internalError = (connection: Connection, err: unknown, what: string) => {
    logger.error({ err }, what);
    connection.close(CloseCode.InternalServerError, 'Internal server error');
  };

  wsServer.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const connection = new Connection(socket, request.socket.remoteAddress, settings, events);
    connection.slice = opened++ % KEEPALIVE_SLICES;
    slices[connection.slice].add(connection);
    socket.on('error', (err) => internalError(connection, err, 'graphql-ws socket error'));
    socket.on('pong', () => (connection.alive = true));
    socket.on('message', (data: RawData) => {
      connection
        .received(data)
        .catch((err: unknown) => internalError(connection, err, 'graphql-ws message failed'));
    });
    const closed = graphqlWs.opened(connection, connection);
    connection.awaitInit();
    socket.once('close', (code: number, reason: Buffer) => {
      slices[connection.slice].delete(connection);
      connection.closed = true;
      closed(code, String(reason)).catch((err: unknown) =>
        logger.error({ err }, 'graphql-ws close handling failed'),
      );
    });
  });

  return {
    async dispose() {
      clearInterval(keepAlive);
      for (const slice of slices) {
        for (const connection of slice) {
          connection.closed = true;
          connection.socket.close(SUBSCRIPTION_CLOSE_CODES.goingAway, 'Going away');
        }
      }
      wsServer.removeAllListeners();
      await new Promise<void>((resolve, reject) =>
        wsServer.close((err) => (err ? reject(err) : resolve())),
      );
    },
  };
}
