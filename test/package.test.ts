// The built package as users load it: ESM import and CommonJS require of dist/, both training.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '..');

async function trainXorLoss(lib: typeof import('../src/index')): Promise<number[]> {
  await lib.init();
  const net = new lib.Network([new lib.Linear(2, 8), new lib.Tanh(), new lib.Linear(8, 1), new lib.Sigmoid()], { seed: 1 });
  const loss = new lib.MSELoss();
  const opt = new lib.SGD(net.parameters(), { lr: 0.5, momentum: 0.9 });
  const x = [
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ],
    y = [[0], [1], [1], [0]];
  const losses = [];
  for (let i = 0; i < 300; i++) losses.push(net.trainStep(x, y, loss, opt));
  net.dispose();
  opt.dispose();
  return [losses[0], losses.at(-1)!];
}

describe('the built package', () => {
  it('ships dist/index.js, dist/index.cjs and dist/index.d.ts', () => {
    for (const file of ['dist/index.js', 'dist/index.cjs', 'dist/index.d.ts']) expect(existsSync(resolve(root, file))).toBe(true);
  });

  it('imports as ESM and learns XOR', async () => {
    const [first, last] = await trainXorLoss(await import(resolve(root, 'dist/index.js')));
    expect(last).toBeLessThan(0.02);
    expect(first).toBeGreaterThan(0.1);
  });

  it('requires as CommonJS (initSync too) and learns XOR', async () => {
    const lib = createRequire(import.meta.url)(resolve(root, 'dist/index.cjs'));
    lib.initSync();
    const [, last] = await trainXorLoss(lib);
    expect(last).toBeLessThan(0.02);
  });
});

describe('the published files', () => {
  it('npm pack ships the built entry points and types, not the sources or tests', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
    const files: string[] = JSON.parse(out)[0].files.map((f: { path: string }) => f.path);
    for (const f of ['dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/cjs/index.d.cts', 'README.md', 'package.json']) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => /^(src|test|assembly|build)\//.test(f))).toEqual([]);
  });
});
