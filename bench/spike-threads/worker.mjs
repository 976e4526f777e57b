// SPIKE: a pool worker — instantiates the pool module over the shared memory it is given, says ready, then
// parks in the module's workerLoop until a quit task.
import { parentPort, workerData } from 'node:worker_threads';

const { module, memory, index, spin } = workerData;
const instance = await WebAssembly.instantiate(module, { env: { memory } });
parentPort.postMessage({ ready: index, threadIndex: instance.exports.getThreadIndex() });
instance.exports.workerLoop(index, spin);
parentPort.postMessage({ quit: index });
