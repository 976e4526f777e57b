// LayerNorm and BatchNorm1d, as torch.nn's: layers with their own WASM memory (weight and bias with their
// gradients, and BatchNorm1d's running statistics), run by the kernels of assembly/normalization.ts.
import { LayerBuffer, type BufferDtype } from './buffer.js';
import { type Ptr, WasmBlock, alignFloats, checkedBytes } from './core.js';
import { BackpropError, describeValue } from './errors.js';
import { type LayerKernel } from './kernel.js';
import { Layer, type LayerKind, Parameter, type PlanEntry } from './layers.js';
import { type OptionSpecs, boolean, number, readOptions } from './options.js';

const size = () => number(0, { min: 1, integer: true });

/** A float as Python's repr writes it in torch's module reprs: 1e-05, 0.1. */
function py(value: number): string {
  const text = String(value);
  if (value !== 0 && Math.abs(value) < 1e-4)
    return value.toExponential().replace(/e([+-])(\d)$/, (_, sign, digit) => `e${sign}0${digit}`);
  return text;
}

/** What a norm layer's block holds: `features` values per part, the affine parts, the running statistics. */
interface Parts {
  features: number;
  affine: boolean;
  running: boolean;
}

/** A normalisation layer over `features` values per row: one WASM block holding
 *  [weight | bias | weight grad | bias grad | running_mean | running_var | num_batches_tracked (int64)]. */
export abstract class NormLayer<O extends object> extends Layer {
  /** The options in force, defaults filled in. */
  readonly options: Readonly<O>;
  /** Features per row (the width it takes and gives). */
  readonly features: number;
  private block: WasmBlock | null;
  private readonly params: Parameter[] = [];
  private readonly stateBuffers: LayerBuffer[] = [];

  protected constructor(
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each class narrows it to its own options
    readonly kind: LayerKind<any, O>,
    options: O,
    parts: Parts,
  ) {
    super();
    this.options = Object.freeze(options);
    const n = parts.features;
    this.features = n;
    const slot = alignFloats(n);
    const floats = (parts.affine ? 4 * slot : 0) + (parts.running ? 2 * slot + 4 : 0);
    this.block = new WasmBlock(checkedBytes(`${kind.type}(${n}) (its parameters and statistics)`, Math.max(floats, 4)), this);
    let at = this.block.ptr;
    const take = (count: number): Ptr => {
      const ptr = at;
      at += count * 4;
      return ptr;
    };
    if (parts.affine) {
      const weight = take(slot),
        bias = take(slot);
      this.params.push(new Parameter('weight', [n], this, weight, take(slot)));
      this.params.push(new Parameter('bias', [n], this, bias, take(slot)));
    }
    if (parts.running) {
      this.stateBuffers.push(new LayerBuffer('running_mean', [n], 'float32', this, take(slot)));
      this.stateBuffers.push(new LayerBuffer('running_var', [n], 'float32', this, take(slot)));
      this.stateBuffers.push(new LayerBuffer('num_batches_tracked', [], 'int64', this, take(4)));
    }
    this.resetParameters();
    this.resetRunningStats();
  }

  /** weight = 1, bias = 0 (torch's reset_parameters). */
  resetParameters(): void {
    this.assertAlive();
    const [weight, bias] = this.params;
    weight?.data.fill(1);
    bias?.data.fill(0);
  }

  /** running_mean = 0, running_var = 1, num_batches_tracked = 0 (torch's reset_running_stats). */
  resetRunningStats(): void {
    this.assertAlive();
    const [mean, variance, tracked] = this.stateBuffers;
    if (!mean) return;
    (mean.data as Float32Array).fill(0);
    (variance.data as Float32Array).fill(1);
    (tracked.data as BigInt64Array)[0] = 0n;
  }

  override parameters(): Parameter[] {
    this.assertAlive();
    return [...this.params];
  }

  override buffers(): LayerBuffer[] {
    this.assertAlive();
    return [...this.stateBuffers];
  }

  /** The weight (γ), or null without an affine transform. */
  get weight(): Float32Array | null {
    return this.params[0]?.data ?? null;
  }
  get bias(): Float32Array | null {
    return this.params[1]?.data ?? null;
  }
  get weightGrad(): Float32Array | null {
    return this.params[0]?.grad ?? null;
  }
  get biasGrad(): Float32Array | null {
    return this.params[1]?.grad ?? null;
  }

  protected abstract kernelParams(): Record<string, unknown>;
  protected abstract readonly kernel: LayerKernel;

  /** @internal */
  planEntry(): PlanEntry {
    this.assertAlive();
    const [w, b] = this.params;
    return {
      kernel: this.kernel,
      params: this.kernelParams(),
      weight: w?.dataPtr ?? 0,
      weightGrad: w?.gradPtr ?? 0,
      bias: b?.dataPtr ?? 0,
      biasGrad: b?.gradPtr ?? 0,
    };
  }

  /** @internal The running statistics' addresses for the kernel (0 without them). */
  protected runningPointers(): Record<string, Ptr> {
    const [mean, variance, tracked] = this.stateBuffers;
    return { runningMean: mean?.ptr ?? 0, runningVar: variance?.ptr ?? 0, numBatchesTracked: tracked?.ptr ?? 0 };
  }

  /** @internal */
  override inputWidth(): number {
    return this.features;
  }

  get disposed(): boolean {
    return this.block === null;
  }

  /** @internal */
  override assertAlive(): void {
    if (this.block === null) throw new BackpropError('DISPOSED', `${this.toString()} has been disposed`);
  }

  /** @internal */
  override get ownsMemory(): boolean {
    return true;
  }

  protected override freeMemory(): void {
    this.block?.free();
    this.block = null;
  }
}

// ---- LayerNorm ----

export interface LayerNormOptions {
  /** Added to the variance, ≥ 0 (default 1e-5). */
  eps?: number;
  /** Learn a per-feature weight (init 1) and bias (init 0) (default true). */
  elementwiseAffine?: boolean;
}
interface LayerNormSpec {
  normalizedShape: number;
  eps: number;
  elementwiseAffine: boolean;
}

const layerNormOptions: OptionSpecs<LayerNormSpec> = {
  normalizedShape: size(),
  eps: number(1e-5, { min: 0 }),
  elementwiseAffine: boolean(true),
};

/** torch's normalized_shape for rows of features: n, or [n]. */
function featureCount(shape: unknown): unknown {
  if (!Array.isArray(shape)) return shape;
  if (shape.length === 1) return shape[0];
  throw new BackpropError(
    'SHAPE_MISMATCH',
    `expected LayerNorm normalizedShape to be the number of features of a row (n or [n]): inputs are [batch, features], ` +
      `got [${shape.map((d) => describeValue(d)).join(', ')}]`,
  );
}

/** Per-row normalisation over the last dimension, as torch.nn.LayerNorm: y = (x − mean)/√(var + eps)·weight + bias,
 *  with the row's mean and biased variance (the same in training and eval mode). */
export class LayerNorm extends NormLayer<LayerNormSpec> {
  static readonly kind: LayerKind<LayerNorm, LayerNormSpec> = {
    type: 'LayerNorm',
    options: layerNormOptions,
    positional: ['normalizedShape'],
    create: (o) => new LayerNorm(o.normalizedShape, o),
    parameterShapes: (o): Record<string, number[]> =>
      o.elementwiseAffine ? { weight: [o.normalizedShape], bias: [o.normalizedShape] } : {},
    describe: (layer) => ({ ...layer.options }),
  };
  protected readonly kernel = 'LayerNorm';

  /** `new LayerNorm(features, { eps, elementwiseAffine })`; normalizedShape may also be [features]. */
  constructor(normalizedShape: number | readonly [number], options: LayerNormOptions = {}) {
    const given = { ...(options as object), normalizedShape: featureCount(normalizedShape) };
    const o = readOptions('LayerNorm', layerNormOptions, given);
    super(LayerNorm.kind, o, { features: o.normalizedShape, affine: o.elementwiseAffine, running: false });
  }

  protected kernelParams(): Record<string, unknown> {
    return { eps: this.options.eps };
  }

  override toString(): string {
    const o = this.options;
    return `LayerNorm((${o.normalizedShape},), eps=${py(o.eps)}, elementwise_affine=${o.elementwiseAffine ? 'True' : 'False'})`;
  }
}

// ---- BatchNorm1d ----

export interface BatchNorm1dOptions {
  /** Added to the variance, ≥ 0 (default 1e-5). */
  eps?: number;
  /** Weight of the new batch in the running statistics, in [0, 1] (default 0.1). */
  momentum?: number;
  /** Learn a per-feature weight (init 1) and bias (init 0) (default true). */
  affine?: boolean;
  /** Keep running_mean / running_var for eval mode (default true); without them, eval mode normalises with the
   *  batch's own statistics too. */
  trackRunningStats?: boolean;
}
interface BatchNorm1dSpec {
  numFeatures: number;
  eps: number;
  momentum: number;
  affine: boolean;
  trackRunningStats: boolean;
}

const batchNormOptions: OptionSpecs<BatchNorm1dSpec> = {
  numFeatures: size(),
  eps: number(1e-5, { min: 0 }),
  momentum: number(0.1, { min: 0, max: 1 }),
  affine: boolean(true),
  trackRunningStats: boolean(true),
};

const running = (n: number): Record<string, { shape: number[]; dtype: BufferDtype }> => ({
  running_mean: { shape: [n], dtype: 'float32' },
  running_var: { shape: [n], dtype: 'float32' },
  num_batches_tracked: { shape: [], dtype: 'int64' },
});

/** Per-feature normalisation over the batch, as torch.nn.BatchNorm1d on [batch, features]: in training mode
 *  the batch's mean and biased variance normalise and update the running statistics (running ← (1 −
 *  momentum)·running + momentum·batch, the variance unbiased); in eval mode the running statistics normalise. */
export class BatchNorm1d extends NormLayer<BatchNorm1dSpec> {
  static readonly kind: LayerKind<BatchNorm1d, BatchNorm1dSpec> = {
    type: 'BatchNorm1d',
    options: batchNormOptions,
    positional: ['numFeatures'],
    create: (o) => new BatchNorm1d(o.numFeatures, o),
    parameterShapes: (o): Record<string, number[]> => (o.affine ? { weight: [o.numFeatures], bias: [o.numFeatures] } : {}),
    bufferShapes: (o) => (o.trackRunningStats ? running(o.numFeatures) : {}),
    describe: (layer) => ({ ...layer.options }),
  };
  protected readonly kernel = 'BatchNorm1d';

  constructor(numFeatures: number, options: BatchNorm1dOptions = {}) {
    const o = readOptions('BatchNorm1d', batchNormOptions, { ...(options as object), numFeatures });
    super(BatchNorm1d.kind, o, { features: o.numFeatures, affine: o.affine, running: o.trackRunningStats });
  }

  /** Whether this layer normalises with the batch's own statistics in the given mode (a batch of one row is
   *  then refused, as torch refuses it). */
  usesBatchStatistics(training: boolean): boolean {
    return training || !this.options.trackRunningStats;
  }

  protected kernelParams(): Record<string, unknown> {
    return { eps: this.options.eps, momentum: this.options.momentum, ...this.runningPointers() };
  }

  override toString(): string {
    const o = this.options;
    const bool = (b: boolean) => (b ? 'True' : 'False');
    return (
      `BatchNorm1d(${o.numFeatures}, eps=${py(o.eps)}, momentum=${py(o.momentum)}, affine=${bool(o.affine)}, ` +
      `track_running_stats=${bool(o.trackRunningStats)})`
    );
  }
}

/** Refuses a batch of one row where a BatchNorm1d needs batch statistics, as torch does ("Expected more than 1
 *  value per channel when training"); `where` adds context (an epoch and batch). */
export function checkBatchStatistics(layers: readonly Layer[], rows: number, training: boolean, where = ''): void {
  if (rows > 1) return;
  const k = layers.findIndex((l) => l instanceof BatchNorm1d && l.usesBatchStatistics(training));
  if (k < 0) return;
  const layer = layers[k] as BatchNorm1d;
  throw new BackpropError(
    'SHAPE_MISMATCH',
    `Expected more than 1 value per channel when training, got input size [${rows}, ${layer.features}] at layers[${k}] ` +
      `(${layer})${where}: BatchNorm1d needs at least 2 rows per batch in ${training ? 'training' : 'eval'} mode` +
      (training ? '; use a larger batch, or net.eval() to use the running statistics' : ''),
  );
}

/** Whether a layer is a LayerNorm or BatchNorm1d (layers that own memory and belong to one network). */
export function isNormLayer(layer: unknown): layer is NormLayer<object> {
  return layer instanceof NormLayer;
}
