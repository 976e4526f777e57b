// Losses of a prediction [rows, width] against a target, each forward beside its gradient ∂L/∂pred.
// A loss is described by a LossConfig (kernel, reduction, the kernel's parameter block). Every kernel
// gives the SUM of its per-item losses and the COUNT that the 'mean' reduction divides by — the element
// count, the rows, or the total class weight of the rows that count, as PyTorch — so that evaluating in
// chunks and averaging over a whole data set use the same rule as a single batch.
import { at, firstOutsideF32 } from "./memory";
import { RESULT } from "./result";
import {
  LOSS_MSE, LOSS_L1, LOSS_SMOOTH_L1, LOSS_HUBER, LOSS_CROSS_ENTROPY_INDEX, LOSS_CROSS_ENTROPY_PROB, LOSS_NLL, LOSS_BCE,
  LOSS_BCE_WITH_LOGITS, LOSS_CONFIG_KERNEL, LOSS_CONFIG_REDUCTION, LOSS_CONFIG_PARAMS, REDUCTION_MEAN,
  SMOOTH_L1_BETA, HUBER_DELTA, CLASS_LOSS_LABEL_SMOOTHING, CLASS_LOSS_IGNORE_INDEX, CLASS_LOSS_WEIGHT,
  RESULT_LOSS, RESULT_LOSS_SUM, RESULT_LOSS_COUNT, RESULT_WHERE, RESULT_CORRECT, RESULT_JUDGED,
  STATUS_OK, STATUS_INVALID_PREDICTION, lossAccuracy, lossThreshold, lossHasPredictionRange, lossPredictionLow,
  lossPredictionHigh,
} from "./generated/abi";

@inline function sign(x: f32): f32 {
  return x > 0 ? 1 : x < 0 ? -1 : 0;
}

// ---- regression: element-wise on d = pred − target ----

// MSE: d²; ∂/∂p = 2d
// L1: |d|; ∂/∂p = sign(d) (0 at d = 0, as PyTorch)
// SmoothL1(β): |d| < β ? d²/(2β) : |d| − β/2; ∂/∂p = |d| < β ? d/β : sign(d) (β = 0 is L1, as PyTorch)
// Huber(δ): |d| < δ ? d²/2 : δ·(|d| − δ/2); ∂/∂p = |d| < δ ? d : δ·sign(d)
@inline function elementLoss(kernel: i32, d: f32, beta: f32): f32 {
  const ad = Mathf.abs(d);
  switch (kernel) {
    case LOSS_MSE: return d * d;
    case LOSS_L1: return ad;
    case LOSS_SMOOTH_L1: return beta == 0 ? ad : ad < beta ? 0.5 * ad * ad / beta : ad - 0.5 * beta;
    default: return ad < beta ? 0.5 * ad * ad : beta * (ad - 0.5 * beta); // Huber, beta = δ
  }
}
@inline function elementGrad(kernel: i32, d: f32, beta: f32): f32 {
  switch (kernel) {
    case LOSS_MSE: return 2 * d;
    case LOSS_L1: return sign(d);
    case LOSS_SMOOTH_L1: return beta == 0 ? sign(d) : Mathf.abs(d) < beta ? d / beta : sign(d);
    default: return Mathf.abs(d) < beta ? d : beta * sign(d);
  }
}

/** The parameter that shapes a regression loss: SmoothL1's β or Huber's δ. */
function regressionParam(kernel: i32, params: usize): f32 {
  if (kernel == LOSS_SMOOTH_L1) return load<f32>(params + SMOOTH_L1_BETA);
  if (kernel == LOSS_HUBER) return load<f32>(params + HUBER_DELTA);
  return 0;
}

function regressionSum(kernel: i32, params: usize, pred: usize, target: usize, n: i32): f64 {
  const beta = regressionParam(kernel, params);
  let sum: f64 = 0;
  for (let i = 0; i < n; i++) sum += <f64>elementLoss(kernel, load<f32>(at(pred, i)) - load<f32>(at(target, i)), beta);
  return sum;
}
function regressionBackward(kernel: i32, params: usize, pred: usize, target: usize, grad: usize, n: i32, scale: f32): void {
  let i = 0;
  if (kernel == LOSS_MSE) {
    const norm = f32x4.splat(2 * scale);
    for (; i + 4 <= n; i += 4) {
      v128.store(at(grad, i), f32x4.mul(norm, f32x4.sub(v128.load(at(pred, i)), v128.load(at(target, i)))));
    }
  }
  const beta = regressionParam(kernel, params);
  for (; i < n; i++) {
    store<f32>(at(grad, i), elementGrad(kernel, load<f32>(at(pred, i)) - load<f32>(at(target, i)), beta) * scale);
  }
}

// ---- classification: one row of `width` class scores per sample ----

/** log Σ_c e^{z_c} of one row, shifted by its maximum for stability. */
function logSumExp(zRow: usize, width: i32): f32 {
  let top = load<f32>(zRow);
  for (let c = 1; c < width; c++) top = max<f32>(top, load<f32>(at(zRow, c)));
  let sum: f32 = 0;
  for (let c = 0; c < width; c++) sum += Mathf.exp(load<f32>(at(zRow, c)) - top);
  return top + Mathf.log(sum);
}

@inline function classWeight(weights: usize, c: i32): f32 {
  return weights ? load<f32>(at(weights, c)) : 1;
}

/** Whether row r of class targets counts (its label is not the ignored index). */
@inline function rowCounts(kernel: i32, params: usize, target: usize, r: i32): bool {
  return kernel == LOSS_CROSS_ENTROPY_PROB || load<i32>(at(target, r)) != load<i32>(params + CLASS_LOSS_IGNORE_INDEX);
}

// Cross-entropy on logits z, for a row with label y (or target probabilities t), class weights w and label
// smoothing ε, as torch.nn.CrossEntropyLoss:
//   L_row = −Σ_c a_c·log softmax(z)_c,  a_c = (1 − ε)·w_y·[c = y] + ε/C·w_c   (labels)
//                                       a_c = w_c·((1 − ε)·t_c + ε/C)          (probabilities)
//   ∂L/∂z_c = softmax_c·Σ_k a_k − a_c
// NLL on log-probabilities x, as torch.nn.NLLLoss: L_row = −w_y·x_y;  ∂L/∂x_c = −w_y·[c = y]
@inline function classCoefficient(kernel: i32, params: usize, target: usize, r: i32, c: i32, width: i32): f32 {
  const weights = load<usize>(params + CLASS_LOSS_WEIGHT);
  const smoothing = load<f32>(params + CLASS_LOSS_LABEL_SMOOTHING);
  if (kernel == LOSS_CROSS_ENTROPY_PROB) {
    return classWeight(weights, c) * ((1 - smoothing) * load<f32>(at(target, r * width + c)) + smoothing / <f32>width);
  }
  const label = load<i32>(at(target, r));
  const hit: f32 = label == c ? (1 - smoothing) * classWeight(weights, label) : 0;
  return hit + (smoothing / <f32>width) * classWeight(weights, c);
}

function classSum(kernel: i32, params: usize, pred: usize, target: usize, rows: i32, width: i32): f64 {
  let total: f64 = 0;
  for (let r = 0; r < rows; r++) {
    if (!rowCounts(kernel, params, target, r)) continue;
    const zRow = at(pred, r * width);
    if (kernel == LOSS_NLL) {
      const label = load<i32>(at(target, r));
      total -= <f64>(classWeight(load<usize>(params + CLASS_LOSS_WEIGHT), label) * load<f32>(at(zRow, label)));
      continue;
    }
    const lse = logSumExp(zRow, width);
    let rowLoss: f32 = 0;
    for (let c = 0; c < width; c++) rowLoss -= classCoefficient(kernel, params, target, r, c, width) * (load<f32>(at(zRow, c)) - lse);
    total += <f64>rowLoss;
  }
  return total;
}

function classBackward(kernel: i32, params: usize, pred: usize, target: usize, grad: usize, rows: i32, width: i32, scale: f32): void {
  for (let r = 0; r < rows; r++) {
    const zRow = at(pred, r * width), gRow = at(grad, r * width);
    if (!rowCounts(kernel, params, target, r)) {
      memory.fill(gRow, 0, <usize>width << 2);
      continue;
    }
    if (kernel == LOSS_NLL) {
      memory.fill(gRow, 0, <usize>width << 2);
      const label = load<i32>(at(target, r));
      store<f32>(at(gRow, label), -classWeight(load<usize>(params + CLASS_LOSS_WEIGHT), label) * scale);
      continue;
    }
    const lse = logSumExp(zRow, width);
    let mass: f32 = 0;
    for (let c = 0; c < width; c++) mass += classCoefficient(kernel, params, target, r, c, width);
    for (let c = 0; c < width; c++) {
      const softmax = Mathf.exp(load<f32>(at(zRow, c)) - lse);
      store<f32>(at(gRow, c), (softmax * mass - classCoefficient(kernel, params, target, r, c, width)) * scale);
    }
  }
}

/** What the mean divides by: rows for probability targets, else the summed class weight of the rows
 *  that count (their number without weights). */
function classCount(kernel: i32, params: usize, target: usize, rows: i32): f64 {
  if (kernel == LOSS_CROSS_ENTROPY_PROB) return <f64>rows;
  const weights = load<usize>(params + CLASS_LOSS_WEIGHT);
  let count: f64 = 0;
  for (let r = 0; r < rows; r++) {
    if (rowCounts(kernel, params, target, r)) count += <f64>classWeight(weights, load<i32>(at(target, r)));
  }
  return count;
}

// ---- binary: probabilities (BCE) or logits (BCE with logits) against targets in [0, 1] ----

// BCE on probabilities, as PyTorch (logs clamped at −100, gradient's denominator at 1e−12):
//   L = −[t·log p + (1 − t)·log(1 − p)];  ∂L/∂p = (p − t) / max(p(1 − p), 1e−12)
// BCE on logits, stable for any z: L = max(z, 0) − z·t + log(1 + e^−|z|);  ∂L/∂z = sigmoid(z) − t
function binarySum(kernel: i32, pred: usize, target: usize, n: i32): f64 {
  let total: f64 = 0;
  for (let i = 0; i < n; i++) {
    const p = load<f32>(at(pred, i)), t = load<f32>(at(target, i));
    if (kernel == LOSS_BCE) {
      const logP = max<f32>(Mathf.log(p), -100), logNotP = max<f32>(Mathf.log(1 - p), -100);
      total -= <f64>(t * logP + (1 - t) * logNotP);
    } else {
      total += <f64>(max<f32>(p, 0) - p * t + Mathf.log1p(Mathf.exp(-Mathf.abs(p))));
    }
  }
  return total;
}
function binaryBackward(kernel: i32, pred: usize, target: usize, grad: usize, n: i32, scale: f32): void {
  for (let i = 0; i < n; i++) {
    const p = load<f32>(at(pred, i)), t = load<f32>(at(target, i));
    let g: f32;
    if (kernel == LOSS_BCE) {
      g = (p - t) / max<f32>((1 - p) * p, 1e-12);
    } else {
      const e = Mathf.exp(-Mathf.abs(p));
      g = (p >= 0 ? 1 / (1 + e) : e / (1 + e)) - t;
    }
    store<f32>(at(grad, i), g * scale);
  }
}

// ---- dispatch ----

@inline function isClassKernel(kernel: i32): bool {
  return kernel == LOSS_CROSS_ENTROPY_INDEX || kernel == LOSS_CROSS_ENTROPY_PROB || kernel == LOSS_NLL;
}

/** Σ of the per-item losses (weighted where the loss has weights). */
export function lossSum(config: usize, pred: usize, target: usize, rows: i32, width: i32): f64 {
  const kernel = load<i32>(config + LOSS_CONFIG_KERNEL);
  const params = config + LOSS_CONFIG_PARAMS;
  if (isClassKernel(kernel)) return classSum(kernel, params, pred, target, rows, width);
  if (kernel == LOSS_BCE || kernel == LOSS_BCE_WITH_LOGITS) return binarySum(kernel, pred, target, rows * width);
  return regressionSum(kernel, params, pred, target, rows * width);
}

/** What the 'mean' reduction divides the sum by. */
export function lossCount(config: usize, target: usize, rows: i32, width: i32): f64 {
  const kernel = load<i32>(config + LOSS_CONFIG_KERNEL);
  return isClassKernel(kernel) ? classCount(kernel, config + LOSS_CONFIG_PARAMS, target, rows) : <f64>rows * <f64>width;
}

/** ∂L/∂pred into `grad`, for a batch whose mean divides by `count`. */
export function lossBackward(config: usize, pred: usize, target: usize, grad: usize, rows: i32, width: i32, count: f64): void {
  const kernel = load<i32>(config + LOSS_CONFIG_KERNEL);
  const params = config + LOSS_CONFIG_PARAMS;
  const scale: f32 = load<i32>(config + LOSS_CONFIG_REDUCTION) == REDUCTION_MEAN ? <f32>(1.0 / count) : 1;
  if (isClassKernel(kernel)) classBackward(kernel, params, pred, target, grad, rows, width, scale);
  else if (kernel == LOSS_BCE || kernel == LOSS_BCE_WITH_LOGITS) binaryBackward(kernel, pred, target, grad, rows * width, scale);
  else regressionBackward(kernel, params, pred, target, grad, rows * width, scale);
}

/** Index of the first prediction the loss cannot take (BCE: outside [0, 1]), or −1. */
export function lossFirstInvalidInput(config: usize, pred: usize, rows: i32, width: i32): i32 {
  const kernel = load<i32>(config + LOSS_CONFIG_KERNEL);
  if (!lossHasPredictionRange(kernel)) return -1;
  return firstOutsideF32(pred, rows * width, lossPredictionLow(kernel), lossPredictionHigh(kernel));
}

/** The loss of one batch: checks the predictions, then writes the reduced loss, its sum and count to the
 *  result and (when `grad` ≠ 0) ∂L/∂pred. Returns a STATUS_*. */
export function lossEvaluate(config: usize, pred: usize, target: usize, grad: usize, rows: i32, width: i32): i32 {
  const invalid = lossFirstInvalidInput(config, pred, rows, width);
  if (invalid >= 0) {
    store<i32>(RESULT + RESULT_WHERE, invalid);
    return STATUS_INVALID_PREDICTION;
  }
  const sum = lossSum(config, pred, target, rows, width);
  const count = lossCount(config, target, rows, width);
  store<f64>(RESULT + RESULT_LOSS_SUM, sum);
  store<f64>(RESULT + RESULT_LOSS_COUNT, count);
  store<f64>(RESULT + RESULT_LOSS, load<i32>(config + LOSS_CONFIG_REDUCTION) == REDUCTION_MEAN ? sum / count : sum);
  if (grad) lossBackward(config, pred, target, grad, rows, width, count);
  return STATUS_OK;
}

function argmax(row: usize, width: i32): i32 {
  let best = 0;
  let top = load<f32>(row);
  for (let c = 1; c < width; c++) {
    const v = load<f32>(at(row, c));
    if (v > top) { top = v; best = c; }
  }
  return best;
}

/** Adds to the result's `correct` and `judged` counts: rows whose argmax matches the label (or the
 *  target's argmax) for the class losses, elements on the right side of the threshold for the binary
 *  ones; nothing for losses without an accuracy. */
export function countCorrect(config: usize, pred: usize, target: usize, rows: i32, width: i32): void {
  const kernel = load<i32>(config + LOSS_CONFIG_KERNEL);
  const params = config + LOSS_CONFIG_PARAMS;
  const mode = lossAccuracy(kernel);
  let correct = 0, judged = 0;
  if (mode == 1) {
    for (let r = 0; r < rows; r++) {
      if (!rowCounts(kernel, params, target, r)) continue;
      const label = kernel == LOSS_CROSS_ENTROPY_PROB ? argmax(at(target, r * width), width) : load<i32>(at(target, r));
      if (argmax(at(pred, r * width), width) == label) correct++;
      judged++;
    }
  } else if (mode == 2) {
    const threshold = lossThreshold(kernel);
    for (let i = 0; i < rows * width; i++) {
      if ((load<f32>(at(pred, i)) > threshold) == (load<f32>(at(target, i)) > 0.5)) correct++;
    }
    judged = rows * width;
  }
  store<f64>(RESULT + RESULT_CORRECT, load<f64>(RESULT + RESULT_CORRECT) + <f64>correct);
  store<f64>(RESULT + RESULT_JUDGED, load<f64>(RESULT + RESULT_JUDGED) + <f64>judged);
}
