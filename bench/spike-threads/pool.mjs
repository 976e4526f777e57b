// SPIKE: starting and stopping the pool in Node (worker_threads over one shared WebAssembly.Memory).
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

export const PAGES = { initial: 64, maximum: 16384 };

export async function compile(build = 'pool-zeroed') {
  return WebAssembly.compile(readFileSync(new URL(`./build/${build}.wasm`, import.meta.url)));
}

/** threads − 1 workers plus the caller's instance; resolves when every worker is parked. */
export async function startPool(threads, { spin = 20000, build = 'pool-zeroed', module } = {}) {
  module ??= await compile(build);
  const memory = new WebAssembly.Memory({ ...PAGES, shared: true });
  const main = (await WebAssembly.instantiate(module, { env: { memory } })).exports;
  const workers = [];
  for (let index = 1; index < threads; index++) {
    const worker = new Worker(new URL('./worker.mjs', import.meta.url), { workerData: { module, memory, index, spin } });
    await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    workers.push(worker);
  }
  return {
    main,
    memory,
    module,
    threads,
    async close() {
      const quits = workers.map((w) => new Promise((resolve) => w.once('exit', resolve)));
      main.poolQuit();
      await Promise.all(quits);
    },
  };
}

/** A Float32Array view of `count` floats at `ptr` (views are re-made after memory growth). */
export const f32 = (memory, ptr, count) => new Float32Array(memory.buffer, ptr, count);
