// The model: a feed-forward stack of layers run by the WASM core from a plan (src/plan.ts), and its training
// API. Training loops (fit.ts), trace (trace.ts) and files (checkpoint.ts) reach the network through the
// narrow session interface below, never through its private state.
import { type Ptr, beginStaging, copyF32, getCore, heapF32, readF32, WasmBlock, checkedBytes, type StagingArea } from './core.js';
import { BackpropError, describeValue } from './errors.js';
import { type MatrixInput, requirePositiveInteger, stageFinite, toFlatRows } from './input.js';
import { STATUS_OK, readResultField, readResultLoss } from './kernel.js';
import { type RepeatStep, StepConfigs } from './step-config.js';
import { Layer, Linear, Parameter } from './layers.js';
import { type LayerBuffer } from './buffer.js';
import { Dropout } from './dropout.js';
import { BatchNorm1d, checkBatchStatistics } from './normalization.js';
import { Loss, type PreparedTarget } from './losses.js';
import { Optimizer } from './optimizers.js';
import { checkOptionKeys } from './options.js';
import { Plan } from './plan.js';
import { Generator, defaultGen } from './random.js';
import { checkLossAndOptimizer, throwForStatus } from './status.js';
import { workerFailed } from './threads.js';
import {
  type EvaluateOptions,
  type Evaluation,
  type FitOptions,
  type History,
  type TargetInput,
  evaluateNetwork,
  fitNetwork,
  smallestBatch,
} from './fit.js';
import { type BatchSource, type StreamFitOptions, fitStream, isBatchSource } from './stream.js';
import { type LRScheduler } from './schedulers.js';
import { summarize } from './summary.js';
import { type Trace, traceNetwork } from './trace.js';
import * as files from './checkpoint.js';
import type { NetworkJSON } from './serialize.js';

export type { Trace, TraceLayer } from './trace.js';

export interface NetworkOptions {
  /** Re-initialise every Linear layer, in order, from a Generator with this seed; Dropout's masks come from
   *  a generator seeded from it too (without a seed, from one seeded by the default generator). */
  seed?: number;
}

/** What a call that runs the plan gets: the plan with buffers for its rows, and the end of its hold. */
export interface NetworkSession {
  readonly plan: Plan;
  readonly layers: readonly Layer[];
  readonly widths: readonly number[];
  /** The plan's batch buffers, grown to `rows` if needed (the last forward pass is then forgotten). */
  buffers(rows: number): Plan;
  /** Records that the activation buffers hold a forward pass of `rows` rows (0: none), for backward(). */
  hold(rows: number): void;
  /** The generator Dropout draws its masks from (null without Dropout). */
  readonly rng: Generator | null;
}

const sessions = new WeakMap<Network, NetworkSession>();

/** heap.set(values, at), by a loop for a few values (set's fixed cost is most of a small step's staging). */
function writeShort(heap: Float32Array, at: number, values: Float32Array): void {
  if (values.length > 16) heap.set(values, at);
  else for (let i = 0; i < values.length; i++) heap[at + i] = values[i];
}

/** Whether every value is finite: v − v is 0, or NaN for NaN and ±∞, so the sums below stay 0 exactly when all
 *  are (four sums and no branch per value: W1's trainStep ~4 % faster than a compare and early exit per value). */
function allFinite(values: Float32Array): boolean {
  const n = values.length,
    n4 = n - (n & 3);
  let a = 0,
    b = 0,
    c = 0,
    d = 0;
  for (let i = 0; i < n4; i += 4) {
    a += values[i] - values[i];
    b += values[i + 1] - values[i + 1];
    c += values[i + 2] - values[i + 2];
    d += values[i + 3] - values[i + 3];
  }
  for (let i = n4; i < n; i++) a += values[i] - values[i];
  return a + b + c + d === 0;
}

/** @internal The session of a live network, after refusing `what` while fit() holds it (unless reading). */
export function networkSession(net: Network, what: string, access: 'read' | 'write'): NetworkSession {
  net.assertUsable(what, access);
  return sessions.get(net)!;
}

/** A feed-forward stack of layers, like torch.nn.Sequential. */
export class Network {
  readonly layers: readonly Layer[];
  readonly inFeatures: number;
  readonly outFeatures: number;
  private plan: Plan | null;
  /** widths[k] is the width of layer k's input; widths[layers.length] the network's output width. */
  private readonly widths: readonly number[];
  /** Rows whose forward pass the activation buffers hold (0: none), so that backward() can run. */
  private heldBatch = 0;
  /** What holds the network for training (fit), refusing other calls that would change it. */
  private busy: string | null = null;
  /** trainStep's configs, kept between calls. */
  private readonly steps = new StepConfigs();
  /** The generator of Dropout's masks (null without Dropout). */
  private rng: Generator | null = null;
  /** Whether a layer may refuse a batch of one row (BatchNorm1d: checkBatchStatistics). */
  private readonly hasBatchNorm: boolean;

  constructor(layers: Layer[], options: NetworkOptions = {}) {
    checkOptionKeys(options, ['seed'], 'Network');
    this.widths = Network.chainWidths(layers);
    const generator = options.seed === undefined ? null : new Generator(options.seed);
    this.layers = Object.freeze([...layers]);
    this.hasBatchNorm = layers.some((layer) => layer instanceof BatchNorm1d);
    this.inFeatures = this.widths[0];
    this.outFeatures = this.widths[layers.length];
    try {
      for (const layer of layers) if (layer instanceof Linear && generator) layer.resetParameters(generator);
    } finally {
      generator?.dispose();
    }
    if (layers.some((layer) => layer instanceof Dropout)) {
      // its own stream, not the weights' (seeded from the seed, or drawn from the default generator)
      this.rng = new Generator(options.seed === undefined ? defaultGen().below(0xffffffff) : (options.seed ^ 0x5bd1e995) >>> 0);
    }
    this.plan = new Plan(this.layers, this.widths, this, this.rng?.statePtr ?? 0);
    for (const layer of layers) if (layer.ownsMemory) layer.owner = this;
    const plan = this.plan;
    const rng = this.rng;
    sessions.set(this, {
      plan,
      layers: this.layers,
      widths: this.widths,
      buffers: (rows) => {
        if (plan.ensureCapacity(rows)) this.heldBatch = 0;
        return plan;
      },
      hold: (rows) => {
        this.heldBatch = rows;
      },
      rng,
    });
  }

  /** Checks the layers and returns the width before each layer and after the last. */
  private static chainWidths(layers: unknown): number[] {
    if (!Array.isArray(layers) || layers.length === 0) {
      throw new BackpropError('BAD_TYPE', `expected a non-empty array of layers, got ${describeValue(layers)}`);
    }
    const seen = new Set<Layer>();
    layers.forEach((layer, k) => {
      if (!(layer instanceof Layer)) {
        throw new BackpropError(
          'BAD_TYPE',
          `expected layers[${k}] to be a Layer (new Linear(…), new ReLU(), …), got ${describeValue(layer)}`,
        );
      }
      layer.assertAlive();
      if (layer.ownsMemory && (layer.owner !== null || seen.has(layer))) {
        throw new BackpropError(
          'BAD_OPTION',
          `layers[${k}] (${layer}) already belongs to a network; create a new ${layer.kind.type}`,
        );
      }
      seen.add(layer);
    });
    // the layers before the first that knows its input width keep the width: it is the network's input width
    const first = (layers as Layer[]).find((l) => l.inputWidth() !== null);
    if (!first) {
      throw new BackpropError(
        'BAD_OPTION',
        'a Network needs a layer that knows its input size (Linear, LayerNorm or BatchNorm1d)',
      );
    }
    const widths = [first.inputWidth()!];
    layers.forEach((layer: Layer, k: number) => {
      const needs = layer.inputWidth();
      if (needs !== null && needs !== widths[k]) {
        throw new BackpropError(
          'SHAPE_MISMATCH',
          `layers[${k}] (${layer}) expects ${needs} inputs, but ` +
            (k === 0 ? 'the network input' : `layers[${k - 1}] (${layers[k - 1]})`) +
            ` gives ${widths[k]}`,
        );
      }
      widths.push(layer.outputWidth(widths[k]));
    });
    return widths;
  }

  /** @internal Throws DISPOSED for a disposed network, and BAD_STATE when `what` would change a network
   *  that fit() is training (reading it — predict, evaluate, save — is allowed, e.g. in onEpochEnd). */
  assertUsable(what: string, access: 'read' | 'write'): void {
    if (!this.plan) throw new BackpropError('DISPOSED', `${what} cannot run: this Network has been disposed`);
    if (this.busy !== null && access === 'write') {
      throw new BackpropError('BAD_STATE', `${what} cannot run while ${this.busy} is training this network`);
    }
  }

  /** @internal Holds the network for `what` (fit) until the returned function is called. */
  holdForTraining(what: string): () => void {
    this.assertUsable(what, 'write');
    this.busy = what;
    return () => {
      this.busy = null;
      this.heldBatch = 0;
    };
  }

  private session(what: string, access: 'read' | 'write'): NetworkSession {
    return networkSession(this, what, access);
  }

  /** Stages x (and a target for `loss`) in scratch memory, checked, before anything of the network is
   *  touched. */
  private stageBatch(
    staging: StagingArea,
    x: MatrixInput,
    target?: unknown,
    loss?: Loss,
  ): { batch: number; xPtr: Ptr; targetPtr: Ptr; prepared: PreparedTarget | null } {
    const xRows = toFlatRows(x, 'x', this.inFeatures);
    const prepared = loss ? loss.prepareTarget(target, xRows.rows, this.outFeatures) : null;
    const xPtr = staging.floats(xRows.values.length, 'x');
    stageFinite(xRows, xPtr, 'x', this.inFeatures);
    let targetPtr = 0;
    if (prepared) {
      targetPtr = staging.alloc(checkedBytes('the target', xRows.rows, prepared.rowBytes));
      loss!.stageTarget(prepared, targetPtr, this.outFeatures);
    }
    return { batch: xRows.rows, xPtr, targetPtr, prepared };
  }

  /** Runs the layers on x ([batch, inFeatures]) and returns a new Float32Array [batch, outFeatures]. */
  forward(x: MatrixInput): Float32Array {
    const session = this.session('forward()', 'write');
    const { batch, xPtr } = this.stageBatch(beginStaging(), x);
    checkBatchStatistics(this.layers, batch, session.plan.training);
    const plan = session.buffers(batch);
    const core = getCore();
    core.copyF32(plan.input, xPtr, batch * this.inFeatures);
    if (core.networkForward(plan.ptr, batch) !== STATUS_OK) throw workerFailed(' (forward())');
    this.heldBatch = batch;
    return readF32(plan.output, batch * this.outFeatures);
  }

  /** Back-propagates ∂L/∂output of the last forward(); adds to every parameter's grad; returns ∂L/∂x. */
  backward(gradOutput: MatrixInput): Float32Array {
    const session = this.session('backward()', 'write');
    if (this.heldBatch === 0) throw new BackpropError('BAD_STATE', 'backward() needs a forward() first');
    const rows = toFlatRows(gradOutput, 'gradOutput', this.outFeatures);
    if (rows.rows !== this.heldBatch) {
      throw new BackpropError(
        'SHAPE_MISMATCH',
        `expected gradOutput of ${this.heldBatch} rows of ${this.outFeatures} (the last forward's output), got ${rows.rows} rows`,
      );
    }
    const ptr = beginStaging().floats(rows.values.length, 'gradOutput');
    stageFinite(rows, ptr, 'gradOutput', this.outFeatures);
    const plan = session.plan,
      core = getCore();
    core.copyF32(plan.grad(this.layers.length), ptr, rows.values.length);
    core.networkBackward(plan.ptr, this.heldBatch, 1);
    if (core.poolTakeFailure()) throw workerFailed(' (backward(): the gradients it added to are incomplete)');
    return readF32(plan.grad(0), this.heldBatch * this.inFeatures);
  }

  /** Sets every parameter's gradient to zero. */
  zeroGrad(): void {
    getCore().networkZeroGrad(this.session('zeroGrad()', 'write').plan.ptr);
  }

  /** forward, loss, zeroGrad, backward and optimizer.step() in one pass through WASM; returns the loss
   *  before the step. If the loss or a gradient is NaN/Infinity the step is not taken (parameters and
   *  optimizer state stay as they were) and a NON_FINITE error is thrown. */
  trainStep(x: MatrixInput, target: MatrixInput | Int32Array, loss: Loss, optimizer: Optimizer): number {
    const fast = this.repeatPlainStep(x, target, loss, optimizer) ?? this.plainTrainStep(x, target, loss, optimizer);
    if (fast !== null) return fast;
    const session = this.session('trainStep()', 'write');
    checkLossAndOptimizer(loss, optimizer);
    const optimizerPtr = optimizer.readyBlock();
    // everything is checked and staged before the network is touched
    const { batch, xPtr, targetPtr, prepared } = this.stageBatch(beginStaging(), x, target, loss);
    checkBatchStatistics(this.layers, batch, session.plan.training);
    const plan = session.buffers(batch);
    const step = this.steps.config(plan, loss, prepared!.kernel, optimizerPtr, targetPtr, batch, this);
    copyF32(plan.input, xPtr, batch * this.inFeatures);
    const status = getCore().networkTrainStep(step);
    this.heldBatch = batch;
    throwForStatus(status, loss, prepared!.kernel, this.outFeatures, '', () => readF32(plan.output, batch * this.outFeatures));
    return readResultField('loss');
  }

  /** trainStep for the commonest call, staged straight into the plan's buffers: x and a float target as
   *  Float32Arrays of whole rows, all finite (exact here: they are float32 already), for a loss that takes them
   *  as they are (plainFloatKernel). Returns null, having changed nothing, for any other call: the general path
   *  then runs, and throws what it finds. */
  private plainTrainStep(x: unknown, target: unknown, loss: Loss, optimizer: Optimizer): number | null {
    const plan = this.plan;
    if (plan === null || this.busy !== null || !(x instanceof Float32Array) || !(target instanceof Float32Array)) return null;
    if (!(loss instanceof Loss) || !(optimizer instanceof Optimizer)) return null;
    const kernel = loss.plainFloatKernel();
    const batch = x.length / this.inFeatures;
    if (kernel === null || batch < 1 || !Number.isInteger(batch) || target.length !== batch * this.outFeatures) return null;
    if (!allFinite(x) || !allFinite(target) || (batch === 1 && this.hasBatchNorm)) return null;
    const optimizerPtr = optimizer.readyBlock();
    if (plan.ensureCapacity(batch)) this.heldBatch = 0;
    const repeat = {
      loss,
      kernel,
      optimizer,
      optimizerPtr,
      capacity: plan.capacity,
      batch,
      inputs: x.length,
      targets: target.length,
      inputAt: plan.input >>> 2,
      targetAt: plan.target >>> 2,
      step: this.steps.config(plan, loss, kernel, optimizerPtr, plan.target, batch, this),
    };
    this.steps.repeat = repeat;
    return this.runPlainStep(repeat, x, target);
  }

  /** plainTrainStep again, with what it staged last time (StepConfigs.repeat), when the call is the same but
   *  for the data: the same loss and optimizer (still alive, its block where it was), Float32Arrays of the same
   *  sizes, all finite, and the plan's buffers where they were. Null otherwise, as plainTrainStep. */
  private repeatPlainStep(x: unknown, target: unknown, loss: Loss, optimizer: Optimizer): number | null {
    const last = this.steps.repeat,
      plan = this.plan;
    if (last === null || plan === null || last.loss !== loss || last.optimizer !== optimizer || this.busy !== null) return null;
    if (!(x instanceof Float32Array) || x.length !== last.inputs) return null;
    if (!(target instanceof Float32Array) || target.length !== last.targets) return null;
    if (optimizer.readyBlock() !== last.optimizerPtr || plan.capacity !== last.capacity) return null;
    if (!allFinite(x) || !allFinite(target)) return null;
    return this.runPlainStep(last, x, target);
  }

  /** Writes x and target into the plan's input and target buffers and runs the step staged there. */
  private runPlainStep(staged: RepeatStep, x: Float32Array, target: Float32Array): number {
    const heap = heapF32();
    writeShort(heap, staged.inputAt, x);
    writeShort(heap, staged.targetAt, target);
    const status = getCore().networkTrainStep(staged.step);
    this.heldBatch = staged.batch;
    if (status !== STATUS_OK) {
      throwForStatus(status, staged.loss, staged.kernel, this.outFeatures, '', () =>
        readF32(this.plan!.output, staged.batch * this.outFeatures),
      );
    }
    return readResultLoss();
  }

  /** The network's outputs for x in eval mode (Dropout off, BatchNorm1d's running statistics), computed in
   *  batches of `batchSize` rows (inference: backward() cannot follow it); the mode it found is restored.
   *  Returns a new Float32Array [rows, outFeatures]. */
  predict(x: MatrixInput, options: { batchSize?: number } = {}): Float32Array {
    const session = this.session('predict()', 'read');
    checkOptionKeys(options, ['batchSize'], 'predict');
    const batchSize = requirePositiveInteger(options.batchSize ?? 1024, 'batchSize');
    const rows = toFlatRows(x, 'x', this.inFeatures);
    checkBatchStatistics(this.layers, smallestBatch(rows.rows, batchSize), false);
    const data = new WasmBlock(checkedBytes(`x (${rows.rows} rows of ${this.inFeatures})`, rows.values.length));
    const mode = session.plan.training;
    try {
      session.plan.setTraining(false);
      stageFinite(rows, data.ptr, 'x', this.inFeatures);
      const out = new Float32Array(rows.rows * this.outFeatures);
      const plan = session.buffers(Math.min(batchSize, rows.rows));
      const core = getCore();
      for (let start = 0; start < rows.rows; start += batchSize) {
        const count = Math.min(batchSize, rows.rows - start);
        core.copyF32(plan.input, data.ptr + start * this.inFeatures * 4, count * this.inFeatures);
        if (core.networkForward(plan.ptr, count) !== STATUS_OK) throw workerFailed(' (predict())');
        out.set(readF32(plan.output, count * this.outFeatures), start * this.outFeatures);
      }
      return out;
    } finally {
      session.plan.setTraining(mode);
      data.free();
      this.heldBatch = 0;
    }
  }

  /** The class of each row of x: the argmax of its outputs (the first on ties), or for one output per row
   *  whether it is above `threshold` (default 0.5 for probabilities; use 0 for logits). Eval mode, as predict. */
  predictClasses(x: MatrixInput, options: { batchSize?: number; threshold?: number } = {}): Int32Array {
    checkOptionKeys(options, ['batchSize', 'threshold'], 'predictClasses');
    const threshold = options.threshold ?? 0.5;
    if (typeof threshold !== 'number' || Number.isNaN(threshold)) {
      throw new BackpropError('BAD_OPTION', `expected predictClasses threshold to be a number, got ${describeValue(threshold)}`);
    }
    const out = this.predict(x, { batchSize: options.batchSize });
    const width = this.outFeatures;
    const classes = new Int32Array(out.length / width);
    for (let r = 0; r < classes.length; r++) {
      if (width === 1) {
        classes[r] = out[r] > threshold ? 1 : 0;
        continue;
      }
      let best = 0;
      for (let c = 1; c < width; c++) if (out[r * width + c] > out[r * width + best]) best = c;
      classes[r] = best;
    }
    return classes;
  }

  /** Whether layers such as Dropout and BatchNorm1d run in training mode (true for a new network). */
  get training(): boolean {
    this.assertUsable('training', 'read');
    return this.plan!.training;
  }

  /** Sets training mode (`mode` true, the default) or eval mode, as torch's module.train(mode); returns the
   *  network. fit() trains in training mode and validates in eval mode; predict() and evaluate() use eval mode. */
  train(mode = true): this {
    this.assertUsable('train()', 'write');
    if (typeof mode !== 'boolean')
      throw new BackpropError('BAD_OPTION', `expected train(mode) to get a boolean, got ${describeValue(mode)}`);
    this.plan!.setTraining(mode);
    return this;
  }

  /** Sets eval mode (Dropout passes values through, BatchNorm1d uses its running statistics); returns the network. */
  eval(): this {
    return this.train(false);
  }

  /** Trains on (x, y) for some epochs of shuffled mini-batches; resolves with the per-epoch history.
   *  Deterministic for a given seed. See FitOptions. */
  fit(x: MatrixInput, y: TargetInput, options: FitOptions): Promise<History>;
  /** Trains on batches { x, y } from an (async) iterable — data that need not fit in memory, in a fixed WASM
   *  footprint. See StreamFitOptions. */
  fit(batches: BatchSource, options: StreamFitOptions): Promise<History>;
  fit(x: MatrixInput | BatchSource, y: TargetInput | StreamFitOptions, options?: FitOptions): Promise<History> {
    if (isBatchSource(x)) return fitStream(this, x, y as StreamFitOptions);
    return fitNetwork(this, x as MatrixInput, y as TargetInput, options as FitOptions);
  }

  /** The loss on (x, y) in eval mode, with accuracy for classification losses and any `metrics`, computed in
   *  batches. */
  evaluate(x: MatrixInput, y: TargetInput, loss: Loss, options: EvaluateOptions = {}): Evaluation {
    return evaluateNetwork(this, x, y, loss, options);
  }

  /** For one batch, every Linear layer's forward and backward quantities as the backpropagation lecture
   *  draws them, computed by the training kernels themselves; no weight or gradient changes. */
  trace(x: MatrixInput, target: TargetInput, loss: Loss): Trace {
    return traceNetwork(this, x, target, loss);
  }

  /** Every parameter, named as PyTorch's state_dict of the equivalent nn.Sequential ('0.weight', ...). */
  parameters(): Parameter[] {
    this.assertUsable('parameters()', 'read');
    return this.layers.flatMap((layer, k) => layer.parameters().map((p) => p.withName(`${k}.${p.name}`)));
  }

  /** Every buffer (saved state that is not trained: BatchNorm1d's running statistics), named as in PyTorch's
   *  state_dict ('1.running_mean', ...). */
  buffers(): LayerBuffer[] {
    this.assertUsable('buffers()', 'read');
    return this.layers.flatMap((layer, k) => layer.buffers().map((b) => b.withName(`${k}.${b.name}`)));
  }

  /** The number of trainable values (Σ of the parameters' sizes, as sum(p.numel()) in torch). */
  get parameterCount(): number {
    return this.parameters().reduce((sum, p) => sum + p.size, 0);
  }

  /** A table of the layers: index, class, output shape, parameters and bytes, with the totals. */
  summary(): string {
    this.assertUsable('summary()', 'read');
    return summarize(this, this.widths);
  }

  /** An independent copy: the same layers, parameters, buffers, mode and Dropout generator state. */
  clone(): Network {
    this.assertUsable('clone()', 'read');
    return files.cloneNetwork(this);
  }

  get disposed(): boolean {
    return this.plan === null;
  }

  /** The architecture and weights as plain JSON; float32 values are written exactly and read back bit
   *  for bit by Network.fromJSON. */
  toJSON(): NetworkJSON {
    return files.networkToJSON(this);
  }

  /** A network from Network.toJSON()'s output (object or JSON text). */
  static fromJSON(json: NetworkJSON | string): Network {
    return files.networkFromJSON(json);
  }

  /** The network as a safetensors file: tensors named as PyTorch's state_dict ('0.weight', ...), the
   *  architecture in __metadata__. With an optimizer over net.parameters(), its state is saved too
   *  (a checkpoint: Network.loadCheckpoint restores both). */
  save(options: { optimizer?: Optimizer; scheduler?: LRScheduler } = {}): Uint8Array {
    return files.saveNetwork(this, options);
  }

  /** A network from a safetensors file written by save() (optimizer state, if any, is ignored). */
  static load(bytes: Uint8Array): Network {
    return files.loadNetwork(bytes);
  }

  /** A network and its optimizer (with its state and step count) from save({ optimizer }), and its scheduler
   *  (with its progress) from save({ optimizer, scheduler }). */
  static loadCheckpoint(bytes: Uint8Array): {
    network: Network;
    optimizer: Optimizer | null;
    scheduler: LRScheduler | null;
  } {
    return files.loadCheckpoint(bytes);
  }

  /** Replaces this network's weights with those of a safetensors file or NetworkJSON whose tensors match
   *  its parameters by name and shape (e.g. a PyTorch nn.Sequential state_dict saved with safetensors).
   *  Everything is checked first: on error the weights are unchanged. */
  loadWeights(source: Uint8Array | NetworkJSON | string): void {
    this.assertUsable('loadWeights()', 'write');
    files.loadWeightsInto(this, source);
  }

  /** Frees the network's WASM memory, that of its layers, and the state any optimizer keeps for its
   *  parameters (those optimizers are disposed with it). */
  dispose(): void {
    if (!this.plan) return;
    if (this.busy !== null) {
      throw new BackpropError('BAD_STATE', `dispose() cannot run while ${this.busy} is training this network`);
    }
    this.plan.dispose();
    this.plan = null;
    this.steps.dispose();
    this.rng?.dispose();
    this.rng = null;
    sessions.delete(this);
    for (const layer of this.layers) if (layer.owner === this) layer.release();
  }

  toString(): string {
    return `Network(\n${this.layers.map((l, k) => `  (${k}): ${l}`).join('\n')}\n)`;
  }
}
