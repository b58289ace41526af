#!/usr/bin/env node
// Regenerates proto/generated/ from the .proto files: TypeScript through the local ts-proto
// plugin (buf.gen.yaml) and a FileDescriptorSet (with imports and source info, so comments reach
// server reflection and the GraphQL generator).
//
//   node scripts/codegen.js          write generated/
//   node scripts/codegen.js --check  generate into a temp dir; exit 1 listing the files that
//                                    differ when the committed generated/ is stale
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const protoRoot = path.resolve(__dirname, '..');
const GENERATED = 'generated';
const DESCRIPTOR_SET = 'descriptor-set.binpb';

/** Directory of an installed package, resolved the way Node would from proto/. */
function packageDir(name) {
  return path.dirname(require.resolve(`${name}/package.json`, { paths: [protoRoot] }));
}

class CodegenError extends Error {}

function fail(message) {
  throw new CodegenError(message);
}

const bufBin = path.join(packageDir('@bufbuild/buf'), 'bin', 'buf');
const pluginDir = packageDir('ts-proto');

/** Runs buf in proto/ with the ts-proto plugin first on PATH (buf.gen.yaml names it `local`). */
function buf(args) {
  const PATH = [pluginDir, path.dirname(process.execPath), process.env.PATH].join(path.delimiter);
  const env = { ...process.env, PATH };
  const result = spawnSync(process.execPath, [bufBin, ...args], {
    cwd: protoRoot,
    env,
    stdio: 'inherit',
  });
  if (result.error) fail(`buf ${args[0]}: ${result.error.message}`);
  if (result.status !== 0) fail(`buf ${args.join(' ')} exited with ${result.status}`);
}

/** Generates everything into `<base>/generated`. */
function generate(base) {
  if (!fs.existsSync(path.join(pluginDir, 'protoc-gen-ts_proto'))) {
    fail(`protoc-gen-ts_proto not found in ${pluginDir}; run npm install`);
  }
  buf(['generate', '--template', 'buf.gen.yaml', '--output', base]);
  const set = path.join(base, GENERATED, DESCRIPTOR_SET);
  buf(['build', '--as-file-descriptor-set', '-o', set]);
  appendHealthProto(set);
}

/**
 * Appends grpc.health.v1 (as shipped by grpc-health-check, under its canonical name
 * grpc/health/v1/health.proto) to the descriptor set, so server reflection describes the health
 * service as exactly as ours. Two encoded FileDescriptorSets concatenated are one set holding
 * both files lists (a repeated field).
 */
function appendHealthProto(set) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shop-proto-health-'));
  try {
    const dir = path.join(tmp, 'grpc', 'health', 'v1');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(
      path.join(packageDir('grpc-health-check'), 'proto', 'health', 'v1', 'health.proto'),
      path.join(dir, 'health.proto'),
    );
    const out = path.join(tmp, 'health.binpb');
    buf(['build', tmp, '--as-file-descriptor-set', '-o', out]);
    fs.writeFileSync(set, Buffer.concat([fs.readFileSync(set), fs.readFileSync(out)]));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Relative paths of all files under dir, sorted. */
function listFiles(dir, prefix = '') {
  if (!fs.existsSync(dir)) return [];
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = path.posix.join(prefix, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(path.join(dir, entry.name), rel));
    else out.push(rel);
  }
  return out.sort();
}

function check() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shop-proto-codegen-'));
  try {
    generate(tmp);
    const fresh = path.join(tmp, GENERATED);
    const committed = path.join(protoRoot, GENERATED);
    const freshFiles = listFiles(fresh);
    const committedFiles = new Set(listFiles(committed));
    const problems = [];
    for (const file of freshFiles) {
      if (!committedFiles.has(file)) problems.push(`missing   ${GENERATED}/${file}`);
      else if (
        !fs.readFileSync(path.join(fresh, file)).equals(fs.readFileSync(path.join(committed, file)))
      ) {
        problems.push(`outdated  ${GENERATED}/${file}`);
      }
      committedFiles.delete(file);
    }
    for (const file of committedFiles) problems.push(`extra     ${GENERATED}/${file}`);
    if (problems.length > 0) {
      process.stderr.write(
        `codegen:check: proto/${GENERATED} is stale; run \`npm run codegen\` and commit the result.\n` +
          problems.map((p) => `  ${p}\n`).join(''),
      );
      process.exitCode = 1;
      return;
    }
    process.stdout.write(
      `codegen:check: proto/${GENERATED} is up to date (${freshFiles.length} files)\n`,
    );
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

try {
  if (process.argv.includes('--check')) {
    check();
  } else {
    generate(protoRoot);
    process.stdout.write(`codegen: wrote proto/${GENERATED}\n`);
  }
} catch (error) {
  if (!(error instanceof CodegenError)) throw error;
  process.stderr.write(`codegen: ${error.message}\n`);
  process.exitCode = 1;
}
