// The GEMMs of a Linear layer on the threads build, 1 thread vs N, interleaved in one process (the pool's
// thread count is switched between trials): where threads pay, per product. Usage after `npm run bench:build`:
//   node bench/threads-gemm.mjs [threads=2] [trials=15]
// ADAPTIVE=0 turns the pool's measuring off (every product that is split runs on the pool: what the pool
// itself gives); ONLY=<text> keeps the products whose name contains it. Each line ends with the share of
// that product's calls the pool ran alone (its back-off: assembly/pool.ts).
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

const THREADS = Number(process.argv[2] ?? 2);
const TRIALS = Number(process.argv[3] ?? 15);
const module = new WebAssembly.Module(readFileSync(new URL('../build/backprop-threads-test.wasm', import.meta.url)));
const memory = new WebAssembly.Memory({ initial: 64, maximum: 65536, shared: true });
const env = { memory, now: () => performance.now() };
const core = new WebAssembly.Instance(module, { env }).exports;
const source = `const { parentPort, workerData: d } = require('node:worker_threads');
const { exports } = new WebAssembly.Instance(d.module, { env: { memory: d.memory, now: () => performance.now() } });
parentPort.postMessage('ready'); exports.workerLoop(d.index, 20000);`;
const workers = [];
for (let index = 1; index < THREADS; index++) {
  const w = new Worker(source, { eval: true, workerData: { module, memory, index } });
  await new Promise((r) => w.once('message', r));
  w.unref();
  workers.push(w);
}
const scratch = Math.ceil(core.alloc(core.poolScratchBytes(THREADS) + 64) / 64) * 64;
const use = (n) => core.poolConfigure(n, scratch, 1, 5000);
if (process.env.ADAPTIVE === '0') core.poolSetAdaptive(0);

function block(floats) {
  const p = core.alloc(floats * 4);
  const v = new Float32Array(memory.buffer, p, floats);
  for (let i = 0; i < floats; i++) v[i] = Math.sin(i * 0.37) * 0.5;
  return p;
}
const RELU = 2;
function cases(batch, inF, outF) {
  const x = block(batch * inF),
    w = block(outF * inF),
    b = block(outF),
    z = block(batch * outF),
    a = block(batch * outF);
  const gz = block(batch * outF),
    gx = block(batch * inF),
    gw = block(outF * inF);
  const mflop = (2 * batch * inF * outF) / 1e6;
  return [
    [
      `forward ${batch}×${inF}→${outF}`,
      mflop,
      () =>
        core.linearForwardActivated?.(x, w, b, z, a, batch, inF, outF, RELU, 0) ??
        core.linearForward(x, w, b, z, batch, inF, outF),
    ],
    [`dX ${outF}→${inF}`, mflop, () => core.linearBackwardInput(gz, w, gx, batch, inF, outF)],
    [`dW ${inF}→${outF} (overwrite)`, mflop, () => core.linearBackwardParams(gz, x, gw, 0, batch, inF, outF, 0)],
    [`dW ${inF}→${outF} (accumulate)`, mflop, () => core.linearBackwardParams(gz, x, gw, 0, batch, inF, outF, 1)],
  ];
}
const all = [
  ...cases(128, 256, 512),
  ...cases(128, 512, 512),
  ...cases(128, 512, 10),
  ...cases(64, 784, 128),
  ...cases(64, 128, 10),
  ...cases(64, 256, 64),
  ...cases(64, 2048, 2048),
];
const median = (v) => [...v].sort((p, q) => p - q)[v.length >> 1];
function time(fn, mflop) {
  const reps = Math.max(3, Math.ceil(40 / mflop));
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) fn();
  return (mflop * reps) / (performance.now() - t0); // MFLOP/ms = GFLOP/s
}
console.log(
  `threads-gemm: 1 vs ${THREADS} threads, ${TRIALS} interleaved trials (GFLOP/s medians; ratio per trial: median, min–max)`,
);
for (const [name, mflop, fn] of all.filter(([name]) => name.includes(process.env.ONLY ?? ''))) {
  const [alone0, pooled0] = [core.poolStats(0), core.poolStats(1)];
  const one = [],
    many = [],
    ratio = [];
  use(1);
  fn();
  use(THREADS);
  fn();
  for (let t = 0; t < TRIALS; t++) {
    const order = t % 2 ? [1, THREADS] : [THREADS, 1];
    const got = {};
    for (const n of order) {
      use(n);
      got[n] = time(fn, mflop);
    }
    one.push(got[1]);
    many.push(got[THREADS]);
    ratio.push(got[THREADS] / got[1]);
  }
  const r = [...ratio].sort((p, q) => p - q);
  const [alone, pooled] = [core.poolStats(0) - alone0, core.poolStats(1) - pooled0];
  console.log(
    `${name.padEnd(30)} ${mflop.toFixed(2).padStart(7)} MFLOP  1t ${median(one).toFixed(1).padStart(5)}  ${THREADS}t ${median(many).toFixed(1).padStart(5)}  ${median(ratio).toFixed(2)}× (${r[0].toFixed(2)}–${r[r.length - 1].toFixed(2)})` +
      (alone + pooled ? `  alone ${Math.round((100 * alone) / (alone + pooled))} %` : ''),
  );
}
core.poolQuit();
