// A point to go back to when a call fails part-way through for a reason that is not the data's: a pool worker
// that dies (WORKER_FAILED) during fit(), after earlier batches were applied. Taken only when threads compute
// (a copy of the parameters, buffers, Dropout's generator and optimizer state per call), so one thread pays nothing.
import type { Network } from './network.js';
import type { Optimizer } from './optimizers.js';
import type { LRScheduler } from './schedulers.js';
import { threadsInfo } from './threads.js';
import { generatorState, setGeneratorState } from './checkpoint.js';

/** Restores the network, optimizer and scheduler to how they are now; null when no pool runs. */
export function undoPoint(net: Network, optimizer: Optimizer, scheduler?: LRScheduler): (() => void) | null {
  if (threadsInfo().active <= 1) return null;
  const parameters = net.parameters().map((p) => p.data.slice());
  const buffers = net.buffers().map((b) => b.data.slice());
  const step = optimizer.stepCount,
    lr = optimizer.lr,
    state = optimizer.stateBuffers();
  const progress = scheduler?.state();
  const dropout = generatorState(net);
  return () => {
    if (dropout) setGeneratorState(net, dropout);
    net.parameters().forEach((p, i) => p.data.set(parameters[i]));
    net.buffers().forEach((b, i) => b.data.set(buffers[i] as never));
    optimizer.restoreState(step, state);
    optimizer.lr = lr;
    if (scheduler && progress) scheduler.restoreState(progress);
  };
}
