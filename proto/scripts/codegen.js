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
  appendReflectionProtos(set);
}

/**
 * Appends what server reflection must describe beyond our contracts: grpc.health.v1 (as shipped
 * by grpc-health-check) so the health service is described as exactly as ours, and
 * google.rpc.Status with its error details (from google-proto-files) so clients such as grpcurl
 * can decode the details our errors carry (ErrorInfo, BadRequest). Files go under their
 * canonical names; imports our set already holds are not added twice. Two encoded
 * FileDescriptorSets concatenated are one set holding both files lists (a repeated field).
 */
function appendReflectionProtos(set) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shop-proto-extra-'));
  try {
    const copy = (from, to) => {
      fs.mkdirSync(path.dirname(path.join(tmp, to)), { recursive: true });
      fs.copyFileSync(from, path.join(tmp, to));
    };
    copy(
      path.join(packageDir('grpc-health-check'), 'proto', 'health', 'v1', 'health.proto'),
      'grpc/health/v1/health.proto',
    );
    for (const file of ['google/rpc/status.proto', 'google/rpc/error_details.proto']) {
      copy(path.join(packageDir('google-proto-files'), file), file);
    }
    const out = path.join(tmp, 'extra.binpb');
    buf(['build', tmp, '--as-file-descriptor-set', '-o', out]);
    const ours = fs.readFileSync(set);
    const have = new Set(descriptorFiles(ours).map((f) => f.name));
    const added = descriptorFiles(fs.readFileSync(out)).filter((f) => !have.has(f.name));
    fs.writeFileSync(set, Buffer.concat([ours, ...added.map((f) => f.raw)]));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** A protobuf varint at `pos`: its value and where the next field starts. */
function varint(bytes, pos) {
  let value = 0;
  for (let shift = 0; ; shift += 7) {
    const b = bytes[pos++];
    value += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return { value, pos };
  }
}

/**
 * The entries of an encoded FileDescriptorSet (field 1, length-delimited), each with its file's
 * name (FileDescriptorProto field 1) and its bytes as encoded.
 */
function descriptorFiles(set) {
  const files = [];
  for (let pos = 0; pos < set.length;) {
    const start = pos;
    const tag = varint(set, pos);
    const length = varint(set, tag.pos);
    const end = length.pos + length.value;
    if (tag.value !== 0x0a) throw new CodegenError(`unexpected field in the descriptor set`);
    let name = '';
    for (let p = length.pos; p < end;) {
      const field = varint(set, p);
      if ((field.value & 7) !== 2) break; // name comes first; stop at anything else
      const len = varint(set, field.pos);
      if (field.value >>> 3 === 1) {
        name = set.subarray(len.pos, len.pos + len.value).toString('utf8');
        break;
      }
      p = len.pos + len.value;
    }
    files.push({ name, raw: set.subarray(start, end) });
    pos = end;
  }
  return files;
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
