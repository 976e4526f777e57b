// The package in a real browser (Debian's Chromium): bundled by esbuild, built by Vite, served by Vite's
// dev server, and imported as a plain <script type="module">, all with no configuration.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build as esbuild, transformSync } from 'esbuild';
import { build as viteBuild, createServer as viteServer } from 'vite';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, serve } from './browser/harness';
import { nodeDigest } from './determinism';

const root = resolve(__dirname, '..');
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

/** What test/browser/xor-page.ts leaves on the page. */
interface XorResult {
  error?: string;
  loss: number;
  workerLoss: number;
  workerOutput: number[];
  workerError: string;
  digest: string;
}
type PageWindow = { __result?: XorResult };

async function pageResult(url: string): Promise<XorResult> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForFunction(() => (window as unknown as PageWindow).__result !== undefined, null, { timeout: 60_000 });
  const result = await page.evaluate(() => (window as unknown as PageWindow).__result!);
  await page.close();
  expect(errors).toEqual([]);
  return result;
}

function expectXorLearned(result: XorResult, digest: string | null) {
  expect(result.error).toBeUndefined();
  expect(result.loss).toBeLessThan(0.05);
  expect(result.workerLoss).toBeLessThan(0.05);
  const [a, b, c, d] = result.workerOutput;
  expect(a).toBeLessThan(0.3);
  expect(b).toBeGreaterThan(0.7);
  expect(c).toBeGreaterThan(0.7);
  expect(d).toBeLessThan(0.3);
  expect(result.workerError).toMatch(/expected finite numbers in y, got NaN at y\[0\]/);
  if (digest !== null) expect(result.digest).toBe(digest); // the relaxed core need not be bit-identical
}

describe('in Chromium', () => {
  const work = mkdtempSync(join(tmpdir(), 'browser-'));
  const digest = nodeDigest();
  const html = (script: string) =>
    `<!doctype html><meta charset="utf-8"><title>xor</title><script type="module" src="${script}"></script>`;

  it('an esbuild bundle trains XOR on the page and in a Web Worker, bit-identical to Node', async () => {
    const out = join(work, 'esbuild');
    mkdirSync(out, { recursive: true });
    await esbuild({
      entryPoints: [join(root, 'test/browser/xor-page.ts')],
      bundle: true,
      format: 'esm',
      outfile: join(out, 'page.js'),
      logLevel: 'silent',
    });
    writeFileSync(join(out, 'index.html'), html('./page.js'));
    const server = await serve({ '/': out });
    try {
      expectXorLearned(await pageResult(server.url), digest);
      // Chromium runs relaxed SIMD unflagged: the opt-in core loads (split off as its own chunk) and trains
      await esbuild({
        entryPoints: [join(root, 'test/browser/xor-page.ts')],
        bundle: true,
        format: 'esm',
        splitting: true,
        outdir: join(out, 'split'),
        logLevel: 'silent',
      });
      writeFileSync(join(out, 'split/index.html'), html('./xor-page.js'));
      expectXorLearned(await pageResult(`${server.url}/split/?simd=relaxed`), null);
    } finally {
      await server.close();
    }
  });

  it('a plain <script type="module"> importing dist/index.js from a static folder', async () => {
    const out = join(work, 'plain');
    mkdirSync(out, { recursive: true });
    const { code } = transformSync(readFileSync(join(root, 'test/browser/xor-page.ts'), 'utf8'), { loader: 'ts', format: 'esm' });
    writeFileSync(join(out, 'page.js'), code.replace(/from ["']backprop-wasm["']/, "from '/pkg/index.js'"));
    writeFileSync(join(out, 'index.html'), html('./page.js'));
    const server = await serve({ '/pkg/': join(root, 'dist'), '/': out });
    try {
      expectXorLearned(await pageResult(server.url), digest);
    } finally {
      await server.close();
    }
  });

  it("a Vite production build and Vite's dev server", async () => {
    // an app with the package installed in its node_modules, as a user's would be
    const app = join(work, 'vite-app');
    mkdirSync(join(app, 'node_modules'), { recursive: true });
    symlinkSync(root, join(app, 'node_modules/backprop-wasm'), 'dir');
    copyFileSync(join(root, 'test/browser/xor-page.ts'), join(app, 'page.ts'));
    writeFileSync(join(app, 'index.html'), html('./page.ts'));
    await viteBuild({ root: app, logLevel: 'silent', build: { outDir: join(app, 'dist') }, configFile: false });
    const server = await serve({ '/': join(app, 'dist') });
    try {
      expectXorLearned(await pageResult(server.url), digest);
    } finally {
      await server.close();
    }
    const dev = await viteServer({ root: app, logLevel: 'silent', configFile: false, server: { host: '127.0.0.1', port: 0 } });
    await dev.listen();
    try {
      const address = dev.httpServer!.address() as { port: number };
      expectXorLearned(await pageResult(`http://127.0.0.1:${address.port}/`), digest);
    } finally {
      await dev.close();
    }
  });
});

describe('the backprop explorer page', () => {
  it('loads, trains in its worker with the loss falling, draws the backprop view, and is screenshotted', async () => {
    const out = mkdtempSync(join(tmpdir(), 'web-'));
    execFileSync(process.execPath, [join(root, 'scripts/build-web.mjs'), out], { cwd: root });
    const server = await serve({ '/': out });
    const page = await browser.newPage({ viewport: { width: 1000, height: 1100 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    try {
      await page.goto(server.url);
      await page.waitForFunction(() => Number(document.getElementById('network')!.dataset.rendered) > 0);
      await page.click('#start');
      await page.waitForFunction(() => Number(document.getElementById('status')!.dataset.step) > 300, null, { timeout: 30_000 });
      await page.click('#pause');
      await page.locator('#sample').fill('42');
      await page.waitForTimeout(300);
      const status: Record<string, string | undefined> = await page.$eval('#status', (el) => ({
        ...(el as HTMLElement).dataset,
        text: el.textContent ?? '',
      }));
      const network: Record<string, string | undefined> = await page.$eval('#network', (el) => ({
        ...(el as HTMLElement).dataset,
      }));
      expect(Number(status.loss)).toBeLessThan(Number(status.firstLoss) / 5);
      expect(Number(status.stepsPerSecond)).toBeGreaterThan(100);
      expect(Number(network.rendered)).toBeGreaterThan(2);
      expect(network.layers).toBe('2');
      mkdirSync(join(root, 'test-output'), { recursive: true });
      await page.screenshot({ path: join(root, 'test-output/backprop-explorer.png'), fullPage: true });
      console.log(`backprop explorer: ${status.text}`);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      await server.close();
    }
  });
});
