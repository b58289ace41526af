#!/usr/bin/env node

/**
 * proto-graphql [--check] [subgraph-dir...]
 *
 * Writes each subgraph's GraphQL types from the protobuf descriptors (default: every
 * `subgraphs/*` with a proto-graphql.json under the current directory). `--check` writes nothing
 * and exits 1 when a generated file is stale.
 */
import { descriptorSetPath } from '@shop/proto';
import path from 'node:path';
import { findSubgraphDirs, runGenerator } from './generator/run';

const args = process.argv.slice(2);
const check = args.includes('--check');
const named = args.filter((a) => !a.startsWith('--')).map((d) => path.resolve(d));
const dirs = named.length > 0 ? named : findSubgraphDirs(process.cwd());

try {
  const result = runGenerator({ descriptorSetPath, dirs, check });
  const rel = (f: string): string => path.relative(process.cwd(), f);
  if (check && result.stale.length > 0) {
    console.error(
      `Generated GraphQL is stale; run \`npm run graphql:codegen\`:\n  ${result.stale.map(rel).join('\n  ')}`,
    );
    process.exit(1);
  }
  for (const file of result.written) console.log(`wrote ${rel(file)}`);
  if (check) console.log(`generated GraphQL of ${dirs.length} subgraphs is up to date`);
} catch (err) {
  console.error(`proto-graphql: ${(err as Error).message}`);
  process.exit(1);
}
