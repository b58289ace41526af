import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadProtoCatalog } from './descriptors';
import { generate, type GeneratorConfig } from './generate';

/** The config file each subgraph keeps next to its package.json. */
export const CONFIG_FILE = 'proto-graphql.json';

/** What one run did: the files written (or, with `check`, found stale). */
export interface GeneratorRun {
  readonly written: string[];
  readonly stale: string[];
}

/** Subgraph folders under `root/subgraphs` that carry a generator config. */
export function findSubgraphDirs(root: string): string[] {
  const base = path.join(root, 'subgraphs');
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .map((name) => path.join(base, name))
    .filter((dir) => existsSync(path.join(dir, CONFIG_FILE)))
    .sort();
}

/**
 * Generates `generated/types.graphql`, `generated/proto-resolvers.ts` and (with the
 * hand-written `schema.graphql`) `generated/subgraph.graphql` for each subgraph folder. With `check`, writes nothing and reports the files whose content would change.
 */
export function runGenerator(options: {
  descriptorSetPath: string;
  dirs: readonly string[];
  check: boolean;
}): GeneratorRun {
  const catalog = loadProtoCatalog(options.descriptorSetPath);
  const written: string[] = [];
  const stale: string[] = [];
  for (const dir of options.dirs) {
    const config = JSON.parse(readFileSync(path.join(dir, CONFIG_FILE), 'utf8')) as GeneratorConfig;
    const files = generate(catalog, config);
    const outDir = path.join(dir, 'generated');
    const targets: Array<[string, string]> = [
      [path.join(outDir, 'types.graphql'), files.sdl],
      [path.join(outDir, 'proto-resolvers.ts'), files.resolvers],
    ];
    // The whole subgraph SDL in one file, as rover's supergraph.yaml (`schema.file`) wants it.
    const handWritten = path.join(dir, 'schema.graphql');
    if (existsSync(handWritten)) {
      targets.push([
        path.join(outDir, 'subgraph.graphql'),
        `${readFileSync(handWritten, 'utf8').trimEnd()}\n\n${files.sdl}`,
      ]);
    }
    for (const [file, content] of targets) {
      const current = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
      if (current === content) continue;
      if (options.check) {
        stale.push(file);
      } else {
        mkdirSync(outDir, { recursive: true });
        writeFileSync(file, content);
        written.push(file);
      }
    }
  }
  return { written, stale };
}
