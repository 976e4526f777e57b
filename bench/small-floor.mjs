// W4's training step against its floor: bench/assembly/w4-floor.ts (the same step written by hand for this one
// shape) beside the library's fit() (4096 one-row batches in one call) and trainStep() (one call per row), and
// the tight plain-JS MLP, interleaved in one process. Prints ns per step (10th percentile and median over the
// trials) and, per trial, the library's time ÷ the floor's. Usage after `npm run build && npm run bench:build`:
//   node bench/small-floor.mjs [trials=30]
import { readFileSync } from 'node:fs';
import { Linear, MSELoss, Network, SGD, Sigmoid, init } from '../dist/index.js';
import { TightMlp } from './peers/tight.mjs';

const TRIALS = Number(process.argv[2] ?? 30);
const LR = 0.5;
await init();
const floor = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(new URL('../build/w4-floor.wasm', import.meta.url))), {
  env: { abort() {} },
}).exports;
const rows = floor.STEPS_PER_EPOCH.value;
const xor = [
  [0, 0, 0],
  [1, 0, 1],
  [0, 1, 1],
  [1, 1, 0],
]; // floor.reset()'s row order
const x = Float32Array.from({ length: rows * 2 }, (_, i) => xor[(i >> 1) % 4][i & 1]);
const y = Float32Array.from({ length: rows }, (_, r) => xor[r % 4][2]);
const samples = xor.map(([a, b, t]) => [Float32Array.of(a, b), Float32Array.of(t)]);

function library() {
  const net = new Network([new Linear(2, 8), new Sigmoid(), new Linear(8, 1), new Sigmoid()], { seed: 1 });
  return { net, optimizer: new SGD(net.parameters(), { lr: LR }), loss: new MSELoss() };
}
const forFit = library(),
  forStep = library();
const tight = new TightMlp([2, 8, 1], { hidden: 'sigmoid', output: 'sigmoid' });

/** ns per step of each way, one epoch of `rows` steps. */
const ways = {
  floor: () => {
    if (floor.epoch(LR) < 0) throw new Error('the floor diverged');
  },
  fit: () => forFit.net.fit(x, y, { loss: forFit.loss, optimizer: forFit.optimizer, batchSize: 1, epochs: 1, shuffle: false }),
  trainStep: () => {
    for (let i = 0; i < rows; i++) forStep.net.trainStep(samples[i & 3][0], samples[i & 3][1], forStep.loss, forStep.optimizer);
  },
  'tight JS': () => {
    for (let i = 0; i < rows; i++) tight.trainStep(samples[i & 3][0], samples[i & 3][1], 1, 'mse', LR);
  },
};
const names = Object.keys(ways);
const times = Object.fromEntries(names.map((n) => [n, []]));
floor.reset();
for (const n of names) await ways[n](); // warm-up
for (let t = 0; t < TRIALS; t++) {
  for (const n of t % 2 ? [...names].reverse() : names) {
    const started = performance.now();
    await ways[n]();
    times[n].push(((performance.now() - started) * 1e6) / rows);
  }
}
const quantile = (v, q) => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) * q)];
console.log(
  `W4 step, ns (${TRIALS} interleaved trials of ${rows} steps; 10th percentile, median; per-trial ratio to the floor: median)`,
);
for (const n of names) {
  const ratio = times[n].map((v, i) => v / times.floor[i]);
  console.log(
    `${n.padEnd(10)} ${quantile(times[n], 0.1).toFixed(0).padStart(6)} ${quantile(times[n], 0.5).toFixed(0).padStart(6)}   ${quantile(ratio, 0.5).toFixed(2)}× the floor`,
  );
}
for (const s of [forFit, forStep]) {
  s.net.dispose();
  s.optimizer.dispose();
}
