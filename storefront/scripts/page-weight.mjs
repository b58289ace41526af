// Prints the JavaScript each storefront page makes a browser download: the <script src> chunks
// its HTML names, raw and gzip-compressed. Usage: node page-weight.mjs <storefront URL> <path>...
import { gzipSync } from 'node:zlib';

const [base, ...paths] = process.argv.slice(2);
if (!base || paths.length === 0) {
  process.stderr.write('usage: node page-weight.mjs http://127.0.0.1:3000 / /product/<id> ...\n');
  process.exit(2);
}
const cache = new Map();
async function size(src) {
  if (!cache.has(src)) {
    const body = Buffer.from(await (await fetch(new URL(src, base))).arrayBuffer());
    cache.set(src, { raw: body.length, gzip: gzipSync(body).length });
  }
  return cache.get(src);
}
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
for (const path of paths) {
  const html = await (await fetch(new URL(path, base))).text();
  // noModule scripts (legacy polyfills) are not fetched by the browsers Next.js targets.
  const tags = [...html.matchAll(/<script([^>]+)src="([^"]+)"([^>]*)>/g)];
  const modern = tags.filter((m) => !/nomodule/i.test(m[1] + m[3])).map((m) => m[2]);
  const scripts = [...new Set(modern)];
  let raw = 0;
  let gzip = 0;
  for (const src of scripts) {
    const s = await size(src);
    raw += s.raw;
    gzip += s.gzip;
  }
  process.stdout.write(
    `${path.padEnd(28)} ${String(scripts.length).padStart(3)} chunks  ${kib(raw).padStart(10)} raw  ${kib(gzip).padStart(10)} gzip  (HTML ${kib(html.length)})\n`,
  );
}
