// The README's API tour runs as written, against the built package.
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transformSync } from 'esbuild';
import { expect, it } from 'vitest';

const root = resolve(__dirname, '..');

it('the API tour in README.md runs', async () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const tour = readme.split('## API tour')[1].match(/```ts\n([\s\S]*?)```/)![1];
  const { code } = transformSync(tour, { loader: 'ts', format: 'esm' });
  const file = join(mkdtempSync(join(tmpdir(), 'readme-')), 'tour.mjs');
  const pkg = pathToFileURL(join(root, 'dist/index.js')).href;
  writeFileSync(
    file,
    code.replace("from 'backprop-wasm'", `from '${pkg}'`).replace('from "backprop-wasm"', `from '${pkg}'`) +
      '\nexport { loss, dx, l, y };\n',
  );
  const result = await import(pathToFileURL(file).href);
  expect(Number.isFinite(result.loss)).toBe(true);
  expect(Number.isFinite(result.l)).toBe(true);
  expect(result.dx).toHaveLength(3);
  expect(result.y).toHaveLength(3);
});
