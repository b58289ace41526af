import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { logFile } from './paths';
import { processAlive } from './process';
import type { Dependency, InfraContext } from './types';

/** Resolves true when something accepts a TCP connection on 127.0.0.1:port. */
export function tcpOpen(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Resolves true when `url` answers with a 2xx status within the timeout. */
export async function httpOk(
  url: string,
  headers: Record<string, string> = {},
  timeoutMs = 2000,
): Promise<boolean> {
  try {
    const response = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

function logTail(file: string, lines = 15): string {
  if (!existsSync(file)) return '';
  const all = readFileSync(file, 'utf8').trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

function failure(ctx: InfraContext, dep: Dependency, reason: string): Error {
  const file = logFile(ctx, dep.name);
  return new Error(
    `${dep.name} ${reason}; see ${file}\n--- last lines of ${file} ---\n${logTail(file)}`,
  );
}

/** Polls the dependency's health probe until it passes; fails early if the process dies. */
export async function waitHealthy(ctx: InfraContext, dep: Dependency, pid: number): Promise<void> {
  const started = Date.now();
  let nextReport = started + 15_000;
  while (Date.now() - started < dep.healthTimeoutMs) {
    if (await safeHealth(ctx, dep)) return;
    if (!processAlive(ctx, pid))
      throw failure(ctx, dep, `exited before becoming healthy (pid ${pid})`);
    if (Date.now() >= nextReport) {
      ctx.log(
        `${dep.name}: still waiting for ${dep.endpoint} (${Math.round((Date.now() - started) / 1000)} s)`,
      );
      nextReport += 15_000;
    }
    await sleep(500);
  }
  throw failure(
    ctx,
    dep,
    `did not become healthy at ${dep.endpoint} within ${dep.healthTimeoutMs / 1000} s (pid ${pid})`,
  );
}

/** The dependency's probe with exceptions counted as "not healthy yet". */
export async function safeHealth(ctx: InfraContext, dep: Dependency): Promise<boolean> {
  try {
    return await dep.health(ctx);
  } catch {
    return false;
  }
}
