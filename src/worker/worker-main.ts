// The training worker: a Web Worker in browsers, a worker_threads Worker in Node. Bundled into one script
// (scripts/build-worker.mjs) that createTrainer() starts from a string, so it needs no file or URL; the
// compiled WASM core comes with each message instead of a second inlined copy.
import { initWithModule } from '../core.js';
import { BackpropError } from '../errors.js';
import { Network } from '../network.js';
import { type Optimizer } from '../optimizers.js';
import { buildLoss, buildOptimizer } from '../registry.js';
import type { FromWorker, ToWorker } from './protocol.js';

interface Port {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
}

const g = globalThis as any;
const nodeThreads = typeof g.self === 'undefined' && typeof g.process?.getBuiltinModule === 'function'
  ? g.process.getBuiltinModule('node:worker_threads') : null;
const port: Port = nodeThreads ? nodeThreads.parentPort : g.self;
let stopRequested = false;

async function fit(message: Extract<ToWorker, { type: 'fit' }>): Promise<void> {
  initWithModule(message.core, message.simd);
  const net = Network.load(message.network);
  const { loss, optimizer, ...rest } = message.options;
  let opt: Optimizer | null = null;
  try {
    opt = buildOptimizer(net.parameters(), optimizer);
    const controller = new AbortController();
    stopRequested = false;
    const history = await net.fit(message.x as never, message.y as never, {
      ...rest,
      loss: buildLoss(loss),
      optimizer: opt,
      signal: controller.signal,
      onEpochEnd: (info) => {
        port.postMessage({ type: 'epoch', info });
        if (stopRequested) controller.abort();
      },
    });
    const bytes = net.save();
    port.postMessage({ type: 'done', history, network: bytes }, [bytes.buffer]);
  } finally {
    opt?.dispose();
    net.dispose();
  }
}

function onMessage(message: ToWorker): void {
  if (message.type === 'stop') {
    stopRequested = true;
    return;
  }
  fit(message).catch((error: unknown) => {
    port.postMessage({
      type: 'error',
      code: error instanceof BackpropError ? error.code : null,
      message: error instanceof Error ? error.message : String(error),
    });
  });
}

if (nodeThreads) nodeThreads.parentPort.on('message', onMessage);
else g.self.onmessage = (event: MessageEvent<ToWorker>) => onMessage(event.data);
