#!/usr/bin/env node
// Docker HEALTHCHECK for every platform image: the process's `/healthz` on its metrics port
// (METRICS_PORT, set by the manifests and docker-compose.yml). Plain Node, no dependencies.
'use strict';

const port = process.env.METRICS_PORT;
if (!port) {
  process.stderr.write('healthcheck: METRICS_PORT is not set\n');
  process.exit(1);
}
fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) }).then(
  (res) => process.exit(res.ok ? 0 : 1),
  (err) => {
    process.stderr.write(`healthcheck: ${err.message}\n`);
    process.exit(1);
  },
);
