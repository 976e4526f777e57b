// The machine's own ceiling for two threads, measured beside the thread rows: bench/assembly/peak.ts's loop
// (registers and L1 only: the two threads share nothing but the machine) on two worker threads at once, their
// GFLOP/s summed, ÷ the same loop on one of them alone. Two free cores give ~2× (this 2-vCPU VM, quiet:
// 1.85–2.03×); a core that another process keeps busy, or two vCPUs that the host runs on one core's
// hyperthreads, give less — and then no program's 2 threads ÷ 1 thread can reach 2× either. (With a
// `node -e 'for(;;){}'` left running by mistake it read 1.04–1.5×: it is what caught that.)
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';

const SOURCE = `
const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads');
const peak = new WebAssembly.Instance(new WebAssembly.Module(workerData), {}).exports;
peak.peakMulAdd(100000, 0.999);
parentPort.on('message', (iterations) => {
  const started = performance.now();
  peak.peakMulAdd(iterations, 0.999);
  const seconds = (performance.now() - started) / 1000;
  parentPort.postMessage((iterations * peak.PEAK_FLOPS_PER_ITERATION.value) / seconds / 1e9);
});
`;

const median = (v) => [...v].sort((p, q) => p - q)[v.length >> 1];

/** Two threads' summed peak ÷ one thread's, median of `rounds` rounds (alone and paired alternating, each run
 *  ~`ms` long); also each round's ratio. */
export async function twoCoreCeiling({ rounds = 5, ms = 80 } = {}) {
  const module = readFileSync(new URL('../../build/peak.wasm', import.meta.url));
  const workers = [0, 1].map(() => new Worker(SOURCE, { eval: true, workerData: module }));
  const run = (worker, iterations) =>
    new Promise((resolve, reject) => {
      const done = (gflops) => {
        worker.off('error', fail);
        resolve(gflops);
      };
      const fail = (error) => {
        worker.off('message', done);
        reject(error);
      };
      worker.once('message', done);
      worker.once('error', fail);
      worker.postMessage(iterations);
    });
  try {
    const probe = 2_000_000;
    const rate = await run(workers[0], probe); // GFLOP/s: sizes the runs to ~ms each
    const iterations = Math.max(probe, Math.round((rate * 1e9 * (ms / 1000)) / 64 / 2) * 2);
    const ratios = [];
    for (let r = 0; r < rounds; r++) {
      const paired = async () => (await Promise.all(workers.map((w) => run(w, iterations)))).reduce((a, b) => a + b);
      let alone, both;
      if (r % 2) {
        both = await paired();
        alone = await run(workers[0], iterations);
      } else {
        alone = await run(workers[0], iterations);
        both = await paired();
      }
      ratios.push(both / alone);
    }
    return { ratio: median(ratios), rounds: ratios };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

// `node bench/peers/two-cores.mjs` (after `npm run bench:build`): this machine's ceiling now.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { ratio, rounds } = await twoCoreCeiling({ rounds: 9 });
  console.log(`two threads of the peak loop ÷ one: ${ratio.toFixed(2)}× (rounds: ${rounds.map((r) => r.toFixed(2)).join(', ')})`);
}
