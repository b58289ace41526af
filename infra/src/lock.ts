import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { InfraContext } from './types';

const LOCK_WAIT_MS = 20 * 60_000;

function ownerAlive(dir: string): boolean {
  try {
    const pid = Number.parseInt(readFileSync(path.join(dir, 'owner'), 'utf8'), 10);
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function tryAcquire(dir: string): boolean {
  try {
    mkdirSync(dir);
  } catch {
    return false;
  }
  writeFileSync(path.join(dir, 'owner'), String(process.pid));
  return true;
}

/**
 * Runs `fn` holding `.infra/run/<name>.lock`, so `npm test` and `npm start` launched together
 * do not install or spawn the same dependency twice. A lock left by a dead process is taken over.
 */
export async function withLock<T>(
  ctx: InfraContext,
  name: string,
  fn: () => Promise<T>,
): Promise<T> {
  const dir = path.join(ctx.runDir, `${name}.lock`);
  const deadline = Date.now() + LOCK_WAIT_MS;
  let announced = false;
  while (!tryAcquire(dir)) {
    // The owner file is written just after mkdir; give a racing owner a moment before judging it dead.
    await sleep(300);
    if (!ownerAlive(dir)) {
      rmSync(dir, { recursive: true, force: true });
      continue;
    }
    if (!announced) ctx.log(`${name}: another launcher holds ${dir}; waiting for it`);
    announced = true;
    if (Date.now() > deadline)
      throw new Error(`${name}: timed out waiting for ${dir}; remove it if no launcher is running`);
  }
  try {
    return await fn();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
