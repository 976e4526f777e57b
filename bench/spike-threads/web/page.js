// SPIKE (g): what a page can do with a shared WebAssembly.Memory, isolated (COOP/COEP) or not.
const report = { crossOriginIsolated: self.crossOriginIsolated, sharedArrayBufferGlobal: typeof SharedArrayBuffer };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function run() {
  let memory;
  try {
    memory = new WebAssembly.Memory({ initial: 64, maximum: 16384, shared: true });
    report.createSharedMemory = 'ok';
    report.bufferIsShared = Object.prototype.toString.call(memory.buffer);
  } catch (e) {
    report.createSharedMemory = `${e.name}: ${e.message}`;
    return;
  }
  // post it to a worker
  const worker = new Worker('./worker.js', { type: 'module' });
  const reply = new Promise((resolve) => {
    worker.onmessage = (e) => resolve(e.data);
    worker.onmessageerror = () => resolve({ messageerror: true });
    worker.onerror = (e) => resolve({ error: e.message });
  });
  try {
    worker.postMessage({ kind: 'memory', memory });
    report.postMessage = 'ok';
  } catch (e) {
    report.postMessage = `${e.name}: ${e.message}`;
  }
  report.workerReply = await Promise.race([reply, sleep(3000).then(() => 'no reply in 3 s')]);
  if (report.postMessage !== 'ok' || typeof report.workerReply !== 'object' || !report.workerReply.received) return;
  const i32 = new Int32Array(memory.buffer);
  report.workerWriteVisible = Atomics.load(i32, 0) === 42;
  try {
    Atomics.wait(i32, 1, 0, 10);
    report.mainThreadAtomicsWait = 'allowed';
  } catch (e) {
    report.mainThreadAtomicsWait = `${e.name}: ${e.message}`;
  }
  // the main thread may spin: wait for the worker to set i32[2] = 1 about 50 ms after it is asked
  worker.postMessage({ kind: 'flag-later' });
  const started = performance.now();
  let spins = 0;
  while (Atomics.load(i32, 2) !== 1 && performance.now() - started < 2000) spins++;
  report.mainThreadSpin = { sawFlag: Atomics.load(i32, 2) === 1, ms: Math.round(performance.now() - started), spins };
  worker.terminate();
  // the pool itself: pool-zeroed.wasm on this thread (the caller, spinning) and one worker (parked in workerLoop)
  try {
    const module = await WebAssembly.compileStreaming(fetch('./pool-zeroed.wasm'));
    const poolMemory = new WebAssembly.Memory({ initial: 64, maximum: 16384, shared: true });
    const main = (await WebAssembly.instantiate(module, { env: { memory: poolMemory } })).exports;
    const poolWorker = new Worker('./worker.js', { type: 'module' });
    const ready = new Promise((resolve) => {
      poolWorker.onmessage = (e) => resolve(e.data);
    });
    poolWorker.postMessage({ kind: 'pool', module, memory: poolMemory });
    report.poolWorker = await Promise.race([ready, sleep(5000).then(() => 'no reply in 5 s')]);
    const [m, n, k] = [128, 512, 512];
    const a = main.alloc(m * k * 4),
      b = main.alloc(k * n * 4),
      c1 = main.alloc(m * n * 4),
      c2 = main.alloc(m * n * 4);
    const f = new Float32Array(poolMemory.buffer);
    for (let i = 0; i < m * k; i++) f[a / 4 + i] = Math.sin(i);
    for (let i = 0; i < k * n; i++) f[b / 4 + i] = Math.cos(i);
    const time = (fn) => {
      fn();
      const t = performance.now();
      for (let i = 0; i < 20; i++) fn();
      return (performance.now() - t) / 20;
    };
    const one = time(() => main.gemmNN(m, n, k, a, k, 1, b, n, c1, n, 0));
    const two = time(() => main.poolGemmNN(m, n, k, a, k, 1, b, n, c2, n, 0, 64));
    const x = new Uint32Array(poolMemory.buffer, c1, m * n),
      y = new Uint32Array(poolMemory.buffer, c2, m * n);
    report.poolGemm = {
      shape: `${m}×${k}×${n} dX-like`,
      msOneThread: one,
      msTwoThreads: two,
      speedup: one / two,
      bitIdentical: x.every((v, i) => v === y[i]),
      chunksByCaller: main.chunksBy(0),
      chunksByWorker: main.chunksBy(1),
    };
    // the caller sleeping in memory.atomic.wait32 on the main thread (instead of spinning)
    main.setCallerSpins(1);
    try {
      for (let i = 0; i < 20; i++) main.poolGemmNN(m, n, k, a, k, 1, b, n, c2, n, 0, 8);
      report.mainThreadWasmWait = 'no trap in 20 calls (the caller never had to wait)';
    } catch (e) {
      report.mainThreadWasmWait = `${e.name}: ${e.message}`;
    }
    main.setCallerSpins(0);
    try {
      report.mainThreadWasmWaitDirect = `memory.atomic.wait32 returned ${main.tryWait()}`;
    } catch (e) {
      report.mainThreadWasmWaitDirect = `${e.name}: ${e.message}`;
    }
    main.poolQuit();
  } catch (e) {
    report.pool = `${e.name}: ${e.message}`;
  }
}
run()
  .catch((e) => {
    report.failure = String(e);
  })
  .finally(() => {
    window.spikeReport = report;
  });
