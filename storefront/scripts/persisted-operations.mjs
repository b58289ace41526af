// Writes the storefront's persisted-operations manifest (trusted documents, Apollo's
// apollo-persisted-query-manifest format) from its .graphql operations: each operation with the
// fragments it uses, and its id. `--check` fails when the committed manifest is stale.
// The id must match the gateway's `operationId` (supergraph/src/persisted-operations.ts):
// SHA-256 of the printed definitions, operations first, fragments by name, joined by "\n".
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kind, parse, print, visit } from 'graphql';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const operationsDir = path.join(root, 'src', 'operations');
const output = path.join(root, 'src', 'generated', 'persisted-operations.json');

const definitions = readdirSync(operationsDir)
  .filter((f) => f.endsWith('.graphql'))
  .sort()
  .flatMap((f) => parse(readFileSync(path.join(operationsDir, f), 'utf8')).definitions);
const fragments = new Map(
  definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
);

function usedFragments(node, seen = new Set()) {
  visit(node, {
    FragmentSpread(spread) {
      const name = spread.name.value;
      if (seen.has(name)) return;
      seen.add(name);
      const fragment = fragments.get(name);
      if (!fragment) throw new Error(`unknown fragment ${name}`);
      usedFragments(fragment, seen);
    },
  });
  return seen;
}

const operations = definitions
  .filter((d) => d.kind === Kind.OPERATION_DEFINITION)
  .map((op) => {
    const used = [...usedFragments(op)].sort().map((name) => fragments.get(name));
    const canonical = [op, ...used].map((d) => print(d)).join('\n');
    return {
      id: createHash('sha256').update(canonical).digest('hex'),
      name: op.name.value,
      type: op.operation,
      body: [op, ...used].map((d) => print(d)).join('\n\n'),
    };
  })
  .sort((a, b) => a.name.localeCompare(b.name));

const text = `${JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations }, null, 2)}\n`;
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(output, 'utf8');
  } catch {
    // missing counts as stale
  }
  if (current !== text) {
    process.stderr.write(
      `${path.relative(process.cwd(), output)} is stale: run npm run graphql:codegen\n`,
    );
    process.exit(1);
  }
} else {
  writeFileSync(output, text);
}
