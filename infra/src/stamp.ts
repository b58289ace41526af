import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { InfraContext } from './types';

function stampFile(ctx: InfraContext, name: string): string {
  return path.join(ctx.cacheDir, 'stamps', name);
}

/** True when the install of `name` completed with exactly this identity (version, config hash). */
export function hasStamp(ctx: InfraContext, name: string, identity: string): boolean {
  const file = stampFile(ctx, name);
  return existsSync(file) && readFileSync(file, 'utf8') === identity;
}

/** Records a completed install; written last so an interrupted install is redone. */
export function writeStamp(ctx: InfraContext, name: string, identity: string): void {
  mkdirSync(path.dirname(stampFile(ctx, name)), { recursive: true });
  writeFileSync(stampFile(ctx, name), identity);
}

/** Short content hash of files, so editing committed config triggers a reinstall. */
export function hashFiles(...files: string[]): string {
  const hash = createHash('sha256');
  for (const file of files) hash.update(readFileSync(file));
  return hash.digest('hex').slice(0, 16);
}
