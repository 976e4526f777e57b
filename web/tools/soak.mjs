// The explorer left training, as a user leaves it: builds the page, opens it in Debian's Chromium at
// 1440×900 and at 390×844 (one after the other), trains for a minute each and prints every 10 s the steps,
// steps/s, fps, the loss history's size, the worker's WASM memory and the live JS heaps of the page and
// the worker. Fails on any page error or if memory or the history keeps growing.
//   npm run build && node web/tools/soak.mjs [seconds=60] [query]
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve } from '../../scripts/static-server.mjs';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const seconds = Number(process.argv[2] ?? 60);
const query = process.argv[3] ?? '';
const out = mkdtempSync(join(tmpdir(), 'explorer-soak-'));
execFileSync(process.execPath, [join(root, 'scripts/build-web.mjs'), out], { cwd: root, stdio: 'inherit' });
const server = await serve({ '/': out }, 0, { isolated: true });
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu'],
});
let failed = false;

/** The live JS heaps of the page and of its training worker after a garbage collection, read over the
 *  DevTools protocol (a heap read without one mostly shows how late the collector runs). */
async function watchHeaps(page) {
  const cdp = await page.context().newCDPSession(page);
  let session = null,
    next = 1;
  const waiting = new Map();
  cdp.on('Target.attachedToTarget', (e) => {
    if (e.targetInfo.type === 'worker') session = e.sessionId;
  });
  cdp.on('Target.receivedMessageFromTarget', (e) => {
    const message = JSON.parse(e.message);
    waiting.get(message.id)?.(message.result?.usedSize ?? message.result ?? null);
    waiting.delete(message.id);
  });
  await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
  const inWorker = (method) =>
    new Promise((resolve) => {
      if (!session) return resolve(null);
      const id = next++;
      waiting.set(id, resolve);
      cdp
        .send('Target.sendMessageToTarget', { sessionId: session, message: JSON.stringify({ id, method }) })
        .catch(() => resolve(null));
      setTimeout(() => {
        if (waiting.delete(id)) resolve(null);
      }, 5000);
    });
  return async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    const page = (await cdp.send('Runtime.getHeapUsage')).usedSize;
    await inWorker('HeapProfiler.collectGarbage');
    return { page, worker: await inWorker('Runtime.getHeapUsage') };
  };
}
try {
  for (const [width, height] of [
    [1440, 900],
    [390, 844],
  ]) {
    const page = await browser.newPage({ viewport: { width, height } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    const heaps = await watchHeaps(page);
    await page.goto(`${server.url}/?${query}`);
    await page.waitForFunction(() => window.__explorer?.ready === true);
    await page.click('#run');
    const samples = [];
    for (let t = 10; t <= seconds; t += 10) {
      await page.waitForTimeout(10_000);
      const s = await page.evaluate(() => {
        const e = window.__explorer;
        return {
          step: e.step,
          stepsPerSecond: Math.round(e.stepsPerSecond),
          fps: Math.round(e.fps * 10) / 10,
          history: e.history.length,
          wasmBytes: e.wasmBytes,
          running: e.running,
          error: e.errorShown,
        };
      });
      const heap = await heaps();
      s.pageHeap = heap.page;
      s.workerHeap = heap.worker;
      samples.push(s);
      const mb = (b) => (b === null ? '–' : `${(b / 1e6).toFixed(1)} MB`);
      console.log(
        `${width}px ${String(t).padStart(3)} s: step ${s.step.toLocaleString('en-US')}, ${s.stepsPerSecond.toLocaleString('en-US')} steps/s, ` +
          `${s.fps} fps, history ${s.history} points, worker WASM ${mb(s.wasmBytes)}, page heap ${mb(s.pageHeap)}, worker heap ${mb(s.workerHeap)}`,
      );
    }
    await page.click('#run');
    const first = samples[0],
      last = samples.at(-1);
    const problems = [...errors];
    if (!last.running && last.error) problems.push(`training stopped: ${last.error}`);
    if (last.wasmBytes > first.wasmBytes) problems.push(`the worker's WASM memory grew: ${first.wasmBytes} → ${last.wasmBytes}`);
    if (last.history > 1100) problems.push(`the loss history holds ${last.history} points`);
    if (first.pageHeap && last.pageHeap > 1.5 * first.pageHeap + 2e6)
      problems.push(`the page's live heap grew: ${first.pageHeap} → ${last.pageHeap}`);
    if (first.workerHeap && last.workerHeap > 1.5 * first.workerHeap + 2e6)
      problems.push(`the worker's live heap grew: ${first.workerHeap} → ${last.workerHeap}`);
    console.log(
      problems.length ? `${width}px: FAILED\n  ${problems.join('\n  ')}` : `${width}px: no errors; memory and history bounded`,
    );
    failed ||= problems.length > 0;
    await page.close();
  }
} finally {
  await browser.close();
  await server.close();
}
process.exit(failed ? 1 : 0);
