// Messages between createTrainer() and its worker. Losses and optimizers cross as specs of the registries
// ({ type, ...options }), so this protocol names no kind itself.
import type { EpochInfo, FitOptions, History } from '../fit.js';
import type { SimdFlavour } from '../core.js';
import type { MetricName } from '../metrics.js';
import type { LossSpec, OptimizerSpec, SchedulerSpec } from '../registry.js';

export type { LossSpec, OptimizerSpec, SchedulerSpec };

/** fit() options that can cross to a worker: plain data only (no functions, no class instances). */
export interface WorkerFitOptions extends Omit<
  FitOptions,
  'loss' | 'optimizer' | 'scheduler' | 'metrics' | 'onEpochEnd' | 'onBatchEnd' | 'signal' | 'validation'
> {
  loss: LossSpec;
  optimizer: OptimizerSpec;
  /** Built over the worker's optimizer. */
  scheduler?: SchedulerSpec;
  /** Built-in metrics only (functions cannot cross to a worker). */
  metrics?: (MetricName | { type: 'topKAccuracy'; k?: number })[];
  validation?:
    | { x: ArrayLike<number> | number[][]; y: ArrayLike<number> | number[][] }
    | { X: ArrayLike<number> | number[][]; Y: ArrayLike<number> | number[][] }
    | number;
}

export type ToWorker =
  | {
      type: 'fit';
      core: WebAssembly.Module;
      simd: SimdFlavour;
      /** The parent's threads: the worker starts a pool of its own. */
      threads: number;
      network: Uint8Array;
      x: unknown;
      y: unknown;
      options: WorkerFitOptions;
    }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'epoch'; info: EpochInfo }
  | { type: 'done'; history: History; network: Uint8Array }
  | { type: 'error'; code: string | null; message: string };
