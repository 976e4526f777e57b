// init({ threads }) in Chromium: on a cross-origin-isolated page the pool runs in Web Workers (the page's
// main thread spins where it may not wait) and every float matches the single-thread core in Node; on a page
// that is not isolated the core falls back to one thread, says why, and still matches.
import { runModule } from './node-child';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, serve } from './browser/harness';

const root = resolve(__dirname, '..');
let browser: Browser;
let reference: Record<string, string>;

interface SuiteResult {
  error?: string;
  results: Record<string, string>;
  info: { requested: number; active: number; reason: string | null };
  isolated: boolean;
}

beforeAll(async () => {
  browser = await launchChromium();
  const script = `
    import * as lib from ${JSON.stringify(join(root, 'dist/index.js'))};
    import { runSuite } from ${JSON.stringify(join(root, 'test/threads/suite.mjs'))};
    await lib.init();
    console.log(JSON.stringify(await runSuite(lib)));`;
  reference = JSON.parse(runModule(script)).results;
}, 120_000);
afterAll(async () => {
  await browser?.close();
});

const page = mkdtempSync(join(tmpdir(), 'browser-threads-'));
writeFileSync(
  join(page, 'index.html'),
  `<!doctype html><meta charset="utf-8"><title>threads</title><script type="module">
    import * as lib from '/pkg/index.js';
    import { runSuite } from '/suite/suite.mjs';
    const threads = Number(new URLSearchParams(location.search).get('threads'));
    try {
      await lib.init({ threads });
      window.__result = { ...(await runSuite(lib)), isolated: crossOriginIsolated };
    } catch (error) {
      window.__result = { error: String(error && error.stack || error) };
    }
  </script>`,
);

async function suiteOnPage(isolated: boolean, threads: number): Promise<SuiteResult> {
  const server = await serve({ '/pkg/': join(root, 'dist'), '/suite/': join(root, 'test/threads'), '/': page }, 0, { isolated });
  try {
    const tab = await browser.newPage();
    const errors: string[] = [];
    tab.on('pageerror', (e) => errors.push(String(e)));
    await tab.goto(`${server.url}/?threads=${threads}`);
    await tab.waitForFunction(() => (window as unknown as { __result?: unknown }).__result !== undefined, null, {
      timeout: 100_000,
    });
    const result = await tab.evaluate(() => (window as unknown as { __result: SuiteResult }).__result);
    await tab.close();
    expect(errors).toEqual([]);
    expect(result.error).toBeUndefined();
    return result;
  } finally {
    await server.close();
  }
}

describe('threads in Chromium', () => {
  it('a cross-origin-isolated page runs 2 threads in Web Workers, bit-identical to one thread in Node', async () => {
    const result = await suiteOnPage(true, 2);
    expect(result.isolated).toBe(true);
    expect(result.info).toEqual({ requested: 2, active: 2, reason: null });
    expect(result.results).toEqual(reference);
  }, 120_000);

  it('a page that is not isolated falls back to one thread, says why, and gives the same bits', async () => {
    const result = await suiteOnPage(false, 2);
    expect(result.isolated).toBe(false);
    expect(result.info).toMatchObject({
      requested: 2,
      active: 1,
      reason: expect.stringMatching(/not cross-origin isolated.*COOP|Cross-Origin-Opener-Policy/),
    });
    expect(result.results).toEqual(reference);
  }, 120_000);
});
