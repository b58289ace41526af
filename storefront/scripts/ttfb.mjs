// Time to first byte of one storefront page under concurrent visitors: `visitors` loops, each
// requesting the page `rounds` times in a row; prints percentiles. Bounded in count by design.
// Usage: node ttfb.mjs <URL> [visitors=16] [rounds=20]
const [url, visitorsArg = '16', roundsArg = '20'] = process.argv.slice(2);
if (!url) {
  process.stderr.write('usage: node ttfb.mjs http://127.0.0.1:3000/ [visitors] [rounds]\n');
  process.exit(2);
}
const visitors = Number(visitorsArg);
const rounds = Number(roundsArg);
const times = [];
let failed = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: visitors }, async () => {
    for (let i = 0; i < rounds; i += 1) {
      const t0 = performance.now();
      const res = await fetch(url);
      times.push(performance.now() - t0); // fetch resolves when the headers arrive
      if (!res.ok) failed += 1;
      await res.arrayBuffer();
    }
  }),
);
const seconds = (performance.now() - started) / 1000;
times.sort((a, b) => a - b);
const pct = (p) =>
  times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))].toFixed(0);
process.stdout.write(
  `${times.length} requests by ${visitors} visitors in ${seconds.toFixed(1)} s (${(times.length / seconds).toFixed(1)}/s), ${failed} failed; TTFB ms p50 ${pct(50)} p90 ${pct(90)} p99 ${pct(99)} max ${pct(100)}\n`,
);
