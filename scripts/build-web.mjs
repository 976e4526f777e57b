// Builds the backprop explorer into web-dist/ (or the folder given): the page, its stylesheet, its script
// and its training worker (bundled with the package from dist/, as an app would bundle it).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';

const out = process.argv[2] ?? 'web-dist';
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { explorer: 'web/explorer.ts', worker: 'web/worker.ts' },
  bundle: true,
  format: 'esm',
  target: 'es2022',
  outdir: out,
  logLevel: 'warning',
  sourcemap: 'linked',
  minify: true,
});
for (const file of ['index.html', 'explorer.css', 'favicon.svg']) copyFileSync(`web/${file}`, `${out}/${file}`);
console.log(`built the backprop explorer into ${out}/`);
