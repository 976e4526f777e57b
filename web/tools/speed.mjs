// How fast the explorer trains next to a bare net.trainStep loop in a Web Worker of the same browser, on
// the same network and batches: the cost of the page's snapshots, heatmaps and loss history. Runs both
// alternately (the machine is shared and noisy) and prints each run and the medians.
//   npm run build && node web/tools/speed.mjs [seconds=3] [rounds=3] [query]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { serve } from '../../scripts/static-server.mjs';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const seconds = Number(process.argv[2] ?? 3);
const rounds = Number(process.argv[3] ?? 3);
const query = process.argv[4] ?? 'problem=spiral&classes=3&hidden=8tanh,8tanh,8tanh,8tanh,8tanh,8tanh&lr=0.003&optimizer=adam';
const out = mkdtempSync(join(tmpdir(), 'explorer-speed-'));
execFileSync(process.execPath, [join(root, 'scripts/build-web.mjs'), out], { cwd: root, stdio: 'inherit' });

// the bare loop (web/tools/bare-worker.ts): the explorer's own data and model code, nothing drawn
await build({
  entryPoints: [join(root, 'web/tools/bare-worker.ts'), join(root, 'web/tools/bare.ts')],
  bundle: true,
  format: 'esm',
  outdir: out,
  logLevel: 'warning',
  minify: true,
});
writeFileSync(
  join(out, 'bare.html'),
  '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="./bare.js"></script>',
);

const server = await serve({ '/': out }, 0, { isolated: true });
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu'],
});
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.on('pageerror', (e) => console.error('page error:', String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') console.error('console:', m.text());
  });
  page.setDefaultTimeout(60_000);
  const bare = [],
    explorer = [],
    fps = [];
  for (let r = 0; r < rounds; r++) {
    // the explorer, training with its views on screen
    await page.goto(`${server.url}/?${query}`);
    await page.waitForFunction(() => window.__explorer?.ready === true);
    await page.click('#run');
    await page.waitForTimeout(seconds * 1000);
    const seen = await page.evaluate(() => ({
      stepsPerSecond: window.__explorer.stepsPerSecond,
      fps: window.__explorer.fps,
      costs: window.__explorer.workerCosts,
      timing: window.__explorer.timing,
    }));
    await page.click('#run');
    explorer.push(seen.stepsPerSecond);
    fps.push(seen.fps);
    // the bare loop on the same problem, network and batches
    const config = await page.evaluate(() => {
      const app = window.__explorer.app,
        p = app.problem,
        s = app.state;
      return {
        net: { inFeatures: p.features.length, hidden: s.hidden, outFeatures: p.outputs, task: p.task },
        train: { optimizer: s.optimizer, lr: s.lr, l2: s.l2, batchSize: s.batchSize, seed: s.seed },
        data: { trainX: Array.from(p.trainX), trainY: Array.from(p.trainY) },
      };
    });
    const typed = {
      ...config,
      seconds,
      data: { trainX: config.data.trainX, trainY: config.data.trainY, cls: config.net.task === 'classification' },
    };
    await page.goto(`${server.url}/bare.html`);
    await page.waitForFunction(() => window.measure, null, { timeout: 20_000 });
    bare.push(
      await page.evaluate(
        (m) =>
          window.measure({
            ...m,
            data: {
              trainX: Float32Array.from(m.data.trainX),
              trainY: m.data.cls ? Int32Array.from(m.data.trainY) : Float32Array.from(m.data.trainY),
            },
          }),
        typed,
      ),
    );
    const ms = (v) => `${v.toFixed(2)} ms`;
    console.log(
      `round ${r + 1}: explorer ${Math.round(explorer[r]).toLocaleString('en-US')} steps/s at ${fps[r].toFixed(1)} fps ` +
        `(worker: step ${ms(seen.costs.step)}, snapshot ${ms(seen.costs.snapshot)}, evaluation ${ms(seen.costs.evaluation)}; page: draw ${ms(seen.timing.main)}); ` +
        `bare trainStep loop ${Math.round(bare[r]).toLocaleString('en-US')} steps/s`,
    );
  }
  console.log(
    `median: explorer ${Math.round(median(explorer)).toLocaleString('en-US')} steps/s (${median(fps).toFixed(1)} fps), bare loop ${Math.round(median(bare)).toLocaleString('en-US')} steps/s: ${(100 * median(explorer.map((e, i) => e / bare[i]))).toFixed(0)} % of it`,
  );
} finally {
  await browser.close();
  await server.close();
}
