// The training worker: a Web Worker in browsers, a worker_threads Worker in Node. Bundled into one script
// (scripts/build-worker.mjs) that createTrainer() starts from a string, so it needs no file or URL; the
// compiled WASM core comes with each message instead of a second inlined copy.
import { initFromModule } from '../core.js';
import { nodeWorkerThreads } from '../platform.js';
import { BackpropError } from '../errors.js';
import { Network } from '../network.js';
import { type Optimizer } from '../optimizers.js';
import { buildLoss, buildOptimizer, buildScheduler } from '../registry.js';
import type { FromWorker, ToWorker } from './protocol.js';

interface Port {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
}

const webWorker = (globalThis as { self?: Port & { onmessage: ((event: MessageEvent<ToWorker>) => void) | null } }).self;
const nodePort = webWorker === undefined ? (nodeWorkerThreads()?.parentPort ?? null) : null;
const port: Port = nodePort ?? webWorker!;
let stopRequested = false;

async function fit(message: Extract<ToWorker, { type: 'fit' }>): Promise<void> {
  await initFromModule(message.core, message.simd, message.threads);
  const net = Network.load(message.network);
  const { loss, optimizer, scheduler, ...rest } = message.options;
  let opt: Optimizer | null = null;
  try {
    opt = buildOptimizer(net.parameters(), optimizer);
    const controller = new AbortController();
    stopRequested = false;
    const history = await net.fit(message.x as never, message.y as never, {
      ...rest,
      loss: buildLoss(loss),
      optimizer: opt,
      scheduler: scheduler === undefined ? undefined : buildScheduler(opt, scheduler),
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

if (nodePort) nodePort.on('message', onMessage);
else webWorker!.onmessage = (event: MessageEvent<ToWorker>) => onMessage(event.data);
