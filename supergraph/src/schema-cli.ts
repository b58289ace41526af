#!/usr/bin/env node

/**
 * Offline composition and schema checks (rover cannot run here: it downloads plugins).
 *
 *   schema-cli compose            compose supergraph.yaml → supergraph/supergraph.graphql and
 *                                 supergraph/api-schema.graphql
 *   schema-cli check              fail on composition errors, a stale committed supergraph, or
 *                                 unacknowledged breaking changes against rover/baseline
 *   schema-cli baseline           accept the current API schema as rover/baseline/api-schema.graphql
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { format, resolveConfig } from 'prettier';
import { compose, diffApiSchema, readAcks, readSupergraphConfig } from './schema';

const root = process.cwd();
const files = {
  config: path.join(root, 'supergraph.yaml'),
  supergraph: path.join(root, 'supergraph', 'supergraph.graphql'),
  apiSchema: path.join(root, 'supergraph', 'api-schema.graphql'),
  baseline: path.join(root, 'rover', 'baseline', 'api-schema.graphql'),
  acks: path.join(root, 'rover', 'breaking-changes-ack.json'),
};
const rel = (f: string): string => path.relative(root, f);
const read = (f: string): string | undefined =>
  existsSync(f) ? readFileSync(f, 'utf8') : undefined;

/** Formats SDL the way `npm run lint` expects it, so the committed files stay lint-clean. */
async function pretty(sdl: string, file: string): Promise<string> {
  return format(sdl, { ...(await resolveConfig(file)), parser: 'graphql' });
}

async function main(command: string | undefined): Promise<number> {
  const composed = compose(readSupergraphConfig(files.config));
  const composition = {
    supergraphSdl: await pretty(composed.supergraphSdl, files.supergraph),
    apiSchemaSdl: await pretty(composed.apiSchemaSdl, files.apiSchema),
  };
  switch (command) {
    case 'compose':
      writeFileSync(files.supergraph, composition.supergraphSdl);
      writeFileSync(files.apiSchema, composition.apiSchemaSdl);
      console.log(`wrote ${rel(files.supergraph)} and ${rel(files.apiSchema)}`);
      return 0;
    case 'baseline':
      mkdirSync(path.dirname(files.baseline), { recursive: true });
      writeFileSync(files.baseline, composition.apiSchemaSdl);
      console.log(`wrote ${rel(files.baseline)}`);
      return 0;
    case 'check': {
      let failed = false;
      if (
        read(files.supergraph) !== composition.supergraphSdl ||
        read(files.apiSchema) !== composition.apiSchemaSdl
      ) {
        console.error(`${rel(files.supergraph)} is stale: run \`npm run supergraph:compose\``);
        failed = true;
      }
      const baseline = read(files.baseline);
      if (baseline === undefined) {
        console.error(`${rel(files.baseline)} is missing: run \`npm run supergraph:baseline\``);
        return 1;
      }
      const result = await diffApiSchema(baseline, composition.apiSchemaSdl, readAcks(files.acks));
      for (const c of result.safe) console.log(`  safe: ${c.message}`);
      for (const c of result.acknowledged) console.log(`  acknowledged breaking: ${c.message}`);
      if (result.breaking.length > 0) {
        console.error(
          `Breaking changes of the public API against ${rel(files.baseline)}:\n` +
            result.breaking.map((c) => `  - [${c.type}] ${c.path ?? ''}: ${c.message}`).join('\n') +
            `\nAcknowledge intentional ones in ${rel(files.acks)} ({ "type", "path", "reason" }).`,
        );
        failed = true;
      }
      if (!failed)
        console.log(
          'supergraph composes, is up to date, and has no unacknowledged breaking changes',
        );
      return failed ? 1 : 0;
    }
    default:
      console.error('usage: schema-cli compose | check | baseline');
      return 2;
  }
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error((err as Error).message);
    process.exit(1);
  },
);
