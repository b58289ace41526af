#!/usr/bin/env node
// Docker HEALTHCHECK for every image: the process's `/healthz` on its metrics port (METRICS_PORT,
// set by the manifests and docker-compose.yml), or on PORT for the storefront, which serves
// /healthz itself. Plain Node, no dependencies.
'use strict';

const port = process.env.METRICS_PORT || process.env.PORT;
if (!port) {
  process.stderr.write('healthcheck: neither METRICS_PORT nor PORT is set\n');
  process.exit(1);
}
fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) }).then(
  (res) => process.exit(res.ok ? 0 : 1),
  (err) => {
    process.stderr.write(`healthcheck: ${err.message}\n`);
    process.exit(1);
  },
);
