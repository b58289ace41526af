import { SUBGRAPH_NAMES } from '@shop/platform/topology';
import { spawn } from 'node:child_process';
import path from 'node:path';

const REPO = path.resolve(__dirname, '../..');

/** How many modules of each package the files load, each file in a fresh Node process. */
async function loadedPackages(
  files: readonly string[],
  packages: readonly string[],
): Promise<Record<string, Record<string, number>>> {
  const script = `
    const [file, packages] = JSON.parse(process.argv[1]);
    require(require('node:path').join(process.cwd(), file));
    const loaded = Object.keys(require.cache);
    process.stdout.write(JSON.stringify(Object.fromEntries(packages.map((p) =>
      [p, loaded.filter((m) => m.includes('/node_modules/' + p + '/')).length]))));
  `;
  const counts = await Promise.all(
    files.map(
      (file) =>
        new Promise<Record<string, number>>((resolve, reject) => {
          const child = spawn(process.execPath, ['-e', script, JSON.stringify([file, packages])], {
            cwd: REPO,
            stdio: ['ignore', 'pipe', 'inherit'],
          });
          let text = '';
          child.stdout.on('data', (c: Buffer) => (text += c.toString()));
          child.once('error', reject);
          child.once('exit', (code) =>
            code === 0
              ? resolve(JSON.parse(text) as Record<string, number>)
              : reject(new Error(`${file}: exit ${code}`)),
          );
        }),
    ),
  );
  return Object.fromEntries(files.map((file, i) => [file, counts[i]]));
}

it("a subgraph loads neither Kafka nor the store: it imports the platform's entry points per concern", async () => {
  const apps = SUBGRAPH_NAMES.map((name) => `subgraphs/${name}/dist/src/app.js`);
  const none = { kafkajs: 0, mongodb: 0 };
  expect(await loadedPackages(apps, Object.keys(none))).toEqual(
    Object.fromEntries(apps.map((app) => [app, none])),
  );
});
