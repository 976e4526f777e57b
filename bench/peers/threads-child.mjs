// A backprop-wasm peer in its own Node process, so it can init() with threads (and relaxed SIMD) while the
// bench's own process keeps the single-thread core. One JSON request per line on stdin, one answer per line
// on stdout (as bench/peers/torch_peer.py): { cmd: 'info' } or { cmd: 'measure', sizes, lr, batch, rows, x, y,
// warmupRuns, minRuns, minSeconds } → { rate } in samples/s of fit() epochs.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { CrossEntropyLoss, Linear, Network, Relu, SGD, init, threadsInfo } from '../../dist/index.js';

const threads = Number(process.env.BENCH_THREADS ?? 1);
const simd = process.env.BENCH_SIMD ?? 'plain';
await init({ threads, simd });

const floats = (path) => {
  const b = readFileSync(path);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};
const ints = (path) => {
  const b = readFileSync(path);
  return new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};

async function measure({ sizes, lr, batch, rows, x, y, warmupRuns, minRuns, minSeconds }) {
  const layers = sizes
    .slice(1)
    .flatMap((out, k) => (k < sizes.length - 2 ? [new Linear(sizes[k], out), new Relu()] : [new Linear(sizes[k], out)]));
  const net = new Network(layers, { seed: 1 });
  const optimizer = new SGD(net.parameters(), { lr });
  const loss = new CrossEntropyLoss();
  const data = { x: floats(x), labels: ints(y) };
  const epoch = () => net.fit(data.x, data.labels, { loss, optimizer, batchSize: batch, epochs: 1, shuffle: true });
  try {
    for (let i = 0; i < warmupRuns; i++) await epoch();
    const started = performance.now();
    let runs = 0;
    while (runs < minRuns || (performance.now() - started) / 1000 < minSeconds) {
      await epoch();
      runs++;
    }
    return { rate: (rows * runs) / ((performance.now() - started) / 1000) };
  } finally {
    net.dispose();
    optimizer.dispose();
  }
}

for await (const line of createInterface({ input: process.stdin })) {
  const request = JSON.parse(line);
  let answer;
  try {
    answer = request.cmd === 'info' ? { ...threadsInfo(), simd } : await measure(request);
  } catch (error) {
    answer = { error: String(error?.stack ?? error) };
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
}
