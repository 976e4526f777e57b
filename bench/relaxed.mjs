// npm run bench:relaxed: the GEMM kernels of the relaxed-SIMD core (f32x4.relaxed_madd, one fused
// multiply-add where the CPU has it) against the plain SIMD core, interleaved in one run, on the test builds
// (which export the kernels). Needs `node --experimental-wasm-relaxed-simd` on Node 20 (the npm script passes
// it). Relaxed madd may or may not fuse depending on the CPU, so its results are not bit-identical across
// machines: the package loads the relaxed core only when init({ simd: 'relaxed' }) asks for it.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import b from 'benny';

const REPS = Number(process.env.BENCH_REPS ?? 3);
const load = async (file) =>
  (await WebAssembly.instantiate(readFileSync(new URL(`../build/${file}`, import.meta.url)), {})).instance.exports;
const builds = { 'plain SIMD': await load('backprop-test.wasm'), 'relaxed SIMD': await load('backprop-test-relaxed.wasm') };
const median = (v) => {
  const s = [...v].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const rows = [];
for (let rep = 0; rep < REPS; rep++) {
  for (const [m, k, n] of [
    [64, 784, 128],
    [128, 512, 256],
    [256, 256, 256],
  ]) {
    for (const [build, core] of Object.entries(builds)) {
      const x = core.alloc(m * k * 4),
        w = core.alloc(n * k * 4),
        z = core.alloc(m * n * 4),
        gx = core.alloc(m * k * 4),
        gw = core.alloc(n * k * 4);
      const heap = new Float32Array(core.memory.buffer);
      for (let i = 0; i < m * k; i++) heap[x / 4 + i] = Math.sin(i);
      for (let i = 0; i < n * k; i++) heap[w / 4 + i] = Math.cos(i);
      for (let i = 0; i < m * n; i++) heap[z / 4 + i] = Math.sin(3 * i);
      for (const [kernel, fn] of [
        ['forward X·Wᵀ', () => core.linearForward(x, w, 0, z, m, k, n)],
        ['dX = dZ·W', () => core.linearBackwardInput(z, w, gx, m, k, n)],
        ['dW += dZᵀ·X', () => core.linearBackwardParams(z, x, gw, 0, m, k, n, 1)],
      ]) {
        let ops = 0;
        await b.suite(
          'relaxed',
          b.add(kernel, fn, { minSamples: 5, maxTime: 0.5 }),
          b.complete((s) => {
            ops = s.results[0].ops;
          }),
        );
        const key = `${m}×${k}×${n} ${kernel}`;
        let row = rows.find((r) => r.key === key);
        if (!row) rows.push((row = { key, values: {} }));
        (row.values[build] ??= []).push((2 * m * k * n * ops) / 1e9);
      }
      [x, w, z, gx, gw].forEach((p) => core.free(p));
    }
  }
}
const lines = [
  `GEMM GFLOP/s, plain vs relaxed SIMD (${REPS} interleaved repetitions, median; ${new Date().toISOString().slice(0, 10)}, Node ${process.version})`,
  '',
  '| shape and kernel | plain SIMD | relaxed SIMD | relaxed / plain |',
  '|---|---:|---:|---:|',
];
for (const r of rows) {
  const plain = median(r.values['plain SIMD']),
    relaxed = median(r.values['relaxed SIMD']);
  lines.push(`| ${r.key} | ${plain.toFixed(1)} | ${relaxed.toFixed(1)} | ${(relaxed / plain).toFixed(2)} |`);
}
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/relaxed.md', import.meta.url), lines.join('\n') + '\n');
writeFileSync(new URL('./results/relaxed.json', import.meta.url), JSON.stringify(rows, null, 2) + '\n');
const readmeUrl = new URL('../README.md', import.meta.url);
writeFileSync(
  readmeUrl,
  readFileSync(readmeUrl, 'utf8').replace(
    /<!-- bench-relaxed:start -->[\s\S]*<!-- bench-relaxed:end -->/,
    `<!-- bench-relaxed:start -->\n${lines.join('\n')}\n<!-- bench-relaxed:end -->`,
  ),
);
console.log(lines.join('\n'));
