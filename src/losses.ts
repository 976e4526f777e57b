// Loss functions, each declared once in its class's `kind`: torch.nn's class name, options with defaults and
// rules, and the kernels it runs (by the form of its target). forward() computes the loss in WASM and keeps
// ∂L/∂pred for backward(), as a PyTorch loss followed by loss.backward() would give it; trainStep, fit,
// evaluate and trace run the same kernels inside the network's plan.
import { type Ptr, beginStaging, readF32, writeF32, writeI32, getCore } from './core.js';
import { BackpropError, describeValue } from './errors.js';
import { type FlatRows, type MatrixInput, stageFinite, toFlatRows } from './input.js';
import {
  type LossKernel,
  lossHasAccuracy,
  lossTargetRange,
  readResult,
  statusName,
  structBytes,
  writeLossConfig,
} from './kernel.js';
import { type OptionSpecs, floatArray, number, oneOf, readOptions } from './options.js';
import { lossRejects } from './status.js';

export type Reduction = 'mean' | 'sum';

export interface LossOptions {
  /** 'mean' (default) or 'sum', as PyTorch's reduction. */
  reduction?: Reduction;
}

/** How one kind of loss is built and run. */
export interface LossKind<O extends { reduction: Reduction }> {
  /** torch.nn's class name. */
  readonly type: string;
  readonly options: OptionSpecs<O>;
  /** The kernel for targets given as class indices, and for targets given as values (probabilities or
   *  regression targets); a loss takes the forms it has a kernel for. */
  readonly kernels: { readonly classes?: LossKernel; readonly values?: LossKernel };
  /** The kernel's parameter block values (default: the options themselves). */
  params?(options: O): Record<string, unknown>;
  validate?(options: O): void;
  /** What to do about a prediction outside the kernel's range, for the error message. */
  readonly predictionHint?: string;
  /** What its predictions are when they are not raw scores: probabilities (end the network with Sigmoid)
   *  or log-probabilities (end it with LogSoftmax). */
  readonly takes?: 'probabilities' | 'log-probabilities';
  create(options: O): Loss<O>;
}

/** @internal A target checked against the prediction's shape, ready to be staged in WASM memory. */
export interface PreparedTarget {
  kernel: LossKernel;
  /** Float targets (rows × width) or class indices (one per row). */
  floats: FlatRows | null;
  indices: Int32Array | null;
  /** Bytes per row in WASM memory: width·4 for floats, 4 for indices. */
  rowBytes: number;
  /** What the user called it, for messages. */
  name: string;
}

type TargetInput = MatrixInput | Int32Array;

function isIntegerTypedArray(
  value: unknown,
): value is Int32Array | Uint8Array | Int16Array | Uint16Array | Int8Array | Uint32Array {
  return (
    value instanceof Int32Array ||
    value instanceof Uint8Array ||
    value instanceof Int16Array ||
    value instanceof Uint16Array ||
    value instanceof Int8Array ||
    value instanceof Uint32Array ||
    value instanceof Uint8ClampedArray
  );
}

const reduction = () => oneOf(['mean', 'sum'] as const, 'mean');

/** torch's default ignore_index: no class index is ignored. */
const IGNORE_INDEX_DEFAULT = -100;

export abstract class Loss<O extends { reduction: Reduction } = { reduction: Reduction }> {
  /** The options in force, defaults filled in. */
  readonly options: Readonly<O>;
  /** @internal */ readonly kind: LossKind<O>;
  private lastGrad: Float32Array | null = null;

  protected constructor(kind: LossKind<O>, given: unknown) {
    this.kind = kind;
    const options = readOptions(kind.type, kind.options, given ?? {});
    kind.validate?.(options);
    this.options = Object.freeze(options);
  }

  get reduction(): Reduction {
    return this.options.reduction;
  }

  /** @internal Whether evaluate() reports an accuracy for targets given as `kernel` takes them. */
  hasAccuracy(kernel: LossKernel): boolean {
    return lossHasAccuracy(kernel);
  }

  /** @internal The kernel a Float32Array target of `rows` × `width` values goes to when prepareTarget would take
   *  it as it is, with nothing to check but its finiteness (no class labels, classes or range: MSE, L1, …),
   *  else null. What trainStep's staging fast path asks. */
  plainFloatKernel(): LossKernel | null {
    if (this.plainKernel === undefined) {
      const { classes, values } = this.kind.kernels;
      this.plainKernel = !classes && values && !lossTargetRange(values) ? values : null;
    }
    return this.plainKernel;
  }
  private plainKernel: LossKernel | null | undefined = undefined;

  /** @internal Checks `target` (called `name` in messages) for `rows` predictions of `width` values. */
  prepareTarget(target: unknown, rows: number, width: number, name = 'target'): PreparedTarget {
    const { classes, values } = this.kind.kernels;
    if (classes && (!values || looksLikeLabels(target, rows, width)))
      return this.prepareLabels(classes, target, rows, width, name);
    this.checkClassWeights(width);
    const ignore = (this.options as { ignoreIndex?: number }).ignoreIndex;
    if (classes && ignore !== undefined && ignore !== IGNORE_INDEX_DEFAULT) {
      throw new BackpropError(
        'BAD_OPTION',
        `${this.kind.type} ignoreIndex (${ignore}) applies to class-index targets, but ${name} holds class probabilities ` +
          '(as in torch, which refuses it too): give labels as an Int32Array, or leave ignoreIndex at its default',
      );
    }
    const given = (target as { length?: unknown } | null)?.length;
    if (classes && width > 1 && given === rows && !Array.isArray((target as unknown[])[0])) {
      // one value per row where probabilities need `width`: float labels, most likely
      throw new BackpropError(
        'SHAPE_MISMATCH',
        `expected ${name} as ${rows} class labels or ${rows} rows of ${width} probabilities, got ${rows} floats (a ` +
          `${(target as object).constructor.name}): class labels must be integers, given as an Int32Array or a number[]`,
      );
    }
    const floats = toFlatRows(target, name, width);
    if (floats.rows !== rows) {
      throw new BackpropError(
        'SHAPE_MISMATCH',
        `expected ${name} to have ${rows} rows of ${width} (one per prediction), got ${floats.rows}`,
      );
    }
    return { kernel: values!, floats, indices: null, rowBytes: width * 4, name };
  }

  private prepareLabels(kernel: LossKernel, target: unknown, rows: number, width: number, name: string): PreparedTarget {
    this.checkClassWeights(width);
    if (!isIntegerTypedArray(target) && !Array.isArray(target) && !ArrayBuffer.isView(target)) {
      throw new BackpropError(
        'BAD_TYPE',
        `expected ${name} to hold ${rows} class indices (an Int32Array or number[]), got ${describeValue(target)}`,
      );
    }
    const labels = target as ArrayLike<unknown>;
    if (labels.length !== rows) {
      throw new BackpropError(
        'SHAPE_MISMATCH',
        `expected ${name} to hold ${rows} class indices (one per row), got ${labels.length}`,
      );
    }
    const ignore = (this.options as { ignoreIndex?: number }).ignoreIndex;
    const indices = new Int32Array(rows);
    for (let r = 0; r < rows; r++) {
      const label = labels[r];
      if (typeof label !== 'number' || !Number.isInteger(label) || ((label < 0 || label >= width) && label !== ignore)) {
        const integer = typeof label === 'number' && !Number.isInteger(label) ? ' (class labels are integers)' : '';
        throw new BackpropError(
          'OUT_OF_RANGE',
          `expected ${name}[${r}] to be a class index in [0, ${width - 1}]${ignore !== undefined ? ` or ignoreIndex ${ignore}` : ''}, ` +
            `got ${describeValue(label)}${integer}`,
        );
      }
      indices[r] = label;
    }
    return { kernel, floats: null, indices, rowBytes: 4, name };
  }

  /** Per-class weights must have one weight per class of the predictions. */
  private checkClassWeights(width: number): void {
    const weight = (this.options as { weight?: Float32Array }).weight;
    if (weight !== undefined && weight.length !== width) {
      throw new BackpropError(
        'SHAPE_MISMATCH',
        `${this.kind.type} weight has ${weight.length} values, but the predictions have ${width} classes (one weight per class)`,
      );
    }
  }

  /** @internal Copies a prepared target to `ptr` and checks its values. */
  stageTarget(target: PreparedTarget, ptr: Ptr, width: number): void {
    if (target.indices) {
      writeI32(ptr, target.indices);
      return;
    }
    const floats = target.floats!;
    stageFinite(floats, ptr, target.name, width);
    const range = lossTargetRange(target.kernel);
    if (range) checkRange(this.kind.type, ptr, floats.values.length, target.name, range, (i) => floats.original(i), width);
  }

  /** @internal Bytes that stageConfig() takes from its allocator (in 16-byte aligned pieces). */
  configBytes(): number {
    const weight = (this.options as { weight?: Float32Array }).weight;
    return Math.ceil(structBytes('LossConfig') / 16) * 16 + (weight ? Math.ceil((weight.length * 4) / 16) * 16 : 0);
  }

  /** @internal Writes this loss's LossConfig for `kernel` (and its class weights) into memory from `alloc`. */
  stageConfig(kernel: LossKernel, alloc: (bytes: number) => Ptr): Ptr {
    const config = alloc(structBytes('LossConfig'));
    const options = this.options as Record<string, unknown>;
    const params = { ...(this.kind.params?.(this.options) ?? options) };
    const weight = options.weight as Float32Array | undefined;
    if (weight !== undefined) {
      params.weight = alloc(weight.length * 4);
      writeF32(params.weight as number, weight);
    }
    writeLossConfig(config, kernel, this.reduction, params);
    return config;
  }

  /** The loss of `pred` against `target`; remembers ∂L/∂pred for backward(). `pred` as rows (number[][])
   *  gives the row width; a flat Float32Array is taken as one value per row unless `width` is given. */
  forward(pred: MatrixInput, target: TargetInput, width?: number): number {
    const rowWidth = width ?? this.inferWidth(pred, target);
    const predRows = toFlatRows(pred, 'pred', rowWidth);
    const prepared = this.prepareTarget(target, predRows.rows, rowWidth);
    const n = predRows.values.length;
    const staging = beginStaging();
    const predPtr = staging.floats(n, 'pred'),
      targetPtr = staging.floats(n, 'target'),
      gradPtr = staging.floats(n, 'the gradient');
    stageFinite(predRows, predPtr, 'pred', rowWidth);
    this.stageTarget(prepared, targetPtr, rowWidth);
    const config = this.stageConfig(prepared.kernel, (bytes) => staging.alloc(bytes));
    const status = statusName(getCore().lossEvaluate(config, predPtr, targetPtr, gradPtr, predRows.rows, rowWidth));
    if (status === 'invalidPrediction') {
      const bad = readResult().where;
      throw lossRejects(this, prepared.kernel, bad, rowWidth, '', 'pred', readF32(predPtr + bad * 4, 1)[0]);
    }
    this.lastGrad = readF32(gradPtr, n);
    return readResult().loss;
  }

  /** @internal */
  protected inferWidth(pred: unknown, target: unknown): number {
    if (Array.isArray(pred) && Array.isArray(pred[0])) return pred[0].length || 1;
    if (Array.isArray(target) && Array.isArray(target[0])) return target[0].length || 1;
    if (this.kind.kernels.classes) return this.inferClasses(pred, target);
    return 1;
  }

  /** Classes per row of flat logits, from the number of labels. */
  private inferClasses(pred: unknown, target: unknown): number {
    const predLength = (pred as ArrayLike<number>)?.length;
    if (isIntegerTypedArray(target) || (Array.isArray(target) && !Array.isArray(target[0]))) {
      const labels = (target as ArrayLike<unknown>).length;
      if (labels > 0 && predLength % labels === 0) return predLength / labels;
    }
    throw new BackpropError(
      'SHAPE_MISMATCH',
      'cannot tell the number of classes: give logits as rows (number[][]), class indices as target, or forward(pred, target, classes)',
    );
  }

  /** ∂L/∂pred of the last forward(), a new Float32Array. */
  backward(): Float32Array {
    if (!this.lastGrad) throw new BackpropError('BAD_STATE', 'loss.backward() needs a loss.forward() first');
    return this.lastGrad.slice();
  }

  toString(): string {
    return `${this.kind.type}()`;
  }
}

/** Whether a target for a loss that takes class indices or probabilities is given as indices. */
function looksLikeLabels(target: unknown, rows: number, width: number): boolean {
  return (
    isIntegerTypedArray(target) ||
    (Array.isArray(target) && target.length === rows && !Array.isArray(target[0]) && (width > 1 || rows === 1))
  );
}

function checkRange(
  loss: string,
  ptr: Ptr,
  n: number,
  name: string,
  [low, high]: readonly [number, number],
  valueAt: (i: number) => unknown,
  width: number,
): void {
  const bad = getCore().firstOutsideF32(ptr, n, low, high);
  if (bad < 0) return;
  const where = width === 1 ? `${name}[${bad}]` : `${name}[${Math.floor(bad / width)}][${bad % width}]`;
  throw new BackpropError(
    'OUT_OF_RANGE',
    `${loss} expects ${name} values in [${low}, ${high}], got ${describeValue(valueAt(bad))} at ${where}`,
  );
}

/** A loss kind whose kernel parameters are its options. */
function lossKind<O extends { reduction: Reduction }>(kind: LossKind<O>): LossKind<O> {
  return kind;
}

type ReductionOnly = { reduction: Reduction };

/** Mean squared error, as torch.nn.MSELoss: mean((pred − target)²) over all elements. */
export class MSELoss extends Loss<ReductionOnly> {
  static readonly kind = lossKind<ReductionOnly>({
    type: 'MSELoss',
    options: { reduction: reduction() },
    kernels: { values: 'MSE' },
    create: (o) => new MSELoss(o),
  });
  constructor(options: LossOptions = {}) {
    super(MSELoss.kind, options);
  }
}

/** Mean absolute error, as torch.nn.L1Loss (gradient 0 where pred = target). */
export class L1Loss extends Loss<ReductionOnly> {
  static readonly kind = lossKind<ReductionOnly>({
    type: 'L1Loss',
    options: { reduction: reduction() },
    kernels: { values: 'L1' },
    create: (o) => new L1Loss(o),
  });
  constructor(options: LossOptions = {}) {
    super(L1Loss.kind, options);
  }
}

export interface SmoothL1Options extends LossOptions {
  /** Where the loss turns from quadratic to linear, ≥ 0 (default 1; 0 is L1). */
  beta?: number;
}

/** |d| < β ? d²/(2β) : |d| − β/2, as torch.nn.SmoothL1Loss. */
export class SmoothL1Loss extends Loss<Required<SmoothL1Options>> {
  static readonly kind = lossKind<Required<SmoothL1Options>>({
    type: 'SmoothL1Loss',
    options: { reduction: reduction(), beta: number(1, { min: 0 }) },
    kernels: { values: 'SmoothL1' },
    create: (o) => new SmoothL1Loss(o),
  });
  constructor(options: SmoothL1Options = {}) {
    super(SmoothL1Loss.kind, options);
  }
}

export interface HuberOptions extends LossOptions {
  /** Where the loss turns from quadratic to linear, > 0 (default 1). */
  delta?: number;
}

/** |d| < δ ? d²/2 : δ·(|d| − δ/2), as torch.nn.HuberLoss. */
export class HuberLoss extends Loss<Required<HuberOptions>> {
  static readonly kind = lossKind<Required<HuberOptions>>({
    type: 'HuberLoss',
    options: { reduction: reduction(), delta: number(1, { above: 0 }) },
    kernels: { values: 'Huber' },
    create: (o) => new HuberLoss(o),
  });
  constructor(options: HuberOptions = {}) {
    super(HuberLoss.kind, options);
  }
}

export interface ClassWeightOptions extends LossOptions {
  /** A weight per class (a Float32Array of C finite values); the mean then divides by the summed weight of
   *  the targets, as torch. */
  weight?: Float32Array | number[];
  /** A class index whose rows add nothing to the loss, its gradient or its mean (default −100, as torch). */
  ignoreIndex?: number;
}

export interface CrossEntropyOptions extends ClassWeightOptions {
  /** Mixes the target with the uniform distribution: q = (1 − ε)·target + ε/C (default 0). */
  labelSmoothing?: number;
}

type ResolvedCrossEntropy = {
  reduction: Reduction;
  weight: Float32Array | undefined;
  ignoreIndex: number;
  labelSmoothing: number;
};

const classWeightOptions = {
  reduction: reduction(),
  weight: floatArray(),
  ignoreIndex: number(IGNORE_INDEX_DEFAULT, { integer: true }),
};

/** Cross-entropy on logits, as torch.nn.CrossEntropyLoss (log-softmax fused; mean over the batch).
 *  Targets: class indices (Int32Array or number[], one per row) or class probabilities (rows × classes). */
export class CrossEntropyLoss extends Loss<ResolvedCrossEntropy> {
  static readonly kind = lossKind<ResolvedCrossEntropy>({
    type: 'CrossEntropyLoss',
    options: { ...classWeightOptions, labelSmoothing: number(0, { min: 0, max: 1 }) },
    kernels: { classes: 'CrossEntropyIndex', values: 'CrossEntropyProb' },
    create: (o) => new CrossEntropyLoss(o),
  });
  constructor(options: CrossEntropyOptions = {}) {
    super(CrossEntropyLoss.kind, options);
  }
  get labelSmoothing(): number {
    return this.options.labelSmoothing;
  }
}

type ResolvedNLL = { reduction: Reduction; weight: Float32Array | undefined; ignoreIndex: number };

/** Negative log-likelihood of class indices given log-probabilities (end the network with LogSoftmax), as
 *  torch.nn.NLLLoss: −w_y·x_y per row. */
export class NLLLoss extends Loss<ResolvedNLL> {
  static readonly kind = lossKind<ResolvedNLL>({
    type: 'NLLLoss',
    options: classWeightOptions,
    kernels: { classes: 'NLL' },
    create: (o) => new NLLLoss(o),
    params: (o) => ({ ignoreIndex: o.ignoreIndex, labelSmoothing: 0 }),
    takes: 'log-probabilities',
  });
  constructor(options: ClassWeightOptions = {}) {
    super(NLLLoss.kind, options);
  }
}

/** Binary cross-entropy on probabilities in [0, 1], as torch.nn.BCELoss (logs clamped at −100). */
export class BCELoss extends Loss<ReductionOnly> {
  static readonly kind = lossKind<ReductionOnly>({
    type: 'BCELoss',
    options: { reduction: reduction() },
    kernels: { values: 'BCE' },
    create: (o) => new BCELoss(o),
    predictionHint: 'end the network with Sigmoid, or use BCEWithLogitsLoss on raw outputs',
    takes: 'probabilities',
  });
  constructor(options: LossOptions = {}) {
    super(BCELoss.kind, options);
  }
}

/** Sigmoid and binary cross-entropy in one stable step, as torch.nn.BCEWithLogitsLoss. */
export class BCEWithLogitsLoss extends Loss<ReductionOnly> {
  static readonly kind = lossKind<ReductionOnly>({
    type: 'BCEWithLogitsLoss',
    options: { reduction: reduction() },
    kernels: { values: 'BCEWithLogits' },
    create: (o) => new BCEWithLogitsLoss(o),
  });
  constructor(options: LossOptions = {}) {
    super(BCEWithLogitsLoss.kind, options);
  }
}
