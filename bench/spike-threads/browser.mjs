// SPIKE (g): Debian's Chromium (playwright-core) loads web/ from 127.0.0.1, once with COOP/COEP headers
// (cross-origin isolated) and once without; the page reports what it could do with a shared memory.
import { createServer } from 'node:http';
import { readFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { chromium } from 'playwright-core';

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.wasm': 'application/wasm' };
const FILES = {
  '/': 'web/index.html',
  '/page.js': 'web/page.js',
  '/worker.js': 'web/worker.js',
  '/pool-zeroed.wasm': 'build/pool-zeroed.wasm',
};

function serve(isolated) {
  const server = createServer((req, res) => {
    const file = FILES[new URL(req.url, 'http://x').pathname];
    if (!file) return res.writeHead(404).end();
    const headers = { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' };
    if (isolated)
      Object.assign(headers, { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
    res.writeHead(200, headers).end(readFileSync(new URL(file, import.meta.url)));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const CHROMIUM = '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing`);
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
    '--disable-sync',
  ],
});
const out = { chromium: browser.version() };
try {
  for (const isolated of [false, true]) {
    const server = await serve(isolated);
    const page = await browser.newPage();
    const console_ = [];
    page.on('console', (m) => console_.push(m.text()));
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => window.spikeReport !== undefined, null, { timeout: 30_000 });
    const report = await page.evaluate(() => window.spikeReport);
    out[isolated ? 'isolated (COOP same-origin, COEP require-corp)' : 'not isolated'] = { ...report, console: console_ };
    await page.close();
    server.close();
  }
} finally {
  await browser.close();
}
mkdirSync(new URL('../results/spike-threads/', import.meta.url), { recursive: true });
writeFileSync(new URL('../results/spike-threads/browser.json', import.meta.url), JSON.stringify(out, null, 2) + '\n');
console.log(JSON.stringify(out, null, 2));
