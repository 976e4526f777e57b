// Builds the backprop explorer into web-dist/: the page, its script and its training worker (bundled with
// the package from dist/, as an app would bundle it).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';

const out = process.argv[2] ?? 'web-dist';
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { demo: 'web/demo.ts', 'demo-worker': 'web/demo-worker.ts' },
  bundle: true,
  format: 'esm',
  target: 'es2022',
  outdir: out,
  logLevel: 'warning',
});
for (const file of ['index.html', 'favicon.svg']) copyFileSync(`web/${file}`, `${out}/${file}`);
console.log(`built the backprop explorer into ${out}/`);
