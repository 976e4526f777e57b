// The built package as users load it: ESM import and CommonJS require of dist/, both training.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
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

  /** The package as npm would publish it (already built: the tarball is packed without running prepare). */
  function tarball(): string {
    const dir = mkdtempSync(join(tmpdir(), 'pack-'));
    const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], {
      cwd: root,
      encoding: 'utf8',
    });
    return join(dir, JSON.parse(out)[0].filename);
  }

  it('types resolve in every module system (@arethetypeswrong/cli) and the package lints clean (publint --strict)', () => {
    const file = tarball();
    const bin = (name: string) => join(root, 'node_modules/.bin', name);
    // attw exits non-zero on any problem; its JSON names them
    const attw = JSON.parse(execFileSync(bin('attw'), [file, '--format', 'json'], { encoding: 'utf8' }));
    expect(attw.problems ?? {}).toEqual({});
    expect(Object.keys(attw.analysis.entrypoints)).toContain('.');
    const publint = execFileSync(bin('publint'), ['run', file, '--strict'], { encoding: 'utf8' });
    expect(publint).toMatch(/All good!/);
  });

  it('ships no inlined WASM or worker source in the declarations, and CommonJS loads the relaxed core only on demand', () => {
    const declarations = [
      'dist/generated/core-wasm.d.ts',
      'dist/generated/core-wasm-relaxed.d.ts',
      'dist/generated/worker-source.d.ts',
    ];
    for (const file of declarations) expect(readFileSync(resolve(root, file), 'utf8').length, file).toBeLessThan(200);
    const cjs = readFileSync(resolve(root, 'dist/index.cjs'), 'utf8');
    expect(cjs).not.toMatch(/coreWasmRelaxedBase64\s*=\s*["']/);
    expect(cjs).toMatch(/core-wasm-relaxed\.cjs/);
  });
});
