// Loss functions. forward() computes the loss in WASM and keeps ∂L/∂pred for backward(), as a PyTorch
// loss followed by loss.backward() would give it. Network.trainStep and fit use the same kernels directly.
import { alignFloats, getCore, readF32, scratchF32, writeI32 } from './core.js';
import { BackpropError, describeValue } from './errors.js';
import { type FlatRows, type MatrixInput, checkOptionKeys, requireFiniteNumber, stageFinite, toFlatRows } from './input.js';

/** Kernel ids shared with assembly/losses.ts. */
export enum LossKernel {
  Mse = 1,
  CrossEntropyIndex = 2,
  CrossEntropyProb = 3,
  Bce = 4,
  BceWithLogits = 5,
}

export type Reduction = 'mean' | 'sum';

export interface LossOptions {
  /** 'mean' (default) or 'sum', as PyTorch's reduction. */
  reduction?: Reduction;
}

/** A target checked against the prediction's shape, ready to be staged in WASM memory. */
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

function isIntegerTypedArray(value: unknown): value is Int32Array | Uint8Array | Int16Array | Uint16Array | Int8Array | Uint32Array {
  return value instanceof Int32Array || value instanceof Uint8Array || value instanceof Int16Array ||
    value instanceof Uint16Array || value instanceof Int8Array || value instanceof Uint32Array || value instanceof Uint8ClampedArray;
}

export abstract class Loss {
  /** @internal */ abstract readonly kernelKind: LossKernel;
  readonly reduction: Reduction;
  /** @internal */ readonly smoothing: number = 0;
  private lastGrad: Float32Array | null = null;

  constructor(options: LossOptions = {}, extraKeys: string[] = []) {
    checkOptionKeys(options, ['reduction', ...extraKeys], this.constructor.name);
    const reduction = options.reduction ?? 'mean';
    if (reduction !== 'mean' && reduction !== 'sum') {
      throw new BackpropError('BAD_OPTION', `expected reduction 'mean' or 'sum', got ${describeValue(reduction)}`);
    }
    this.reduction = reduction;
  }

  /** @internal */
  get reductionCode(): number {
    return this.reduction === 'mean' ? 0 : 1;
  }

  /** @internal Whether predictions are classified by this loss (evaluate() then reports accuracy). */
  get hasAccuracy(): boolean {
    return this.kernelKind !== LossKernel.Mse;
  }

  /** @internal Checks `target` (called `name` in messages) for `rows` predictions of `width` values. */
  prepareTarget(target: unknown, rows: number, width: number, name = 'target'): PreparedTarget {
    const floats = toFlatRows(target, name, width);
    if (floats.rows !== rows) {
      throw new BackpropError('SHAPE_MISMATCH', `expected ${name} to have ${rows} rows of ${width} (one per prediction), got ${floats.rows}`);
    }
    return { kernel: this.kernelKind, floats, indices: null, rowBytes: width * 4, name };
  }

  /** @internal Copies a prepared target to `ptr` and checks its values. */
  stageTarget(target: PreparedTarget, ptr: number, width: number): void {
    if (target.indices) writeI32(ptr, target.indices);
    else stageFinite(target.floats!, ptr, target.name, width);
  }

  /** @internal Checks staged predictions (BCE needs probabilities). */
  checkPrediction(_ptr: number, _rows: number, _width: number): void {}

  /** The loss of `pred` against `target`; remembers ∂L/∂pred for backward(). `pred` as rows (number[][])
   *  gives the row width; a flat Float32Array is taken as one value per row unless `width` is given. */
  forward(pred: MatrixInput, target: TargetInput, width?: number): number {
    const rowWidth = width ?? this.inferWidth(pred, target);
    const predRows = toFlatRows(pred, 'pred', rowWidth);
    const prepared = this.prepareTarget(target, predRows.rows, rowWidth);
    const n = predRows.values.length;
    const predPtr = scratchF32(alignFloats(n) * 3);
    const targetPtr = predPtr + alignFloats(n) * 4;
    const gradPtr = targetPtr + alignFloats(n) * 4;
    stageFinite(predRows, predPtr, 'pred', rowWidth);
    this.checkPrediction(predPtr, predRows.rows, rowWidth);
    this.stageTarget(prepared, targetPtr, rowWidth);
    const core = getCore();
    const args = [prepared.kernel, this.reductionCode, this.smoothing, predPtr, targetPtr] as const;
    const value = core.lossForward(...args, predRows.rows, rowWidth);
    core.lossBackward(...args, gradPtr, predRows.rows, rowWidth);
    this.lastGrad = readF32(gradPtr, n);
    return value;
  }

  /** @internal */
  protected inferWidth(pred: unknown, target: unknown): number {
    if (Array.isArray(pred) && Array.isArray(pred[0])) return pred[0].length || 1;
    if (Array.isArray(target) && Array.isArray(target[0])) return target[0].length || 1;
    return 1;
  }

  /** ∂L/∂pred of the last forward(), a new Float32Array. */
  backward(): Float32Array {
    if (!this.lastGrad) throw new BackpropError('BAD_STATE', 'loss.backward() needs a loss.forward() first');
    return this.lastGrad.slice();
  }
}

/** Mean squared error, as torch.nn.MSELoss: mean((pred − target)²) over all elements. */
export class MSELoss extends Loss {
  /** @internal */ readonly kernelKind = LossKernel.Mse;
}

export interface CrossEntropyOptions extends LossOptions {
  /** Mixes the target with the uniform distribution: q = (1 − ε)·target + ε/C (default 0). */
  labelSmoothing?: number;
}

/** Cross-entropy on logits, as torch.nn.CrossEntropyLoss (log-softmax fused; mean over the batch).
 *  Targets: class indices (Int32Array or number[], one per row) or class probabilities (rows × classes). */
export class CrossEntropyLoss extends Loss {
  /** @internal */ readonly kernelKind = LossKernel.CrossEntropyIndex;
  /** @internal */ override readonly smoothing: number;

  constructor(options: CrossEntropyOptions = {}) {
    super(options, ['labelSmoothing']);
    this.smoothing = requireFiniteNumber(options.labelSmoothing ?? 0, 'labelSmoothing', (v) => v >= 0 && v <= 1, 'in [0, 1]');
  }

  get labelSmoothing(): number {
    return this.smoothing;
  }

  override prepareTarget(target: unknown, rows: number, width: number, name = 'target'): PreparedTarget {
    const asIndices = isIntegerTypedArray(target) ||
      (Array.isArray(target) && target.length === rows && !Array.isArray(target[0]) && (width > 1 || rows === 1));
    if (!asIndices) {
      const prepared = super.prepareTarget(target, rows, width, name);
      return { ...prepared, kernel: LossKernel.CrossEntropyProb };
    }
    const labels = target as ArrayLike<unknown>;
    if (labels.length !== rows) {
      throw new BackpropError('SHAPE_MISMATCH', `expected ${name} to hold ${rows} class indices (one per row), got ${labels.length}`);
    }
    const indices = new Int32Array(rows);
    for (let r = 0; r < rows; r++) {
      const label = labels[r];
      if (typeof label !== 'number' || !Number.isInteger(label) || label < 0 || label >= width) {
        throw new BackpropError(
          'OUT_OF_RANGE',
          `expected ${name}[${r}] to be a class index in [0, ${width - 1}], got ${describeValue(label)}`,
        );
      }
      indices[r] = label;
    }
    return { kernel: LossKernel.CrossEntropyIndex, floats: null, indices, rowBytes: 4, name };
  }

  protected override inferWidth(pred: unknown, target: unknown): number {
    const predLength = (pred as ArrayLike<number>)?.length;
    if (!(Array.isArray(pred) && Array.isArray(pred[0])) && (isIntegerTypedArray(target) || (Array.isArray(target) && !Array.isArray(target[0])))) {
      const labels = (target as ArrayLike<unknown>).length;
      if (labels > 0 && predLength % labels === 0) return predLength / labels;
    }
    const width = super.inferWidth(pred, target);
    if (width === 1 && !(Array.isArray(pred) && Array.isArray(pred[0]))) {
      throw new BackpropError(
        'SHAPE_MISMATCH',
        'cannot tell the number of classes: give logits as rows (number[][]), class indices as target, or forward(pred, target, classes)',
      );
    }
    return width;
  }
}

/** The binary losses: their targets are probabilities in [0, 1]. */
abstract class BinaryLoss extends Loss {
  override stageTarget(target: PreparedTarget, ptr: number, width: number): void {
    super.stageTarget(target, ptr, width);
    checkProbabilities(this.constructor.name, ptr, target.floats!.values.length, target.name, (i) => target.floats!.original(i), width);
  }
}

/** Binary cross-entropy on probabilities in [0, 1], as torch.nn.BCELoss (logs clamped at −100). */
export class BCELoss extends BinaryLoss {
  /** @internal */ readonly kernelKind = LossKernel.Bce;

  override checkPrediction(ptr: number, rows: number, width: number): void {
    checkProbabilities(this.constructor.name, ptr, rows * width, 'pred', (i) => readF32(ptr + i * 4, 1)[0], width);
  }
}

function checkProbabilities(
  loss: string, ptr: number, n: number, name: string, valueAt: (i: number) => unknown, width: number,
): void {
  const bad = getCore().firstOutsideF32(ptr, n, 0, 1);
  if (bad < 0) return;
  const where = width === 1 ? `${name}[${bad}]` : `${name}[${Math.floor(bad / width)}][${bad % width}]`;
  throw new BackpropError(
    'OUT_OF_RANGE',
    `${loss} expects ${name} values in [0, 1], got ${describeValue(valueAt(bad))} at ${where}` +
      (name === 'pred' ? ' (end the network with Sigmoid, or use BCEWithLogitsLoss on raw outputs)' : ''),
  );
}

/** Sigmoid and binary cross-entropy in one stable step, as torch.nn.BCEWithLogitsLoss. */
export class BCEWithLogitsLoss extends BinaryLoss {
  /** @internal */ readonly kernelKind = LossKernel.BceWithLogits;
}
