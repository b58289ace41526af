#!/usr/bin/env node
// The production dependency closure of one workspace, read from package-lock.json: the
// workspace itself, the workspaces it depends on (through their node_modules/@shop links) and
// every package reached through `dependencies`, `optionalDependencies` and required
// `peerDependencies`, resolved the way Node resolves them (nearest node_modules upwards).
//
//   node k8s/image/closure.js <workspace>             JSON: paths, missing, bytes
//   node k8s/image/closure.js <workspace> --copy DIR  copy the closure (built) into DIR
//   node k8s/image/closure.js <workspace> --verify    check the copied closure is complete
//        [--omit <lock path>]                           (leaving one entry out, to see it fail)
//   node k8s/image/closure.js --all-production        JSON: bytes of every non-dev package
//
// The image build (k8s/Dockerfile) copies exactly this into the runtime stage; k8s/test checks
// that each process's compiled code resolves every import inside its copied closure.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
/** Folders of a workspace that the running process never reads. */
const SKIP_IN_WORKSPACE = new Set(['node_modules', 'test', 'src', 'scripts', 'cache', 'docs']);

function readLock(root) {
  return JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')).packages;
}

/** The lock path Node would load `name` from when required inside `from`. */
function resolve(packages, name, from) {
  let dir = from;
  for (;;) {
    const candidate = dir === '' ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (dir === '') return undefined;
    const cut = dir.lastIndexOf('/');
    dir = cut < 0 ? '' : dir.slice(0, cut);
  }
}

/** Lock paths (node_modules entries, links and workspace folders) the workspace needs. */
function closure(workspace, root = ROOT) {
  const packages = readLock(root);
  if (!packages[workspace]) throw new Error(`${workspace} is not a workspace in package-lock.json`);
  const paths = new Set();
  const missing = [];
  const visit = (lockPath) => {
    if (paths.has(lockPath)) return;
    paths.add(lockPath);
    const entry = packages[lockPath];
    if (entry.link) return visit(entry.resolved);
    const peers = Object.keys(entry.peerDependencies ?? {}).filter(
      (p) => !entry.peerDependenciesMeta?.[p]?.optional,
    );
    const required = [...Object.keys(entry.dependencies ?? {}), ...peers];
    for (const name of required) {
      const found = resolve(packages, name, lockPath);
      if (found) visit(found);
      else missing.push(`${lockPath} -> ${name}`);
    }
    for (const name of Object.keys(entry.optionalDependencies ?? {})) {
      const found = resolve(packages, name, lockPath);
      // Optional packages for other platforms are in the lock but not installed.
      if (found && fs.existsSync(path.join(root, found))) visit(found);
    }
  };
  visit(workspace);
  return { paths: [...paths].sort(), missing };
}

/** Bytes on disk of a lock path, without nested node_modules (they are entries of their own). */
function bytesOf(root, lockPath, isWorkspace) {
  const walk = (p, top) => {
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    if (!st) return 0;
    if (st.isSymbolicLink() || !st.isDirectory()) return st.size;
    return fs
      .readdirSync(p)
      .filter((e) => e !== 'node_modules' && !(top && isWorkspace && SKIP_IN_WORKSPACE.has(e)))
      .reduce((sum, e) => sum + walk(path.join(p, e), false), 0);
  };
  return walk(path.join(root, lockPath), true);
}

const isWorkspaceFolder = (p) => !p.startsWith('node_modules/') && !p.includes('/node_modules/');

/**
 * Copies the closure into `dest`, keeping links as links and workspaces without sources; with
 * `link`, files are hard links (same filesystem only), which is how --verify stays fast.
 */
function copyClosure(workspace, dest, root = ROOT, link = false, omit = []) {
  const found = closure(workspace, root);
  const { missing } = found;
  const paths = found.paths.filter((p) => !omit.includes(p));
  if (missing.length > 0) throw new Error(`unresolved dependencies:\n${missing.join('\n')}`);
  fs.copyFileSync(path.join(root, 'package.json'), path.join(dest, 'package.json'));
  const copy = (from, to, workspaceFolder, depth) => {
    const st = fs.lstatSync(from);
    if (st.isSymbolicLink()) {
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.symlinkSync(fs.readlinkSync(from), to);
    } else if (st.isDirectory()) {
      fs.mkdirSync(to, { recursive: true });
      for (const entry of fs.readdirSync(from)) {
        // nested node_modules are entries of their own, copied when they are needed
        if (entry === 'node_modules') continue;
        if (workspaceFolder && depth === 0 && SKIP_IN_WORKSPACE.has(entry)) continue;
        // Next.js's build cache is rebuilt at run time (an emptyDir in the manifests)
        if (workspaceFolder && depth === 1 && path.basename(from) === '.next' && entry === 'cache')
          continue;
        if (workspaceFolder && depth === 1 && path.basename(from) === 'dist' && entry === 'test')
          continue;
        if (entry.endsWith('.tsbuildinfo')) continue;
        copy(path.join(from, entry), path.join(to, entry), workspaceFolder, depth + 1);
      }
    } else if (link) {
      try {
        fs.linkSync(from, to);
      } catch {
        fs.copyFileSync(from, to); // another filesystem: copy instead
      }
    } else {
      fs.copyFileSync(from, to);
      fs.chmodSync(to, st.mode & 0o755);
    }
  };
  for (const p of paths) {
    if (fs.existsSync(path.join(dest, p))) continue;
    copy(path.join(root, p), path.join(dest, p), isWorkspaceFolder(p), 0);
  }
  return paths;
}

/**
 * Copies the closure (hard links where the filesystem allows) into a scratch folder outside the
 * repository, so no node_modules of the work tree can stand in, and checks that every package
 * required by the modules that `dist/src/main.js` reaches resolves inside it; then loads those
 * modules there (all but main.js, which would start the process).
 */
function verify(workspace, root = ROOT, omit = []) {
  const { createRequire, isBuiltin } = require('node:module');
  const { execFileSync } = require('node:child_process');
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'closure-'));
  try {
    copyClosure(workspace, dir, root, true, omit);
    const main = path.join(dir, workspace, 'dist', 'src', 'main.js');
    const problems = [];
    const modules = [];
    const queue = fs.existsSync(main) ? [main] : [];
    if (queue.length === 0) problems.push(`${workspace}: no dist/src/main.js`);
    const seen = new Set(queue);
    while (queue.length > 0) {
      const file = queue.shift();
      modules.push(file);
      const req = createRequire(file);
      const source = fs.readFileSync(file, 'utf8');
      for (const [, , spec] of source.matchAll(/\brequire\((["'])([^"']+)\1\)/g)) {
        if (isBuiltin(spec)) continue;
        let resolved;
        try {
          resolved = req.resolve(spec);
        } catch {
          problems.push(`${path.relative(dir, file)}: cannot resolve ${spec}`);
          continue;
        }
        const real = fs.realpathSync(resolved);
        if (!real.startsWith(fs.realpathSync(dir)))
          problems.push(`${spec}: resolved outside the closure (${resolved})`);
        // follow our own compiled modules (relative or workspace packages), not npm packages
        const ours = !real.includes(`${path.sep}node_modules${path.sep}`) && real.endsWith('.js');
        if (ours && !seen.has(real)) {
          seen.add(real);
          queue.push(real);
        }
      }
    }
    const load = modules.filter((m) => m !== main);
    try {
      execFileSync(process.execPath, ['-e', `${JSON.stringify(load)}.forEach((m) => require(m))`], {
        cwd: dir,
        env: { PATH: process.env.PATH, NODE_ENV: 'production' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    } catch (err) {
      problems.push(
        `loading the modules main.js reaches: ${String(err.stderr ?? err).slice(0, 800)}`,
      );
    }
    return { workspace, modules: modules.length, problems };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function report(workspace, root = ROOT) {
  const { paths, missing } = closure(workspace, root);
  const bytes = paths.reduce((sum, p) => sum + bytesOf(root, p, isWorkspaceFolder(p)), 0);
  return { workspace, packages: paths.length, bytes, missing, paths };
}

/** What `npm prune --omit=dev` leaves: every installed non-dev entry of the lock. */
function allProduction(root = ROOT) {
  const packages = readLock(root);
  const paths = Object.keys(packages).filter(
    (p) => p !== '' && !packages[p].dev && fs.existsSync(path.join(root, p)),
  );
  const bytes = paths.reduce((sum, p) => sum + bytesOf(root, p, isWorkspaceFolder(p)), 0);
  return { packages: paths.length, bytes };
}

module.exports = { closure, copyClosure, verify, report, allProduction };

if (require.main === module) {
  const [arg, flag, dest] = process.argv.slice(2);
  if (arg === '--all-production') {
    process.stdout.write(`${JSON.stringify(allProduction())}\n`);
  } else if (arg && flag === '--verify') {
    // --verify --omit <lock path>: the check must then fail (k8s/test shows it does)
    const result = verify(arg, ROOT, dest === '--omit' ? [process.argv[5]] : []);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exitCode = result.problems.length === 0 ? 0 : 1;
  } else if (arg && flag === '--copy' && dest) {
    fs.mkdirSync(dest, { recursive: true });
    const paths = copyClosure(arg, dest);
    process.stdout.write(`copied ${paths.length} entries of ${arg} into ${dest}\n`);
  } else if (arg && flag === undefined) {
    const { paths: _paths, ...summary } = report(arg);
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } else {
    process.stderr.write('usage: closure.js <workspace> [--copy DIR] | --all-production\n');
    process.exit(2);
  }
}
