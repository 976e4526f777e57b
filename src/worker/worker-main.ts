// The training worker: a Web Worker in browsers, a worker_threads Worker in Node. Bundled into one script
// (scripts/build-worker.mjs) that createTrainer() starts from a string, so it needs no file or URL; the
// compiled WASM core comes with each message instead of a second inlined copy.
import { initWithModule } from '../core.js';
import { BackpropError } from '../errors.js';
import { BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, Loss, MSELoss } from '../losses.js';
import { Network } from '../network.js';
import { Adam, AdamW, Optimizer, SGD } from '../optimizers.js';
import type { FromWorker, LossSpec, OptimizerSpec, ToWorker } from './protocol.js';

interface Port {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
}

const g = globalThis as any;
const nodeThreads = typeof g.self === 'undefined' && typeof g.process?.getBuiltinModule === 'function'
  ? g.process.getBuiltinModule('node:worker_threads') : null;
const port: Port = nodeThreads ? nodeThreads.parentPort : g.self;
let stopRequested = false;

function makeLoss({ type, ...options }: LossSpec): Loss {
  const losses: Record<string, new (o: object) => Loss> = { MSELoss, CrossEntropyLoss, BCELoss, BCEWithLogitsLoss };
  if (!losses[type]) throw new BackpropError('BAD_OPTION', `unknown loss type ${JSON.stringify(type)}; expected one of ${Object.keys(losses).join(', ')}`);
  return new losses[type](options);
}

function makeOptimizer(net: Network, { type, ...options }: OptimizerSpec): Optimizer {
  const optimizers: Record<string, new (p: ReturnType<Network['parameters']>, o: object) => Optimizer> = { SGD, Adam, AdamW };
  if (!optimizers[type]) throw new BackpropError('BAD_OPTION', `unknown optimizer type ${JSON.stringify(type)}; expected SGD, Adam or AdamW`);
  return new optimizers[type](net.parameters(), options);
}

async function fit(message: Extract<ToWorker, { type: 'fit' }>): Promise<void> {
  initWithModule(message.core);
  const net = Network.load(message.network);
  const { loss, optimizer, ...rest } = message.options;
  const opt = makeOptimizer(net, optimizer);
  try {
    const controller = new AbortController();
    stopRequested = false;
    const history = await net.fit(message.x as never, message.y as never, {
      ...rest,
      loss: makeLoss(loss),
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
    net.dispose();
    opt.dispose();
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
