// Losses over a prediction and a target of n floats, each forward beside its gradient ∂L/∂pred.

export const MSE: i32 = 1;

export const REDUCTION_MEAN: i32 = 0;
export const REDUCTION_SUM: i32 = 1;

@inline function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

// MSE: L = reduce((p − t)²); ∂L/∂p = 2(p − t)·scale, scale = 1/n for the mean, 1 for the sum
function mseForward(pred: usize, target: usize, n: i32, reduction: i32): f64 {
  let sum: f64 = 0;
  for (let i = 0; i < n; i++) {
    const diff = load<f32>(at(pred, i)) - load<f32>(at(target, i));
    sum += <f64>(diff * diff);
  }
  return reduction == REDUCTION_MEAN ? sum / <f64>n : sum;
}
function mseBackward(pred: usize, target: usize, grad: usize, n: i32, reduction: i32): void {
  const norm: f32 = reduction == REDUCTION_MEAN ? <f32>2 / <f32>n : 2;
  let i = 0;
  const normV = f32x4.splat(norm);
  for (; i + 4 <= n; i += 4) {
    const diff = f32x4.sub(v128.load(at(pred, i)), v128.load(at(target, i)));
    v128.store(at(grad, i), f32x4.mul(normV, diff));
  }
  for (; i < n; i++) store<f32>(at(grad, i), norm * (load<f32>(at(pred, i)) - load<f32>(at(target, i))));
}

export function lossForward(kind: i32, reduction: i32, pred: usize, target: usize, n: i32): f64 {
  switch (kind) {
    case MSE: return mseForward(pred, target, n, reduction);
    default: unreachable();
  }
  return 0;
}

export function lossBackward(kind: i32, reduction: i32, pred: usize, target: usize, grad: usize, n: i32): void {
  switch (kind) {
    case MSE: mseBackward(pred, target, grad, n, reduction); break;
    default: unreachable();
  }
}
