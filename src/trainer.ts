// createTrainer(): fit() in a worker thread (a Web Worker in browsers, worker_threads in Node), so a page
// or server stays responsive while a network trains. The network's weights go over as a safetensors file
// and the trained weights come back the same way (transferred, not copied).
import { compiledCore } from './core.js';
import { nodeWorkerThreads } from './platform.js';
import { BackpropError, type BackpropErrorCode, describeValue } from './errors.js';
import { type EpochInfo, type History, emptyHistory } from './fit.js';
import { Network } from './network.js';
import { workerSource } from './generated/worker-source.js';
import type { FromWorker, ToWorker, WorkerFitOptions } from './worker/protocol.js';

export type { WorkerFitOptions } from './worker/protocol.js';

export interface TrainerFitOptions extends WorkerFitOptions {
  /** Called on this thread after every epoch. */
  onEpochEnd?: (info: EpochInfo) => void;
  /** Stops training after the current epoch; the weights trained so far are kept. */
  signal?: AbortSignal;
}

interface WorkerHandle {
  post(message: ToWorker): void;
  onMessage(listener: (message: FromWorker) => void): void;
  onFailure(listener: (error: Error) => void): void;
  /** Whether the worker keeps a Node process alive: only while it trains (an idle trainer does not). */
  keepAlive(busy: boolean): void;
  terminate(): void;
}

function startWorker(): WorkerHandle {
  const threads = nodeWorkerThreads();
  if (threads) {
    const worker = new threads.Worker(workerSource, { eval: true });
    return {
      post: (m) => worker.postMessage(m),
      onMessage: (l) => worker.on('message', l),
      onFailure: (l) => {
        worker.on('error', l);
        worker.on('exit', (code: number) => {
          if (code !== 0) l(new Error(`the training worker exited with code ${code}`));
        });
      },
      keepAlive: (busy) => (busy ? worker.ref() : worker.unref()),
      terminate: () => {
        void worker.terminate();
      },
    };
  }
  if (typeof Worker !== 'function' || typeof Blob !== 'function') {
    throw new BackpropError('BAD_STATE', 'createTrainer() needs Web Workers (browsers) or worker_threads (Node ≥ 20)');
  }
  const url = URL.createObjectURL(new Blob([workerSource], { type: 'text/javascript' }));
  const worker = new Worker(url);
  return {
    post: (m) => worker.postMessage(m),
    onMessage: (l) => worker.addEventListener('message', (e) => l(e.data)),
    onFailure: (l) => {
      worker.addEventListener('error', (e) => {
        e.preventDefault();
        l(
          new Error(
            `the training worker failed: ${e.message || 'it could not start (a Content-Security-Policy needs worker-src blob:)'}`,
          ),
        );
      });
      worker.addEventListener('messageerror', () => l(new Error('a message from the training worker could not be read')));
    },
    keepAlive: () => {}, // a page's workers never keep anything alive
    terminate: () => {
      worker.terminate();
      URL.revokeObjectURL(url);
    },
  };
}

/** Trains `network` in a worker thread. One fit at a time; while it runs, calls that would change the
 *  network on this thread (trainStep, fit, loadWeights, dispose, …) are refused. An idle trainer does not
 *  keep Node running; terminate() ends the worker. */
export class Trainer {
  private worker: WorkerHandle | null;
  private pending: {
    resolve: (h: History) => void;
    reject: (e: Error) => void;
    onEpochEnd?: (i: EpochInfo) => void;
    /** Ends the fit's hold on the network and its abort listener. */
    finish: () => void;
  } | null = null;

  constructor(readonly network: Network) {
    if (!(network instanceof Network)) throw new BackpropError('BAD_TYPE', `expected a Network, got ${describeValue(network)}`);
    network.assertUsable('createTrainer()', 'read');
    this.worker = startWorker();
    this.worker.keepAlive(false);
    this.worker.onMessage((message) => this.receive(message));
    this.worker.onFailure((error) => this.fail(new BackpropError('WORKER_FAILED', error.message)));
  }

  /** Trains a copy of the network in the worker, then loads the trained weights into `network`. The
   *  optimizer starts fresh at every call. Resolves with the history (at once, with no epochs, when the
   *  signal is already aborted). */
  fit(x: unknown, y: unknown, options: TrainerFitOptions): Promise<History> {
    if (!this.worker) return Promise.reject(new BackpropError('DISPOSED', 'this Trainer has been terminated'));
    if (this.pending) return Promise.reject(new BackpropError('BAD_STATE', 'this Trainer is already running a fit()'));
    const { onEpochEnd, signal, ...workerOptions } = options ?? ({} as TrainerFitOptions);
    const worker = this.worker;
    let release: () => void;
    let network: Uint8Array;
    try {
      release = this.network.holdForTraining('a Trainer fit()');
      network = this.network.save();
    } catch (error) {
      return Promise.reject(error);
    }
    if (signal?.aborted) {
      release();
      return Promise.resolve(emptyHistory('aborted'));
    }
    return new Promise<History>((resolve, reject) => {
      const stop = () => worker.post({ type: 'stop' });
      signal?.addEventListener('abort', stop, { once: true });
      const finish = () => {
        signal?.removeEventListener('abort', stop);
        release();
        worker.keepAlive(false);
      };
      this.pending = { resolve, reject, onEpochEnd, finish };
      try {
        const { module, simd, threads } = compiledCore();
        worker.keepAlive(true);
        worker.post({ type: 'fit', core: module, simd, threads, network, x: plain(x), y: plain(y), options: workerOptions });
      } catch (error) {
        this.pending = null;
        finish();
        reject(
          error instanceof BackpropError
            ? error
            : new BackpropError('BAD_OPTION', `the fit arguments cannot be sent to a worker: ${String(error)}`),
        );
      }
    });
  }

  /** Ends the worker; a running fit() rejects and the network keeps the weights it had before it. */
  terminate(): void {
    this.worker?.terminate();
    this.worker = null;
    this.fail(new BackpropError('DISPOSED', 'the Trainer was terminated during fit()'));
  }

  private receive(message: FromWorker): void {
    const pending = this.pending;
    if (!pending) return;
    if (message.type === 'epoch') {
      pending.onEpochEnd?.(message.info);
      return;
    }
    this.pending = null;
    pending.finish();
    if (message.type === 'error') {
      pending.reject(new BackpropError((message.code ?? 'WORKER_FAILED') as BackpropErrorCode, message.message));
      return;
    }
    try {
      this.network.loadWeights(message.network);
      pending.resolve(message.history);
    } catch (error) {
      pending.reject(error as Error);
    }
  }

  private fail(error: Error): void {
    const pending = this.pending;
    this.pending = null;
    pending?.finish();
    pending?.reject(error);
  }
}

/** Copies typed arrays so the caller's data is never detached or shared with the worker. */
function plain(value: unknown): unknown {
  return ArrayBuffer.isView(value) ? (value as unknown as Float32Array).slice() : value;
}

export function createTrainer(network: Network): Trainer {
  return new Trainer(network);
}
