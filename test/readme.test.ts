// Every TypeScript/JavaScript code block of README.md runs as pasted, against the built package: each block
// becomes a module that imports what it names from the package and gets the data it uses but does not
// define (a network, x, labels, …) from a small preamble of fixtures.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transformSync } from 'esbuild';
import { describe, expect, it } from 'vitest';
import * as lib from '../src/index';

const root = resolve(__dirname, '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```(ts|js|typescript|javascript)\n([\s\S]*?)```/g)].map((m) => m[2]);
const pkg = pathToFileURL(join(root, 'dist/index.js')).href;

/** Data the README's snippets use without defining it, as a user's program would have it. */
const FIXTURES: Record<string, string> = {
  x: 'const x = Float32Array.from({ length: 96 * 2 }, (_, i) => Math.sin(i * 1.7));',
  labels: 'const labels = Int32Array.from({ length: 96 }, (_, i) => i % 3);',
  testX: 'const testX = Float32Array.from({ length: 30 * 2 }, (_, i) => Math.cos(i));',
  testY: 'const testY = Int32Array.from({ length: 30 }, (_, i) => i % 3);',
  bigX: 'const bigX = Float32Array.from({ length: 5000 * 2 }, (_, i) => Math.sin(i));',
  net: 'const net = new Network([new Linear(2, 16), new ReLU(), new Linear(16, 3)], { seed: 1 });',
  optimizer: 'const optimizer = new SGD(net.parameters(), { lr: 0.05, momentum: 0.9 });',
  abortController: 'const abortController = new AbortController();',
  signal: 'const signal = new AbortController().signal;',
  bytesFromPyTorch:
    'const bytesFromPyTorch = new Network([new Linear(2, 16), new ReLU(), new Linear(16, 3)], { seed: 2 }).save();',
};
/** Fixtures that others need first. */
const NEEDS: Record<string, string[]> = { optimizer: ['net'], bytesFromPyTorch: [] };

function declared(code: string): Set<string> {
  const names = new Set<string>();
  for (const [, list] of code.matchAll(/(?:const|let|var|import)\s*\{([^}]*)\}/g)) {
    for (const part of list.split(',')) {
      const name = part
        .split(/:| as /)
        .pop()!
        .trim();
      if (name) names.add(name);
    }
  }
  for (const [, name] of code.matchAll(/(?:const|let|var|function|class)\s+([A-Za-z_$][\w$]*)/g)) names.add(name);
  return names;
}

/** The block as a module: its imports of the package pointed at dist/, the rest of the package's exports
 *  it uses imported too, and the fixtures it uses but does not define. */
function asModule(block: string): string {
  const own = declared(block);
  // names in code, not in comments or strings
  const code = block.replace(/\/\/.*$/gm, '').replace(/'[^'\n]*'|"[^"\n]*"/g, "''");
  const used = new Set(code.match(/[A-Za-z_$][\w$]*/g));
  const exports = Object.keys(lib).filter((name) => used.has(name) && !own.has(name));
  const fixtures: string[] = [];
  const add = (name: string) => {
    if (own.has(name) || fixtures.includes(name)) return;
    (NEEDS[name] ?? []).forEach(add);
    fixtures.push(name);
  };
  Object.keys(FIXTURES)
    .filter((name) => used.has(name))
    .forEach(add);
  const body = block.replace(/from ['"]backprop-wasm['"]/g, `from '${pkg}'`);
  const preamble = [
    exports.length ? `import { ${exports.join(', ')} } from '${pkg}';` : '',
    `import { init as __init, Network as __N, Linear as __L, ReLU as __R, SGD as __S } from '${pkg}';`,
    'await __init();',
    `const [Network_, Linear_, ReLU_, SGD_] = [__N, __L, __R, __S];`,
    ...fixtures.map((name) =>
      FIXTURES[name]
        .replace(/\bNetwork\b/g, 'Network_')
        .replace(/\bLinear\b/g, 'Linear_')
        .replace(/\bReLU\b/g, 'ReLU_')
        .replace(/\bSGD\b/g, 'SGD_'),
    ),
  ];
  return `${preamble.join('\n')}\n${body}`;
}

describe('README.md', () => {
  it('has code blocks to run', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(4);
  });
  blocks.forEach((block, k) => {
    it(`code block ${k + 1} runs as pasted: ${block.split('\n')[0].slice(0, 70)}`, async () => {
      const { code } = transformSync(asModule(block), { loader: 'ts', format: 'esm' });
      const file = join(mkdtempSync(join(tmpdir(), 'readme-')), `block-${k + 1}.mjs`);
      writeFileSync(file, code);
      await expect(import(pathToFileURL(file).href)).resolves.toBeDefined();
    }, 60_000);
  });
});
