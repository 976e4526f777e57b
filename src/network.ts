// The model: a feed-forward stack of layers run by the WASM core from a plan (src/plan.ts), and its training
// API. Training loops (fit.ts), trace (trace.ts) and files (checkpoint.ts) reach the network through the
// narrow session interface below, never through its private state.
import { type Ptr, beginStaging, copyF32, getCore, readF32, WasmBlock, checkedBytes, type StagingArea } from './core.js';
import { BackpropError, describeValue } from './errors.js';
import { type MatrixInput, requirePositiveInteger, stageFinite, toFlatRows } from './input.js';
import { readResultField } from './kernel.js';
import { StepConfigs } from './step-config.js';
import { Layer, Linear, Parameter } from './layers.js';
import { Loss, type PreparedTarget } from './losses.js';
import { Optimizer } from './optimizers.js';
import { checkOptionKeys } from './options.js';
import { Plan } from './plan.js';
import { Generator } from './random.js';
import { checkLossAndOptimizer, throwForStatus } from './status.js';
import { type Evaluation, type FitOptions, type History, type TargetInput, evaluateNetwork, fitNetwork } from './fit.js';
import { type Trace, traceNetwork } from './trace.js';
import * as files from './checkpoint.js';
import type { NetworkJSON } from './serialize.js';

export type { Trace, TraceLayer } from './trace.js';

export interface NetworkOptions {
  /** Re-initialise every Linear layer, in order, from a Generator with this seed. */
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
}

const sessions = new WeakMap<Network, NetworkSession>();

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

  constructor(layers: Layer[], options: NetworkOptions = {}) {
    checkOptionKeys(options, ['seed'], 'Network');
    this.widths = Network.chainWidths(layers);
    const generator = options.seed === undefined ? null : new Generator(options.seed);
    this.layers = Object.freeze([...layers]);
    this.inFeatures = this.widths[0];
    this.outFeatures = this.widths[layers.length];
    try {
      for (const layer of layers) if (layer instanceof Linear && generator) layer.resetParameters(generator);
    } finally {
      generator?.dispose();
    }
    this.plan = new Plan(this.layers, this.widths, this);
    for (const layer of layers) if (layer.parameters().length) layer.owner = this;
    const plan = this.plan;
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
      if (layer.parameters().length && (layer.owner !== null || seen.has(layer))) {
        throw new BackpropError(
          'BAD_OPTION',
          `layers[${k}] (${layer}) already belongs to a network; create a new ${layer.kind.type}`,
        );
      }
      seen.add(layer);
    });
    const first = layers.find((l): l is Linear => l instanceof Linear);
    if (!first) throw new BackpropError('BAD_OPTION', 'a Network needs at least one Linear layer to know its input size');
    const widths = [first.inFeatures];
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
    const plan = session.buffers(batch);
    const core = getCore();
    core.copyF32(plan.input, xPtr, batch * this.inFeatures);
    core.networkForward(plan.ptr, batch);
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
    const session = this.session('trainStep()', 'write');
    checkLossAndOptimizer(loss, optimizer);
    const optimizerPtr = optimizer.readyBlock();
    // everything is checked and staged before the network is touched
    const { batch, xPtr, targetPtr, prepared } = this.stageBatch(beginStaging(), x, target, loss);
    const plan = session.buffers(batch);
    const step = this.steps.config(plan, loss, prepared!.kernel, optimizerPtr, targetPtr, batch, this);
    copyF32(plan.input, xPtr, batch * this.inFeatures);
    const status = getCore().networkTrainStep(step);
    this.heldBatch = batch;
    throwForStatus(status, loss, prepared!.kernel, this.outFeatures, '', () => readF32(plan.output, batch * this.outFeatures));
    return readResultField('loss');
  }

  /** The network's outputs for x, computed in batches of `batchSize` rows (inference: backward() cannot
   *  follow it). Returns a new Float32Array [rows, outFeatures]. */
  predict(x: MatrixInput, options: { batchSize?: number } = {}): Float32Array {
    const session = this.session('predict()', 'read');
    checkOptionKeys(options, ['batchSize'], 'predict');
    const batchSize = requirePositiveInteger(options.batchSize ?? 1024, 'batchSize');
    const rows = toFlatRows(x, 'x', this.inFeatures);
    const data = new WasmBlock(checkedBytes(`x (${rows.rows} rows of ${this.inFeatures})`, rows.values.length));
    try {
      stageFinite(rows, data.ptr, 'x', this.inFeatures);
      const out = new Float32Array(rows.rows * this.outFeatures);
      const plan = session.buffers(Math.min(batchSize, rows.rows));
      const core = getCore();
      for (let start = 0; start < rows.rows; start += batchSize) {
        const count = Math.min(batchSize, rows.rows - start);
        core.copyF32(plan.input, data.ptr + start * this.inFeatures * 4, count * this.inFeatures);
        core.networkForward(plan.ptr, count);
        out.set(readF32(plan.output, count * this.outFeatures), start * this.outFeatures);
      }
      return out;
    } finally {
      data.free();
      this.heldBatch = 0;
    }
  }

  /** Trains on (x, y) for some epochs of shuffled mini-batches; resolves with the per-epoch history.
   *  Deterministic for a given seed. See FitOptions. */
  fit(x: MatrixInput, y: TargetInput, options: FitOptions): Promise<History> {
    return fitNetwork(this, x, y, options);
  }

  /** The loss on (x, y), and accuracy for classification losses, computed in batches. */
  evaluate(x: MatrixInput, y: TargetInput, loss: Loss, options: { batchSize?: number } = {}): Evaluation {
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
  save(options: { optimizer?: Optimizer } = {}): Uint8Array {
    return files.saveNetwork(this, options);
  }

  /** A network from a safetensors file written by save() (optimizer state, if any, is ignored). */
  static load(bytes: Uint8Array): Network {
    return files.loadNetwork(bytes);
  }

  /** A network and its optimizer (with its state and step count) from save({ optimizer }). */
  static loadCheckpoint(bytes: Uint8Array): { network: Network; optimizer: Optimizer | null } {
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
    sessions.delete(this);
    for (const layer of this.layers) if (layer.owner === this) layer.release();
  }

  toString(): string {
    return `Network(\n${this.layers.map((l, k) => `  (${k}): ${l}`).join('\n')}\n)`;
  }
}
