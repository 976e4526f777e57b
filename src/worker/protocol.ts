// Messages between createTrainer() and its worker.
import type { EpochInfo, History } from '../fit.js';

export type LossSpec =
  | { type: 'MSELoss' | 'BCELoss' | 'BCEWithLogitsLoss'; reduction?: 'mean' | 'sum' }
  | { type: 'CrossEntropyLoss'; reduction?: 'mean' | 'sum'; labelSmoothing?: number };

export type OptimizerSpec =
  | ({ type: 'SGD' } & import('../optimizers.js').SGDOptions)
  | ({ type: 'Adam' | 'AdamW' } & import('../optimizers.js').AdamOptions);

/** fit() options that can cross to a worker (no functions, no class instances). */
export interface WorkerFitOptions {
  loss: LossSpec;
  optimizer: OptimizerSpec;
  epochs?: number;
  batchSize?: number;
  shuffle?: boolean;
  seed?: number;
  validation?: { x: ArrayLike<number> | number[][]; y: ArrayLike<number> | number[][] } | { X: ArrayLike<number> | number[][]; Y: ArrayLike<number> | number[][] } | number;
  earlyStopping?: { patience: number; minDelta?: number; restoreBestWeights?: boolean };
}

export type ToWorker =
  | { type: 'fit'; core: WebAssembly.Module; network: Uint8Array; x: unknown; y: unknown; options: WorkerFitOptions }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'epoch'; info: EpochInfo }
  | { type: 'done'; history: History; network: Uint8Array }
  | { type: 'error'; code: string | null; message: string };
