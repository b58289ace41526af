#!/usr/bin/env node
// The images' entry point, run from the process's workspace folder: a platform process runs its
// compiled dist/src/main.js; the storefront runs `next start` on its build (.next). Both stay in
// this Node process (PID 1), which receives SIGTERM directly.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const main = path.resolve('dist/src/main.js');
if (fs.existsSync(main)) {
  require(main);
} else if (fs.existsSync('.next/BUILD_ID')) {
  const port = process.env.PORT || '3000';
  process.argv = [process.argv[0], 'next', 'start', '--hostname', '0.0.0.0', '--port', port];
  require(require.resolve('next/dist/bin/next', { paths: [process.cwd()] }));
} else {
  process.stderr.write(`start: neither dist/src/main.js nor .next/BUILD_ID in ${process.cwd()}\n`);
  process.exit(1);
}
