#!/usr/bin/env node
// Fails when the working tree's contracts break the last committed state of main (buf breaking,
// FILE rules). The baseline is main's latest commit: the local `main` branch, else `origin/main`,
// else HEAD (a CI checkout of main with a detached HEAD and no branch refs). When that commit has
// no contracts yet, or there is no commit at all, it says so and exits 0.
//
// The baseline files are read with `git show` into a temp dir rather than through buf's
// `.git#branch=main` input: buf would clone the whole repository on every run, and that clone
// fails in shallow or detached CI checkouts.
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const protoRoot = path.resolve(__dirname, '..');
const bufBin = path.join(
  path.dirname(require.resolve('@bufbuild/buf/package.json', { paths: [protoRoot] })),
  'bin',
  'buf',
);

/** Runs git in proto/; returns trimmed stdout, or undefined when git fails. */
function git(args, options = {}) {
  const result = spawnSync('git', args, { cwd: protoRoot, encoding: options.encoding ?? 'utf8' });
  if (result.error || result.status !== 0) return undefined;
  return options.encoding === 'buffer' ? result.stdout : result.stdout.trim();
}

function skip(reason) {
  process.stdout.write(`breaking: skipped, ${reason}\n`);
}

function main() {
  const repoRoot = git(['rev-parse', '--show-toplevel']);
  if (repoRoot === undefined) return skip('not inside a git repository.');
  const protoDir = path.relative(repoRoot, protoRoot).split(path.sep).join('/');

  const candidates = [
    ['main', 'refs/heads/main'],
    ['origin/main', 'refs/remotes/origin/main'],
    ['HEAD (no main branch found)', 'HEAD'],
  ];
  let label;
  let commit;
  for (const [name, ref] of candidates) {
    commit = git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
    if (commit) {
      label = name;
      break;
    }
  }
  if (!commit) return skip('the repository has no commits yet.');

  const listing = git([
    'ls-tree',
    '--full-tree',
    '-r',
    '-z',
    '--name-only',
    commit,
    '--',
    `${protoDir}/`,
  ]);
  const files = (listing ?? '')
    .split('\0')
    .filter((file) => /\.proto$|\/buf\.(yaml|lock)$/.test(file))
    .filter((file) => !file.startsWith(`${protoDir}/generated/`));
  if (!files.some((file) => file.endsWith('.proto'))) {
    return skip(`${label} (${commit.slice(0, 12)}) has no contracts under ${protoDir}/ yet.`);
  }

  const baseline = fs.mkdtempSync(path.join(os.tmpdir(), 'shop-proto-breaking-'));
  try {
    for (const file of files) {
      const content = git(['show', `${commit}:${file}`], { encoding: 'buffer' });
      if (content === undefined) throw new Error(`cannot read ${file} at ${commit}`);
      const target = path.join(baseline, path.relative(protoDir, file));
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, content);
    }
    process.stdout.write(
      `breaking: comparing ${protoDir}/ with ${label} at ${commit.slice(0, 12)}\n`,
    );
    const result = spawnSync(process.execPath, [bufBin, 'breaking', '--against', baseline], {
      cwd: protoRoot,
      stdio: 'inherit',
    });
    if (result.error) throw result.error;
    if (result.status !== 0) {
      process.stderr.write(
        'breaking: the contracts break wire or source compatibility with main (see above).\n' +
          'Add new fields/RPCs instead of changing or removing existing ones, or start a v2 package.\n',
      );
      process.exitCode = 1;
      return undefined;
    }
    process.stdout.write('breaking: no breaking changes.\n');
    return undefined;
  } finally {
    fs.rmSync(baseline, { recursive: true, force: true });
  }
}

main();
