// SPIKE (g): the worker side — receives the memory, writes into it, sets a flag later; or joins the pool.
onmessage = async (event) => {
  const { kind } = event.data;
  if (kind === 'memory') {
    self.memory = event.data.memory;
    const i32 = new Int32Array(self.memory.buffer);
    Atomics.store(i32, 0, 42);
    postMessage({
      received: true,
      crossOriginIsolated: self.crossOriginIsolated,
      bufferIsShared: Object.prototype.toString.call(self.memory.buffer),
    });
  } else if (kind === 'flag-later') {
    setTimeout(() => Atomics.store(new Int32Array(self.memory.buffer), 2, 1), 50);
  } else if (kind === 'pool') {
    const instance = await WebAssembly.instantiate(event.data.module, { env: { memory: event.data.memory } });
    postMessage({ parked: true });
    instance.exports.workerLoop(1, 20000); // returns on poolQuit
  }
};
