// Bundles the package: dist/index.js (ESM, with the relaxed-SIMD core split off as its own chunk, fetched
// only by init({ simd: 'relaxed' })) and dist/index.cjs (CommonJS, which require()s the relaxed core from
// dist/core-wasm-relaxed.cjs only when asked, instead of embedding it).
import { build } from 'esbuild';

const common = { bundle: true, platform: 'neutral', target: 'es2022', logLevel: 'warning' };
await build({
  ...common,
  entryPoints: ['src/index.ts'],
  format: 'esm',
  splitting: true,
  outdir: 'dist',
  entryNames: 'index',
  chunkNames: 'chunks/[name]-[hash]',
});

/** In the CommonJS build, the relaxed core stays a separate file that the dynamic import require()s. */
const relaxedCoreExternal = {
  name: 'relaxed-core-external',
  setup(b) {
    b.onResolve({ filter: /generated\/core-wasm-relaxed\.js$/ }, () => ({ path: './core-wasm-relaxed.cjs', external: true }));
  },
};
await build({
  ...common,
  entryPoints: ['src/index.ts'],
  format: 'cjs',
  outfile: 'dist/index.cjs',
  plugins: [relaxedCoreExternal],
});
await build({
  ...common,
  entryPoints: ['src/generated/core-wasm-relaxed.ts'],
  format: 'cjs',
  outfile: 'dist/core-wasm-relaxed.cjs',
});
