// Optimizer updates over a block in linear memory that the JS-side optimizer owns:
//   header (96 bytes): kind, parameter count, steps taken, flags; hyper-parameters as f64
//   table: one 20-byte row per parameter: data, grad, size, state1, state2
// The layout is mirrored by src/optimizers.ts (Header, HEADER_BYTES, ROW_BYTES); change both together.
// Scalars are formed in f64 and rounded to f32 where PyTorch rounds its Python floats, so the element
// updates follow torch.optim's float32 arithmetic operation for operation.

export const SGD: i32 = 1;
export const ADAM: i32 = 2;
export const ADAMW: i32 = 3;

export const OPT_KIND: usize = 0;
export const OPT_COUNT: usize = 4;
export const OPT_STEP: usize = 8;
export const OPT_NESTEROV: usize = 12;
export const OPT_LR: usize = 16;
export const OPT_MOMENTUM: usize = 24;
export const OPT_DAMPENING: usize = 32;
export const OPT_WEIGHT_DECAY: usize = 40;
export const OPT_BETA1: usize = 48;
export const OPT_BETA2: usize = 56;
export const OPT_EPS: usize = 64;
export const OPT_CLIP_NORM: usize = 72; // 0: no clipping
export const OPT_TABLE: usize = 96;
export const OPT_ROW: usize = 20;

@inline function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

@inline function row(block: usize, k: i32): usize {
  return block + OPT_TABLE + <usize>k * OPT_ROW;
}

// SGD (torch.optim.SGD), per element:
//   g = grad + weightDecay·p
//   momentum ≠ 0: buf = first step ? g : momentum·buf + (1 − dampening)·g
//                 g = nesterov ? g + momentum·buf : buf
//   p = p − lr·g
function sgdUpdate(
  param: usize, grad: usize, buf: usize, n: i32, firstStep: bool,
  lr: f32, momentum: f32, keep: f32, nesterov: bool, weightDecay: f32,
): void {
  let i = 0;
  if (momentum == 0 && weightDecay == 0) {
    // plain SGD, the common case: p = p − lr·g, four at a time
    const lrV = f32x4.splat(lr);
    for (; i + 4 <= n; i += 4) {
      v128.store(at(param, i), f32x4.sub(v128.load(at(param, i)), f32x4.mul(lrV, v128.load(at(grad, i)))));
    }
  }
  for (; i < n; i++) {
    const p = load<f32>(at(param, i));
    let g = load<f32>(at(grad, i));
    if (weightDecay != 0) g = g + weightDecay * p;
    if (momentum != 0) {
      const b = firstStep ? g : momentum * load<f32>(at(buf, i)) + keep * g;
      store<f32>(at(buf, i), b);
      g = nesterov ? g + momentum * b : b;
    }
    store<f32>(at(param, i), p - lr * g);
  }
}

function sgdStep(block: usize): void {
  const firstStep = load<i32>(block + OPT_STEP) == 0;
  const lr = <f32>load<f64>(block + OPT_LR);
  const momentum = <f32>load<f64>(block + OPT_MOMENTUM);
  const keep = <f32>(1.0 - load<f64>(block + OPT_DAMPENING));
  const weightDecay = <f32>load<f64>(block + OPT_WEIGHT_DECAY);
  const nesterov = load<i32>(block + OPT_NESTEROV) != 0;
  const count = load<i32>(block + OPT_COUNT);
  for (let k = 0; k < count; k++) {
    const r = row(block, k);
    sgdUpdate(
      load<u32>(r), load<u32>(r, 4), load<u32>(r, 12), load<i32>(r, 8), firstStep,
      lr, momentum, keep, nesterov, weightDecay,
    );
  }
}

// Adam / AdamW (torch.optim.Adam, torch.optim.AdamW), step t ≥ 1, per element:
//   Adam:  g = grad + weightDecay·p          AdamW: p = p·(1 − lr·weightDecay)
//   m = lerp(m, g, 1 − β1);  v = β2·v + (1 − β2)·g·g
//   p = p − lr/(1 − β1^t) · m / (√v / √(1 − β2^t) + eps)
function adamUpdate(
  param: usize, grad: usize, m: usize, v: usize, n: i32, decoupled: bool,
  decay: f32, shrink: f32, lerpWeight: f32, beta2: f32, oneMinusBeta2: f32,
  negStepSize: f32, correction2Sqrt: f32, eps: f32,
): void {
  for (let i = 0; i < n; i++) {
    let p = load<f32>(at(param, i));
    let g = load<f32>(at(grad, i));
    if (decoupled) p = p * shrink;
    else if (decay != 0) g = g + decay * p;
    const mi = load<f32>(at(m, i));
    // torch.lerp: start + w·(end − start) for w < 0.5, end − (end − start)·(1 − w) otherwise
    const mNew: f32 = lerpWeight < 0.5 ? mi + lerpWeight * (g - mi) : g - (g - mi) * (1 - lerpWeight);
    const vNew: f32 = load<f32>(at(v, i)) * beta2 + oneMinusBeta2 * g * g;
    store<f32>(at(m, i), mNew);
    store<f32>(at(v, i), vNew);
    const denom: f32 = Mathf.sqrt(vNew) / correction2Sqrt + eps;
    store<f32>(at(param, i), p + negStepSize * (mNew / denom));
  }
}

function adamStep(block: usize, decoupled: bool): void {
  const t = <f64>(load<i32>(block + OPT_STEP) + 1);
  const lr = load<f64>(block + OPT_LR);
  const weightDecay = load<f64>(block + OPT_WEIGHT_DECAY);
  const beta1 = load<f64>(block + OPT_BETA1);
  const beta2 = load<f64>(block + OPT_BETA2);
  const stepSize = lr / (1.0 - Math.pow(beta1, t));
  const correction2Sqrt = Math.sqrt(1.0 - Math.pow(beta2, t));
  const count = load<i32>(block + OPT_COUNT);
  for (let k = 0; k < count; k++) {
    const r = row(block, k);
    adamUpdate(
      load<u32>(r), load<u32>(r, 4), load<u32>(r, 12), load<u32>(r, 16), load<i32>(r, 8), decoupled,
      <f32>weightDecay, <f32>(1.0 - lr * weightDecay), <f32>(1.0 - beta1), <f32>beta2, <f32>(1.0 - beta2),
      <f32>-stepSize, <f32>correction2Sqrt, <f32>load<f64>(block + OPT_EPS),
    );
  }
}

// Gradient clipping by global norm (torch.nn.utils.clip_grad_norm_): when ‖g‖₂ over every parameter
// exceeds maxNorm, every gradient is scaled by maxNorm / (‖g‖₂ + 1e−6) before the update.
function clipGradients(block: usize, maxNorm: f64): void {
  const count = load<i32>(block + OPT_COUNT);
  let squares: f64 = 0;
  for (let k = 0; k < count; k++) {
    const r = row(block, k);
    const grad = load<u32>(r, 4), n = load<i32>(r, 8);
    for (let i = 0; i < n; i++) {
      const g = <f64>load<f32>(at(grad, i));
      squares += g * g;
    }
  }
  const coefficient = maxNorm / (Math.sqrt(squares) + 1e-6);
  if (coefficient >= 1) return;
  const scale = f32x4.splat(<f32>coefficient);
  for (let k = 0; k < count; k++) {
    const r = row(block, k);
    const grad = load<u32>(r, 4), n = load<i32>(r, 8);
    let i = 0;
    for (; i + 4 <= n; i += 4) v128.store(at(grad, i), f32x4.mul(v128.load(at(grad, i)), scale));
    for (; i < n; i++) store<f32>(at(grad, i), load<f32>(at(grad, i)) * <f32>coefficient);
  }
}

export function optimizerStep(block: usize): void {
  const maxNorm = load<f64>(block + OPT_CLIP_NORM);
  if (maxNorm > 0) clipGradients(block, maxNorm);
  switch (load<i32>(block + OPT_KIND)) {
    case SGD: sgdStep(block); break;
    case ADAM: adamStep(block, false); break;
    case ADAMW: adamStep(block, true); break;
    default: unreachable();
  }
  store<i32>(block + OPT_STEP, load<i32>(block + OPT_STEP) + 1);
}

export function optimizerZeroGrad(block: usize): void {
  const count = load<i32>(block + OPT_COUNT);
  for (let k = 0; k < count; k++) {
    const r = row(block, k);
    memory.fill(load<u32>(r, 4), 0, <usize>load<i32>(r, 8) << 2);
  }
}
