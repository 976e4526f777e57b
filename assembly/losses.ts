// Losses of a prediction [rows, width] against a target, each forward beside its gradient ∂L/∂pred.
// Reduction 'mean' divides by the element count (MSE, BCE) or by the rows (cross-entropy), as PyTorch.

import { firstOutsideF32 } from "./memory";

export const MSE: i32 = 1;
export const CROSS_ENTROPY_INDEX: i32 = 2; // target: i32 class index per row
export const CROSS_ENTROPY_PROB: i32 = 3; // target: f32 class probabilities [rows, width]
export const BCE: i32 = 4;
export const BCE_WITH_LOGITS: i32 = 5;

export const REDUCTION_MEAN: i32 = 0;
export const REDUCTION_SUM: i32 = 1;

@inline function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

// MSE: L = reduce((p − t)²); ∂L/∂p = 2(p − t)·scale
function mseForward(pred: usize, target: usize, n: i32): f64 {
  let sum: f64 = 0;
  for (let i = 0; i < n; i++) {
    const diff = load<f32>(at(pred, i)) - load<f32>(at(target, i));
    sum += <f64>(diff * diff);
  }
  return sum;
}
function mseBackward(pred: usize, target: usize, grad: usize, n: i32, scale: f32): void {
  let i = 0;
  const norm: f32 = 2 * scale;
  const normV = f32x4.splat(norm);
  for (; i + 4 <= n; i += 4) {
    const diff = f32x4.sub(v128.load(at(pred, i)), v128.load(at(target, i)));
    v128.store(at(grad, i), f32x4.mul(normV, diff));
  }
  for (; i < n; i++) store<f32>(at(grad, i), norm * (load<f32>(at(pred, i)) - load<f32>(at(target, i))));
}

// Cross-entropy on logits z with target distribution q (one-hot or probabilities, smoothed by ε):
//   q_c = (1 − ε)·t_c + ε/C;  L_row = −Σ_c q_c·log softmax(z)_c;  ∂L/∂z_c = softmax_c·Σ_k q_k − q_c
@inline function targetProbability(mode: i32, target: usize, row: i32, c: i32, width: i32, smoothing: f32): f32 {
  const t: f32 = mode == CROSS_ENTROPY_INDEX
    ? (load<i32>(at(target, row)) == c ? 1 : 0)
    : load<f32>(at(target, row * width + c));
  return (1 - smoothing) * t + smoothing / <f32>width;
}

/** log Σ_c e^{z_c} of one row, shifted by its maximum for stability. */
function logSumExp(zRow: usize, width: i32): f32 {
  let top = load<f32>(zRow);
  for (let c = 1; c < width; c++) top = max<f32>(top, load<f32>(at(zRow, c)));
  let sum: f32 = 0;
  for (let c = 0; c < width; c++) sum += Mathf.exp(load<f32>(at(zRow, c)) - top);
  return top + Mathf.log(sum);
}

function crossEntropyForward(mode: i32, logits: usize, target: usize, rows: i32, width: i32, smoothing: f32): f64 {
  let total: f64 = 0;
  for (let r = 0; r < rows; r++) {
    const zRow = at(logits, r * width);
    const lse = logSumExp(zRow, width);
    let rowLoss: f32 = 0;
    for (let c = 0; c < width; c++) {
      rowLoss -= targetProbability(mode, target, r, c, width, smoothing) * (load<f32>(at(zRow, c)) - lse);
    }
    total += <f64>rowLoss;
  }
  return total;
}
function crossEntropyBackward(
  mode: i32, logits: usize, target: usize, grad: usize, rows: i32, width: i32, smoothing: f32, scale: f32,
): void {
  for (let r = 0; r < rows; r++) {
    const zRow = at(logits, r * width), gRow = at(grad, r * width);
    const lse = logSumExp(zRow, width);
    let mass: f32 = 0;
    for (let c = 0; c < width; c++) mass += targetProbability(mode, target, r, c, width, smoothing);
    for (let c = 0; c < width; c++) {
      const softmax = Mathf.exp(load<f32>(at(zRow, c)) - lse);
      store<f32>(at(gRow, c), (softmax * mass - targetProbability(mode, target, r, c, width, smoothing)) * scale);
    }
  }
}

// BCE on probabilities, as PyTorch (logs clamped at −100, gradient's denominator at 1e−12):
//   L = −[t·log p + (1 − t)·log(1 − p)];  ∂L/∂p = (p − t) / max(p(1 − p), 1e−12)
function bceForward(pred: usize, target: usize, n: i32): f64 {
  let total: f64 = 0;
  for (let i = 0; i < n; i++) {
    const p = load<f32>(at(pred, i)), t = load<f32>(at(target, i));
    const logP = max<f32>(Mathf.log(p), -100), logNotP = max<f32>(Mathf.log(1 - p), -100);
    total -= <f64>(t * logP + (1 - t) * logNotP);
  }
  return total;
}
function bceBackward(pred: usize, target: usize, grad: usize, n: i32, scale: f32): void {
  for (let i = 0; i < n; i++) {
    const p = load<f32>(at(pred, i)), t = load<f32>(at(target, i));
    store<f32>(at(grad, i), (p - t) / max<f32>((1 - p) * p, 1e-12) * scale);
  }
}

// BCE on logits, stable for any z: L = max(z, 0) − z·t + log(1 + e^−|z|);  ∂L/∂z = sigmoid(z) − t
function bceWithLogitsForward(logits: usize, target: usize, n: i32): f64 {
  let total: f64 = 0;
  for (let i = 0; i < n; i++) {
    const z = load<f32>(at(logits, i)), t = load<f32>(at(target, i));
    total += <f64>(max<f32>(z, 0) - z * t + Mathf.log1p(Mathf.exp(-Mathf.abs(z))));
  }
  return total;
}
function bceWithLogitsBackward(logits: usize, target: usize, grad: usize, n: i32, scale: f32): void {
  for (let i = 0; i < n; i++) {
    const z = load<f32>(at(logits, i));
    const e = Mathf.exp(-Mathf.abs(z));
    const sigmoid: f32 = z >= 0 ? 1 / (1 + e) : e / (1 + e);
    store<f32>(at(grad, i), (sigmoid - load<f32>(at(target, i))) * scale);
  }
}

/** The count the 'mean' reduction divides by. */
function meanCount(kind: i32, rows: i32, width: i32): i32 {
  return kind == CROSS_ENTROPY_INDEX || kind == CROSS_ENTROPY_PROB ? rows : rows * width;
}

export function lossForward(
  kind: i32, reduction: i32, smoothing: f32, pred: usize, target: usize, rows: i32, width: i32,
): f64 {
  const n = rows * width;
  let total: f64 = 0;
  switch (kind) {
    case MSE: total = mseForward(pred, target, n); break;
    case CROSS_ENTROPY_INDEX:
    case CROSS_ENTROPY_PROB: total = crossEntropyForward(kind, pred, target, rows, width, smoothing); break;
    case BCE: total = bceForward(pred, target, n); break;
    case BCE_WITH_LOGITS: total = bceWithLogitsForward(pred, target, n); break;
    default: unreachable();
  }
  return reduction == REDUCTION_MEAN ? total / <f64>meanCount(kind, rows, width) : total;
}

export function lossBackward(
  kind: i32, reduction: i32, smoothing: f32, pred: usize, target: usize, grad: usize, rows: i32, width: i32,
): void {
  const n = rows * width;
  const scale: f32 = reduction == REDUCTION_MEAN ? <f32>1 / <f32>meanCount(kind, rows, width) : 1;
  switch (kind) {
    case MSE: mseBackward(pred, target, grad, n, scale); break;
    case CROSS_ENTROPY_INDEX:
    case CROSS_ENTROPY_PROB: crossEntropyBackward(kind, pred, target, grad, rows, width, smoothing, scale); break;
    case BCE: bceBackward(pred, target, grad, n, scale); break;
    case BCE_WITH_LOGITS: bceWithLogitsBackward(pred, target, grad, n, scale); break;
    default: unreachable();
  }
}

/** Index of the first prediction a loss cannot take (BCE: outside [0, 1]), or -1. */
export function lossFirstInvalidInput(kind: i32, pred: usize, rows: i32, width: i32): i32 {
  return kind == BCE ? firstOutsideF32(pred, rows * width, 0, 1) : -1;
}

/** Rows whose prediction is right: argmax for cross-entropy, p > 0.5 (z > 0 for logits) per element
 *  for BCE, compared with the target's argmax or value. Returns the count of correct predictions. */
export function countCorrect(kind: i32, pred: usize, target: usize, rows: i32, width: i32): i32 {
  let correct = 0;
  if (kind == CROSS_ENTROPY_INDEX || kind == CROSS_ENTROPY_PROB) {
    for (let r = 0; r < rows; r++) {
      const label = kind == CROSS_ENTROPY_INDEX ? load<i32>(at(target, r)) : argmax(at(target, r * width), width);
      if (argmax(at(pred, r * width), width) == label) correct++;
    }
  } else {
    const threshold: f32 = kind == BCE_WITH_LOGITS ? 0 : 0.5;
    for (let i = 0; i < rows * width; i++) {
      if ((load<f32>(at(pred, i)) > threshold) == (load<f32>(at(target, i)) > 0.5)) correct++;
    }
  }
  return correct;
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
