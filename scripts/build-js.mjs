// Bundles the package: dist/index.js (ESM, with the relaxed-SIMD and threads cores split off as chunks of
// their own, fetched only when init({ simd, threads }) asks) and dist/index.cjs (CommonJS, which require()s
// them from dist/core-wasm-*.cjs only when asked, instead of embedding them).
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

/** The opt-in cores (relaxed SIMD, threads), each loaded only when init() asks for it. */
const OPTIONAL_CORES = ['core-wasm-relaxed', 'core-wasm-threads', 'core-wasm-threads-relaxed'];

/** In the CommonJS build, each optional core stays a separate file that the dynamic import require()s. */
const optionalCoresExternal = {
  name: 'optional-cores-external',
  setup(b) {
    b.onResolve({ filter: /generated\/core-wasm-[a-z-]+\.js$/ }, (args) => ({
      path: `./${args.path.split('/').pop().replace(/\.js$/, '.cjs')}`,
      external: true,
    }));
  },
};
await build({
  ...common,
  entryPoints: ['src/index.ts'],
  format: 'cjs',
  outfile: 'dist/index.cjs',
  plugins: [optionalCoresExternal],
});
for (const name of OPTIONAL_CORES) {
  await build({ ...common, entryPoints: [`src/generated/${name}.ts`], format: 'cjs', outfile: `dist/${name}.cjs` });
}
