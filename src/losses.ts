// Loss functions. forward() computes the loss in WASM and keeps ∂L/∂pred for backward(), as a
// PyTorch loss followed by loss.backward() would give it.
import { alignFloats, getCore, readF32, scratchF32 } from './core.js';
import { BackpropError, describeValue } from './errors.js';
import { type MatrixInput, checkOptionKeys, stageFinite, toFlatRows } from './input.js';

/** Kernel ids shared with assembly/losses.ts. */
const enum LossKernel {
  Mse = 1,
}

export type Reduction = 'mean' | 'sum';

export interface LossOptions {
  /** 'mean' (default) averages over every element, 'sum' adds them, as PyTorch's reduction. */
  reduction?: Reduction;
}

function columnsOf(value: unknown): number {
  return Array.isArray(value) && Array.isArray(value[0]) ? value[0].length || 1 : 1;
}

export abstract class Loss {
  /** @internal */ abstract readonly kernelKind: number;
  readonly reduction: Reduction;
  private lastGrad: Float32Array | null = null;

  constructor(options: LossOptions = {}) {
    checkOptionKeys(options, ['reduction'], this.constructor.name);
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

  /** The loss of `pred` against `target` (same number of values); remembers ∂L/∂pred for backward(). */
  forward(pred: MatrixInput, target: MatrixInput): number {
    const predRows = toFlatRows(pred, 'pred', columnsOf(pred));
    const targetRows = toFlatRows(target, 'target', columnsOf(target));
    const n = predRows.values.length;
    if (targetRows.values.length !== n) {
      throw new BackpropError(
        'SHAPE_MISMATCH',
        `expected target to have ${n} values (as many as pred), got ${targetRows.values.length}`,
      );
    }
    const predPtr = scratchF32(alignFloats(n) * 2 + n);
    const targetPtr = predPtr + alignFloats(n) * 4;
    const gradPtr = targetPtr + alignFloats(n) * 4;
    stageFinite(predRows, predPtr, 'pred', columnsOf(pred));
    stageFinite(targetRows, targetPtr, 'target', columnsOf(target));
    const core = getCore();
    const value = core.lossForward(this.kernelKind, this.reductionCode, predPtr, targetPtr, n);
    core.lossBackward(this.kernelKind, this.reductionCode, predPtr, targetPtr, gradPtr, n);
    this.lastGrad = readF32(gradPtr, n);
    return value;
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
