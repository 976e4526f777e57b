// A sequence of layers run by the WASM core from a plan (see assembly/network.ts for the row layout).
import { WasmBlock, alignFloats, getCore, readF32, readResult, scratchF32 } from './core.js';
import { BackpropError, describeValue } from './errors.js';
import { type MatrixInput, checkOptionKeys, requirePositiveInteger, stageFinite, toFlatRows } from './input.js';
import { Layer, Linear, Parameter, Softmax } from './layers.js';
import { Loss, type PreparedTarget } from './losses.js';
import { Optimizer } from './optimizers.js';
import { Generator } from './random.js';import { checkLossAndOptimizer, outputOutOfRange, throwForStatus } from './status.js';
import { type Evaluation, type FitOptions, type History, type TargetInput, evaluateNetwork, fitNetwork } from './fit.js';
import {
  FORMAT, type LayerSpec, type NamedTensor, type NetworkJSON, buildLayer, checkTensorsMatch, corruptFileError, decodeSafetensors,
  describeLayer, encodeSafetensors, layerSpecsOf, parameterShapes, readNetworkJSON,
} from './serialize.js';
import { Adam, AdamW, SGD } from './optimizers.js';

// Byte offsets of one plan row; mirror PLAN_* in assembly/network.ts.
const PLAN_ROW_WORDS = 12;
const enum Plan {
  Kind = 0, In, Out, Weight, Bias, WeightGrad, BiasGrad, Input, Output, GradInput, GradOutput, Param,
}

/** One Linear layer (and the activations after it) in a trace, all [batch, …] row-major. */
export interface TraceLayer {
  /** Index of the Linear layer in net.layers. */
  index: number;
  /** The activation(s) after it, as text, or null. */
  activation: string | null;
  /** The layer's input x: ∂z/∂w for each weight. */
  input: Float32Array;
  /** Pre-activation z = x·Wᵀ + b. */
  z: Float32Array;
  /** Activation a = σ(z) (z itself without an activation). */
  a: Float32Array;
  /** ∂L/∂a, from the layers above. */
  dLda: Float32Array;
  /** σ'(z) for a single element-wise activation (null for none, Softmax or several). */
  sigmaPrime: Float32Array | null;
  /** ∂L/∂z = σ'(z)·∂L/∂a. */
  dLdz: Float32Array;
  /** ∂L/∂W = Σ_batch ∂L/∂z ⊗ x, [out, in]. */
  dLdW: Float32Array;
  dLdb: Float32Array | null;
}

export interface Trace {
  loss: number;
  output: Float32Array;
  /** ∂L/∂x of the network's input. */
  dLdx: Float32Array;
  layers: TraceLayer[];
}

export interface NetworkOptions {
  /** Re-initialise every Linear layer, in order, from a Generator with this seed. */
  seed?: number;
}

/** A feed-forward stack of layers, like torch.nn.Sequential. */
export class Network {
  readonly layers: readonly Layer[];
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** widths[k] is the width of layer k's input; widths[layers.length] the network's output width. */
  private readonly widths: readonly number[];
  private plan: WasmBlock | null;
  private activations: WasmBlock | null = null;
  private batchCapacity = 0;
  private offsets = { acts: [] as number[], grads: [] as number[], target: 0 };
  /** Batch size whose forward pass the activation buffers hold (0: none), so backward() can run. */
  private heldBatch = 0;

  constructor(layers: Layer[], options: NetworkOptions = {}) {
    checkOptionKeys(options, ['seed'], 'Network');
    this.widths = Network.chainWidths(layers);
    const generator = options.seed === undefined ? null : new Generator(options.seed);
    this.layers = Object.freeze([...layers]);
    this.inFeatures = this.widths[0];
    this.outFeatures = this.widths[layers.length];
    try {
      for (const layer of layers) {
        if (layer instanceof Linear && generator) layer.resetParameters(generator);
      }
    } finally {
      generator?.dispose();
    }
    for (const layer of layers) if (layer instanceof Linear) layer.ownedByNetwork = true;
    this.plan = new WasmBlock(layers.length * PLAN_ROW_WORDS * 4, this);
    this.writePlan();
  }

  /** Checks the layers and returns the width before each layer and after the last. */
  private static chainWidths(layers: unknown): number[] {
    if (!Array.isArray(layers) || layers.length === 0) {
      throw new BackpropError('BAD_TYPE', `expected a non-empty array of layers, got ${describeValue(layers)}`);
    }
    const seen = new Set<Layer>();
    layers.forEach((layer, k) => {
      if (!(layer instanceof Layer)) {
        throw new BackpropError('BAD_TYPE', `expected layers[${k}] to be a Layer (Linear, Relu, …), got ${describeValue(layer)}`);
      }
      if (layer instanceof Linear) {
        layer.assertAlive();
        if (layer.ownedByNetwork || seen.has(layer)) {
          throw new BackpropError('BAD_OPTION', `layers[${k}] (${layer}) already belongs to a network; create a new Linear`);
        }
        seen.add(layer);
      }
    });
    const first = layers.find((l): l is Linear => l instanceof Linear);
    if (!first) throw new BackpropError('BAD_OPTION', 'a Network needs at least one Linear layer to know its input size');
    const widths = [first.inFeatures];
    layers.forEach((layer: Layer, k: number) => {
      const width = widths[k];
      if (layer instanceof Linear) {
        if (layer.inFeatures !== width) {
          throw new BackpropError(
            'SHAPE_MISMATCH',
            `layers[${k}] (${layer}) expects ${layer.inFeatures} inputs, but ` +
              (k === 0 ? 'the network input' : `layers[${k - 1}] (${layers[k - 1]})`) + ` gives ${width}`,
          );
        }
        widths.push(layer.outFeatures);
      } else {
        widths.push(width);
      }
    });
    return widths;
  }

  /** Offsets (in floats) of each layer's activation and gradient buffers, and of a target buffer, for
   *  `capacity` rows. */
  private bufferOffsets(capacity: number): { acts: number[]; grads: number[]; target: number; total: number } {
    let total = 0;
    const place = () => this.widths.map((w) => { const at = total; total += alignFloats(capacity * w); return at; });
    const acts = place();
    const grads = place();
    const target = total;
    total += alignFloats(capacity * this.outFeatures);
    return { acts, grads, target, total };
  }

  /** Writes the plan rows: kernels, sizes and pointers to parameters and batch buffers. */
  private writePlan(): void {
    const plan = this.alivePlan();
    const base = this.activations?.ptr ?? 0;
    const { acts, grads } = this.offsets;
    const rows = new Int32Array(this.layers.length * PLAN_ROW_WORDS);
    const params = new Float32Array(rows.buffer);
    this.layers.forEach((layer, k) => {
      const r = k * PLAN_ROW_WORDS;
      rows[r + Plan.Kind] = layer.kind;
      rows[r + Plan.In] = this.widths[k];
      rows[r + Plan.Out] = this.widths[k + 1];
      if (layer instanceof Linear) {
        const p = layer.pointers();
        rows[r + Plan.Weight] = p.weight;
        rows[r + Plan.Bias] = p.bias;
        rows[r + Plan.WeightGrad] = p.weightGrad;
        rows[r + Plan.BiasGrad] = p.biasGrad;
      }
      if (this.activations) {
        rows[r + Plan.Input] = base + acts[k] * 4;
        rows[r + Plan.Output] = base + acts[k + 1] * 4;
        rows[r + Plan.GradInput] = base + grads[k] * 4;
        rows[r + Plan.GradOutput] = base + grads[k + 1] * 4;
      }
      params[r + Plan.Param] = layer.kernelParam;
    });
    new Int32Array(getCore().memory.buffer, plan, rows.length).set(rows);
  }

  /** Grows the batch buffers to hold `batch` rows. Forgets the held forward pass when it reallocates. */
  private ensureCapacity(batch: number): void {
    if (batch <= this.batchCapacity) return;
    const offsets = this.bufferOffsets(batch);
    const grown = new WasmBlock(offsets.total * 4, this); // allocate first: on failure nothing has changed
    this.activations?.free();
    this.activations = grown;
    this.batchCapacity = batch;
    this.offsets = offsets;
    this.heldBatch = 0;
    this.writePlan();
  }

  private bufferPtr(which: 'acts' | 'grads', k: number): number {
    return this.activations!.ptr + this.offsets[which][k] * 4;
  }

  /** @internal Buffers for `batch` rows (grown if needed): the input, the output and a target buffer. */
  batchBuffers(batch: number): { plan: number; input: number; output: number; target: number } {
    const plan = this.alivePlan();
    this.ensureCapacity(batch);
    return {
      plan,
      input: this.bufferPtr('acts', 0),
      output: this.bufferPtr('acts', this.layers.length),
      target: this.activations!.ptr + this.offsets.target * 4,
    };
  }

  /** @internal Marks the activation buffers as holding a forward pass of `batch` rows (0: none). */
  setHeldBatch(batch: number): void {
    this.heldBatch = batch;
  }

  /** @internal */
  alivePlan(): number {
    if (!this.plan) throw new BackpropError('DISPOSED', 'this Network has been disposed');
    return this.plan.ptr;
  }

  /** @internal Refuses calls that would change the network while fit() runs. */
  assertNotFitting(what: string): void {
    if (this.fitting) throw new BackpropError('BAD_STATE', `${what} cannot run while fit() is training this network`);
  }

  /** @internal */
  fitting = false;

  /** Stages x (and a target for `loss`) in scratch memory, checked, before anything of the network is
   *  touched. */
  private stageBatch(
    x: MatrixInput, target?: unknown, loss?: Loss,
  ): { batch: number; xPtr: number; targetPtr: number; prepared: PreparedTarget | null } {
    const xRows = toFlatRows(x, 'x', this.inFeatures);
    const prepared = loss ? loss.prepareTarget(target, xRows.rows, this.outFeatures) : null;
    const xFloats = alignFloats(xRows.values.length);
    const xPtr = scratchF32(xFloats + (prepared ? xRows.rows * this.outFeatures : 0));
    const targetPtr = xPtr + xFloats * 4;
    stageFinite(xRows, xPtr, 'x', this.inFeatures);
    if (prepared) loss!.stageTarget(prepared, targetPtr, this.outFeatures);
    return { batch: xRows.rows, xPtr, targetPtr, prepared };
  }

  /** Runs the layers on x ([batch, inFeatures]) and returns a new Float32Array [batch, outFeatures]. */
  forward(x: MatrixInput): Float32Array {
    const plan = this.alivePlan();
    this.assertNotFitting('forward()');
    const { batch, xPtr } = this.stageBatch(x);
    const buffers = this.batchBuffers(batch);
    const core = getCore();
    core.copyF32(buffers.input, xPtr, batch * this.inFeatures);
    core.networkForward(plan, this.layers.length, batch);
    this.heldBatch = batch;
    return readF32(buffers.output, batch * this.outFeatures);
  }

  /** Back-propagates ∂L/∂output of the last forward(); adds to every parameter's grad; returns ∂L/∂x. */
  backward(gradOutput: MatrixInput): Float32Array {
    const plan = this.alivePlan();
    this.assertNotFitting('backward()');
    if (this.heldBatch === 0) throw new BackpropError('BAD_STATE', 'backward() needs a forward() first');
    const rows = toFlatRows(gradOutput, 'gradOutput', this.outFeatures);
    if (rows.rows !== this.heldBatch) {
      throw new BackpropError(
        'SHAPE_MISMATCH',
        `expected gradOutput of ${this.heldBatch} rows of ${this.outFeatures} (the last forward's output), got ${rows.rows} rows`,
      );
    }
    const ptr = scratchF32(rows.values.length);
    stageFinite(rows, ptr, 'gradOutput', this.outFeatures);
    const core = getCore();
    core.copyF32(this.bufferPtr('grads', this.layers.length), ptr, rows.values.length);
    core.networkBackward(plan, this.layers.length, this.heldBatch, 1);
    return readF32(this.bufferPtr('grads', 0), this.heldBatch * this.inFeatures);
  }

  /** Sets every parameter's gradient to zero. */
  zeroGrad(): void {
    this.assertNotFitting('zeroGrad()');
    getCore().networkZeroGrad(this.alivePlan(), this.layers.length);
  }

  /** forward, loss, zeroGrad, backward and optimizer.step() in one pass through WASM; returns the loss
   *  before the step. If the loss or a gradient is NaN/Infinity the step is not taken (parameters and
   *  optimizer state stay as they were) and a NON_FINITE error is thrown. */
  trainStep(x: MatrixInput, target: MatrixInput | Int32Array, loss: Loss, optimizer: Optimizer): number {
    this.alivePlan();
    this.assertNotFitting('trainStep()');
    checkLossAndOptimizer(loss, optimizer);
    const optimizerPtr = optimizer.readyBlock();
    const { batch, xPtr, targetPtr, prepared } = this.stageBatch(x, target, loss);
    const buffers = this.batchBuffers(batch);
    const core = getCore();
    core.copyF32(buffers.input, xPtr, batch * this.inFeatures);
    const status = core.networkTrainStep(
      buffers.plan, this.layers.length, batch, prepared!.kernel, loss.reductionCode, loss.smoothing, targetPtr, optimizerPtr,
    );
    this.heldBatch = batch;
    throwForStatus(status, loss, this.outFeatures, '');
    return readResult().loss;
  }

  /** The network's outputs for x, computed in batches of `batchSize` rows (inference: backward() cannot
   *  follow it). Returns a new Float32Array [rows, outFeatures]. */
  predict(x: MatrixInput, options: { batchSize?: number } = {}): Float32Array {
    this.alivePlan();
    this.assertNotFitting('predict()');
    checkOptionKeys(options, ['batchSize'], 'predict');
    const batchSize = requirePositiveInteger(options.batchSize ?? 1024, 'batchSize');
    const rows = toFlatRows(x, 'x', this.inFeatures);
    const data = new WasmBlock(rows.values.length * 4);
    try {
      stageFinite(rows, data.ptr, 'x', this.inFeatures);
      const out = new Float32Array(rows.rows * this.outFeatures);
      this.forEachChunk(data.ptr, rows.rows, batchSize, (output, start, count) => {
        out.set(readF32(output, count * this.outFeatures), start * this.outFeatures);
      });
      return out;
    } finally {
      data.free();
      this.heldBatch = 0;
    }
  }

  /** @internal Runs the forward pass over `rows` rows of inputs at `inputs` (WASM), `batchSize` at a time,
   *  calling `visit(outputPtr, startRow, count)` after each chunk. */
  forEachChunk(inputs: number, rows: number, batchSize: number, visit: (output: number, start: number, count: number) => void): void {
    const buffers = this.batchBuffers(Math.min(batchSize, rows));
    const core = getCore();
    for (let start = 0; start < rows; start += batchSize) {
      const count = Math.min(batchSize, rows - start);
      core.copyF32(buffers.input, inputs + start * this.inFeatures * 4, count * this.inFeatures);
      core.networkForward(buffers.plan, this.layers.length, count);
      visit(buffers.output, start, count);
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
    const plan = this.alivePlan();
    this.assertNotFitting('trace()');
    if (!(loss instanceof Loss)) throw new BackpropError('BAD_TYPE', `expected loss to be a Loss, got ${describeValue(loss)}`);
    const { batch, xPtr, targetPtr, prepared } = this.stageBatch(x, target, loss);
    const buffers = this.batchBuffers(batch);
    const core = getCore();
    const layerCount = this.layers.length;
    core.copyF32(buffers.input, xPtr, batch * this.inFeatures);
    const params = this.parameters();
    const savedGrads = params.map((p) => p.grad.slice());
    try {
      core.networkZeroGrad(plan, layerCount);
      core.networkForward(plan, layerCount, batch);
      this.heldBatch = batch;
      const width = this.outFeatures;
      const invalid = core.lossFirstInvalidInput(prepared!.kernel, buffers.output, batch, width);
      if (invalid >= 0) throw outputOutOfRange(loss, invalid, width);
      const args = [prepared!.kernel, loss.reductionCode, loss.smoothing, buffers.output, targetPtr] as const;
      const lossValue = core.lossForward(...args, batch, width);
      core.lossBackward(...args, this.bufferPtr('grads', layerCount), batch, width);
      core.networkBackward(plan, layerCount, batch, 1);
      const act = (k: number) => readF32(this.bufferPtr('acts', k), batch * this.widths[k]);
      const grad = (k: number) => readF32(this.bufferPtr('grads', k), batch * this.widths[k]);
      const gradsByName = new Map(this.parameters().map((p) => [p.name, p.grad.slice()]));
      const layers: TraceLayer[] = [];
      this.layers.forEach((layer, k) => {
        if (!(layer instanceof Linear)) return;
        let end = k + 1; // the layer after the last activation that follows this Linear
        while (end < layerCount && !(this.layers[end] instanceof Linear)) end++;
        const activations = this.layers.slice(k + 1, end);
        const single = activations.length === 1 && !(activations[0] instanceof Softmax) ? activations[0] : null;
        layers.push({
          index: k,
          activation: activations.length ? activations.map(String).join(' → ') : null,
          input: act(k), z: act(k + 1), a: act(end), dLda: grad(end),
          sigmaPrime: single ? this.activationDerivative(k + 1, batch) : null,
          dLdz: grad(k + 1),
          dLdW: gradsByName.get(`${k}.weight`)!, dLdb: gradsByName.get(`${k}.bias`) ?? null,
        });
      });
      return { loss: lossValue, output: act(layerCount), dLdx: grad(0), layers };
    } finally {
      this.parameters().forEach((p, k) => p.grad.set(savedGrads[k]));
    }
  }

  /** σ'(z) of the element-wise activation layer k, by its own backward kernel applied to ∂L/∂a = 1. */
  private activationDerivative(k: number, batch: number): Float32Array {
    const n = batch * this.widths[k + 1];
    const ones = scratchF32(alignFloats(n) * 2);
    const out = ones + alignFloats(n) * 4;
    new Float32Array(getCore().memory.buffer, ones, n).fill(1);
    const layer = this.layers[k];
    getCore().activationBackward(
      layer.kind, layer.kernelParam, this.bufferPtr('acts', k), this.bufferPtr('acts', k + 1), ones, out, batch, this.widths[k + 1],
    );
    return readF32(out, n);
  }

  /** Every parameter, named as PyTorch's state_dict of the equivalent nn.Sequential ('0.weight', ...). */
  parameters(): Parameter[] {
    this.alivePlan();
    return this.layers.flatMap((layer, k) => layer.parameters().map((p) => p.withName(`${k}.${p.name}`)));
  }

  get disposed(): boolean {
    return this.plan === null;
  }

  /** The architecture and weights as plain JSON; float32 values are written exactly and read back bit
   *  for bit by Network.fromJSON. */
  toJSON(): NetworkJSON {
    const parameters: NetworkJSON['parameters'] = {};
    for (const p of this.parameters()) parameters[p.name] = { shape: [...p.shape], data: Array.from(p.data) };
    return { format: FORMAT, version: 1, layers: this.layers.map(describeLayer), parameters };
  }

  /** A network from Network.toJSON()'s output (object or JSON text). */
  static fromJSON(json: NetworkJSON | string): Network {
    const { specs, tensors } = readNetworkJSON(json);
    return Network.fromParts(specs, tensors);
  }

  /** The network as a safetensors file: tensors named as PyTorch's state_dict ('0.weight', ...), the
   *  architecture in __metadata__. With an optimizer over net.parameters(), its state is saved too
   *  (a checkpoint: Network.loadCheckpoint restores both). */
  save(options: { optimizer?: Optimizer } = {}): Uint8Array {
    checkOptionKeys(options, ['optimizer'], 'save');
    const params = this.parameters();
    const tensors: [string, NamedTensor][] = params.map((p) => [p.name, { shape: [...p.shape], data: p.data.slice() }]);
    const metadata: Record<string, string> = { format: FORMAT, version: '1', layers: JSON.stringify(this.layers.map(describeLayer)) };
    const { optimizer } = options;
    if (optimizer !== undefined) {
      if (!(optimizer instanceof Optimizer)) throw new BackpropError('BAD_TYPE', `expected optimizer to be an Optimizer, got ${describeValue(optimizer)}`);
      optimizer.readyBlock();
      const names = optimizerParamNames(optimizer, params);
      const state = optimizer.stateBuffers();
      let next = 0;
      optimizer.params.forEach((p, k) => {
        for (const stateName of optimizer.stateNames) {
          tensors.push([`optimizer.${names[k]}.${stateName}`, { shape: [...p.shape], data: state[next++] }]);
        }
      });
      metadata.optimizer = JSON.stringify({ type: optimizer.constructor.name, config: optimizer.config(), step: optimizer.stepCount });
    }
    return encodeSafetensors(tensors, metadata);
  }

  /** A network from a safetensors file written by save() (optimizer state, if any, is ignored). */
  static load(bytes: Uint8Array): Network {
    const { tensors, metadata } = decodeSafetensors(bytes);
    return Network.fromParts(layerSpecsOf(metadata), tensors);
  }

  /** A network and its optimizer (with its state and step count) from save({ optimizer }). */
  static loadCheckpoint(bytes: Uint8Array): { network: Network; optimizer: Optimizer | null } {
    const { tensors, metadata } = decodeSafetensors(bytes);
    const network = Network.fromParts(layerSpecsOf(metadata), tensors);
    try {
      return { network, optimizer: metadata.optimizer === undefined ? null : restoreOptimizer(network, metadata.optimizer, tensors) };
    } catch (error) {
      network.dispose();
      throw error;
    }
  }

  /** Replaces this network's weights with those of a safetensors file or NetworkJSON whose tensors match
   *  its parameters by name and shape (e.g. a PyTorch nn.Sequential state_dict saved with safetensors).
   *  Everything is checked first: on error the weights are unchanged. */
  loadWeights(source: Uint8Array | NetworkJSON | string): void {
    const params = this.parameters();
    this.assertNotFitting('loadWeights()');
    const tensors = source instanceof Uint8Array ? decodeSafetensors(source).tensors : readNetworkJSON(source).tensors;
    checkTensorsMatch(new Map(params.map((p) => [p.name, [...p.shape]])), tensors, 'optimizer.');
    checkFiniteTensors(tensors);
    for (const p of params) p.data.set(tensors.get(p.name)!.data);
  }

  private static fromParts(specs: LayerSpec[], tensors: Map<string, NamedTensor>): Network {
    checkTensorsMatch(parameterShapes(specs), tensors, 'optimizer.');
    checkFiniteTensors(tensors);
    const layers = specs.map(buildLayer);
    let network: Network;
    try {
      network = new Network(layers);
    } catch (error) {
      layers.forEach((layer) => layer.dispose());
      throw corruptFileError(`the saved layers do not form a network: ${(error as Error).message}`);
    }
    for (const p of network.parameters()) p.data.set(tensors.get(p.name)!.data);
    return network;
  }

  /** Frees the network's WASM memory and that of its layers. */
  dispose(): void {
    if (!this.plan) return;
    this.assertNotFitting('dispose()');
    this.plan.free();
    this.plan = null;
    this.activations?.free();
    this.activations = null;
    for (const layer of this.layers) layer.dispose();
  }

  toString(): string {
    return `Network(\n${this.layers.map((l, k) => `  (${k}): ${l}`).join('\n')}\n)`;
  }
}


/** The network's names of an optimizer's parameters; it must be over exactly the network's parameters. */
function optimizerParamNames(optimizer: Optimizer, params: Parameter[]): string[] {
  const byPtr = new Map(params.map((p) => [p.dataPtr, p.name]));
  const names = optimizer.params.map((p) => byPtr.get(p.dataPtr));
  if (names.some((n) => n === undefined) || names.length !== params.length) {
    throw new BackpropError('BAD_OPTION', 'a checkpoint needs an optimizer over exactly this network\'s parameters (net.parameters())');
  }
  return names as string[];
}

const OPTIMIZERS: Record<string, new (params: Parameter[], options: never) => Optimizer> = { SGD, Adam, AdamW };

function restoreOptimizer(network: Network, json: string, tensors: Map<string, NamedTensor>): Optimizer {
  let saved: { type?: unknown; config?: unknown; step?: unknown };
  try {
    saved = JSON.parse(json);
  } catch (error) {
    throw corruptFileError(`__metadata__.optimizer is not valid JSON (${(error as Error).message})`);
  }
  const make = typeof saved?.type === 'string' ? OPTIMIZERS[saved.type] : undefined;
  if (!make || !Number.isSafeInteger(saved.step) || (saved.step as number) < 0) {
    throw corruptFileError(`__metadata__.optimizer does not describe an SGD, Adam or AdamW with a step count: ${json.slice(0, 200)}`);
  }
  let optimizer: Optimizer;
  try {
    optimizer = new make(network.parameters(), saved.config as never);
  } catch (error) {
    throw corruptFileError(`the saved optimizer settings are invalid: ${(error as Error).message}`);
  }
  try {
    const buffers: Float32Array[] = [];
    const expected = new Map<string, number[]>();
    for (const p of optimizer.params) {
      for (const stateName of optimizer.stateNames) {
        const name = `optimizer.${p.name}.${stateName}`;
        expected.set(name, [...p.shape]);
        buffers.push(tensors.get(name)?.data ?? new Float32Array(0));
      }
    }
    const stateTensors = new Map([...tensors].filter(([name]) => name.startsWith('optimizer.')));
    checkTensorsMatch(expected, stateTensors, '\u0000');
    optimizer.restoreState(saved.step as number, buffers);
    return optimizer;
  } catch (error) {
    optimizer.dispose();
    throw error;
  }
}

function checkFiniteTensors(tensors: Map<string, NamedTensor>): void {
  for (const [name, tensor] of tensors) {
    const ptr = scratchF32(tensor.data.length);
    const rows = { values: tensor.data, rows: tensor.data.length, original: (i: number) => tensor.data[i] };
    try {
      stageFinite(rows, ptr, name, 1);
    } catch (error) {
      throw corruptFileError((error as Error).message);
    }
  }
}
