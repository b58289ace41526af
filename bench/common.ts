// What every benchmark needs: a logger on stderr (stdout carries the figures), admin metadata for
// direct gRPC calls, and free ports to start services on.
import { Metadata } from '@grpc/grpc-js';
import { createLogger, identityMetadata, type Logger } from '@shop/platform';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';

/** A JSON logger writing to stderr, so stdout holds only the benchmark's figures. */
export function benchLogger(level: 'fatal' | 'error' | 'warn' | 'info'): Logger {
  return createLogger({
    service: 'bench',
    level,
    stream: new Writable({
      write: (chunk: Buffer, _e, done) => done(void process.stderr.write(chunk)),
    }),
  });
}

/** Identity metadata of an operator service account (services run with trusted metadata). */
export const admin = (): Metadata =>
  identityMetadata({ kind: 'service', subject: 'bench', roles: ['admin'] }, new Metadata());

/** A port free right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}
