import { spawn } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { logFile, pidFile } from './paths';
import type { InfraContext } from './types';

/** How a child process is launched. */
export interface Command {
  cmd: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

const MAX_LOG_BYTES = 20 * 1024 * 1024;

function openLog(ctx: InfraContext, name: string, header: string): number {
  const file = logFile(ctx, name);
  // Keep logs bounded without a rotation daemon: one previous generation is enough locally.
  if (existsSync(file) && statSync(file).size > MAX_LOG_BYTES) renameSync(file, `${file}.1`);
  appendFileSync(file, `\n=== ${new Date().toISOString()} ${header}\n`);
  return openSync(file, 'a');
}

function describe(command: Command): string {
  return [command.cmd, ...command.args].join(' ');
}

/** Runs an install step to completion, its output appended to the dependency's log file. */
export async function runStep(ctx: InfraContext, name: string, command: Command): Promise<void> {
  const fd = openLog(ctx, name, describe(command));
  try {
    const child = spawn(command.cmd, command.args, {
      cwd: command.cwd,
      env: command.env ?? ctx.env,
      stdio: ['ignore', fd, fd],
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', resolve);
    });
    if (code !== 0)
      throw new Error(
        `${name}: \`${describe(command)}\` exited with ${String(code)}; see ${logFile(ctx, name)}`,
      );
  } finally {
    closeSync(fd);
  }
}

/** Runs a short command and returns its stdout (for tool queries such as `random-uuid`). */
export async function capture(command: Command): Promise<string> {
  const child = spawn(command.cmd, command.args, {
    cwd: command.cwd,
    env: command.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: Buffer[] = [];
  const errors: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => errors.push(chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0)
    throw new Error(
      `\`${describe(command)}\` exited with ${String(code)}: ${Buffer.concat(errors).toString().trim()}`,
    );
  return Buffer.concat(chunks).toString().trim();
}

/** Spawns a server in its own process group so it outlives the caller; records its pid. */
export function spawnDetached(ctx: InfraContext, name: string, command: Command): number {
  const fd = openLog(ctx, name, `start: ${describe(command)}`);
  try {
    const child = spawn(command.cmd, command.args, {
      cwd: command.cwd,
      env: command.env ?? ctx.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    if (child.pid === undefined)
      throw new Error(`${name}: could not spawn ${command.cmd}; see ${logFile(ctx, name)}`);
    child.unref();
    writeFileSync(pidFile(ctx, name), `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// A recycled pid must not be mistaken for our server: every server we start has the cache path in its argv.
function isOurs(ctx: InfraContext, pid: number): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes(ctx.cacheDir) && !isZombie(pid);
  } catch {
    return isAlive(pid);
  }
}

function isZombie(pid: number): boolean {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}

/** The pid of the dependency's server when it is alive and ours, else undefined (stale pid files are removed). */
export function runningPid(ctx: InfraContext, name: string): number | undefined {
  const file = pidFile(ctx, name);
  if (!existsSync(file)) return undefined;
  const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
  if (Number.isInteger(pid) && pid > 0 && isOurs(ctx, pid)) return pid;
  unlinkSync(file);
  return undefined;
}

/** True while the process is alive (and not a zombie). */
export function processAlive(ctx: InfraContext, pid: number): boolean {
  return isAlive(pid) && isOurs(ctx, pid);
}

/** SIGTERM to the server's process group, SIGKILL after the grace period; removes the pid file. */
export async function stopProcess(
  ctx: InfraContext,
  name: string,
  graceMs = 30_000,
): Promise<boolean> {
  const pid = runningPid(ctx, name);
  if (pid === undefined) return false;
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (processAlive(ctx, pid) && Date.now() < deadline) await sleep(200);
  if (processAlive(ctx, pid)) signalGroup(pid, 'SIGKILL');
  const file = pidFile(ctx, name);
  if (existsSync(file)) unlinkSync(file);
  return true;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/** Resident memory of the whole process group led by `pid`, in MiB. */
export function groupRssMiB(pid: number): number | undefined {
  let kib = 0;
  let found = false;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const info = readProcStatus(entry);
    if (info === undefined || (info.pgid !== pid && Number(entry) !== pid)) continue;
    kib += info.rssKiB;
    found = true;
  }
  return found ? Math.round(kib / 1024) : undefined;
}

function readProcStatus(pid: string): { pgid: number; rssKiB: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command: state ppid pgrp ...
    const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { pgid, rssKiB: rss ? Number(rss[1]) : 0 };
  } catch {
    return undefined;
  }
}
