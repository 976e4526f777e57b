// Messages between the explorer page and its training worker. Arrays travel as typed arrays (transferred,
// not copied). Every message about a run carries the run's `generation`, so the page ignores answers
// about a run it has since replaced.
import type { HiddenLayer, OptimizerId, Task } from './state';

export interface NetSpec {
  inFeatures: number;
  hidden: HiddenLayer[];
  outFeatures: number;
  task: Task;
}

export interface TrainSpec {
  optimizer: OptimizerId;
  lr: number;
  l2: number;
  batchSize: number;
  seed: number;
}

export interface DataSpec {
  trainX: Float32Array;
  trainY: Float32Array | Int32Array;
  testX: Float32Array;
  testY: Float32Array | Int32Array;
  /** Inputs of the plane view's grid, [gridRows × inFeatures]. */
  gridX: Float32Array;
  gridRows: number;
}

export type ToWorker =
  | { type: 'configure'; generation: number; net: NetSpec; train: TrainSpec; data: DataSpec }
  | { type: 'run' }
  | { type: 'pause' }
  /** `count` training steps; with `report`, a StepReport of what the (single) step changed. */
  | { type: 'step'; count: number; report: boolean }
  /** Asks for the next snapshot, tracing training sample `sample`; `grid` adds the plane's activations. */
  | { type: 'frame'; sample: number; grid: boolean }
  /** Limits training to about `stepsPerSecond` (null: as fast as it goes). */
  | { type: 'speed'; stepsPerSecond: number | null };

export interface ParamsView {
  /** [out × in] row-major, as net.parameters() holds it. */
  weight: Float32Array;
  bias: Float32Array;
}

/** net.trace of one training sample, per Linear layer (see TraceLayer in the library). */
export interface SampleTrace {
  sample: number;
  x: Float32Array;
  /** The target: a value (regression, standardised) or a class index. */
  target: number;
  loss: number;
  output: Float32Array;
  /** ∂L/∂x of the network's inputs. */
  dLdx: Float32Array;
  layers: {
    input: Float32Array;
    z: Float32Array;
    a: Float32Array;
    dLda: Float32Array;
    sigmaPrime: Float32Array | null;
    dLdz: Float32Array;
    dLdW: Float32Array;
    dLdb: Float32Array | null;
  }[];
}

export interface WorkerError {
  code: string;
  message: string;
  /** The step that failed (the network holds the state from before it). */
  step: number;
}

export interface Snapshot {
  type: 'snapshot';
  generation: number;
  step: number;
  epoch: number;
  running: boolean;
  stepsPerSecond: number;
  history: { steps: Float64Array; train: Float32Array; test: Float32Array; stride: number };
  /** Losses (and accuracies for classification) of the whole train and test sets at `evalStep`. */
  evalStep: number;
  trainLoss: number;
  testLoss: number;
  trainAccuracy: number | null;
  testAccuracy: number | null;
  params: ParamsView[];
  /** Per Linear layer, its output a at every grid point [gridRows × width] (null when not asked). */
  grid: Float32Array[] | null;
  trace: SampleTrace | null;
  error: WorkerError | null;
  /** The worker's WASM memory, to show that long runs stay flat. */
  wasmBytes: number;
  /** Milliseconds (moving averages) per training step, per evaluation of both sets, per snapshot. */
  costs: { step: number; evaluation: number; snapshot: number } | null;
}

/** What one training step did, for the step mode: the batch, its gradient, the weights before and after. */
export interface StepReport {
  type: 'step-report';
  generation: number;
  stepBefore: number;
  batchRows: number;
  batchLoss: number;
  /** ∂L/∂W and ∂L/∂b of the batch loss (as the optimizer received them). */
  gradient: { dLdW: Float32Array; dLdb: Float32Array }[];
  before: ParamsView[];
  after: ParamsView[];
}

export type FromWorker = Snapshot | StepReport | { type: 'fatal'; message: string };
