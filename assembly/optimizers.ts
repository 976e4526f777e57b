// Optimizer updates over a block in linear memory that the JS-side optimizer owns (abi.json):
//   OptimizerHeader: kernel, parameter count, steps taken, lr, clipGradNorm, the kernel's parameter block
//   then one OptimizerRow per parameter: data, grad, size, and its state slots `stateStride` floats apart,
//   named (in slot order) as torch.optim's state_dict names them.
// Scalars are formed in f64 and rounded to f32 where PyTorch rounds its Python floats, and each element
// update follows torch.optim's float32 operations in their order (addcmul: s + v·a·b, addcdiv: s + v·a/b).
import { at } from "./memory";
import {
  OPT_SGD, OPT_ADAM, OPT_RMSPROP, OPT_ADAGRAD,
  OPTIMIZER_HEADER_KERNEL, OPTIMIZER_HEADER_COUNT, OPTIMIZER_HEADER_STEP, OPTIMIZER_HEADER_LR,
  OPTIMIZER_HEADER_CLIP_GRAD_NORM, OPTIMIZER_HEADER_PARAMS, OPTIMIZER_HEADER_BYTES,
  OPTIMIZER_ROW_DATA, OPTIMIZER_ROW_GRAD, OPTIMIZER_ROW_SIZE, OPTIMIZER_ROW_STATE_STRIDE, OPTIMIZER_ROW_STATE,
  OPTIMIZER_ROW_BYTES,
  SGD_MOMENTUM, SGD_DAMPENING, SGD_WEIGHT_DECAY, SGD_NESTEROV, SGD_STATE_MOMENTUM_BUFFER,
  ADAM_BETA1, ADAM_BETA2, ADAM_EPS, ADAM_WEIGHT_DECAY, ADAM_DECOUPLED, ADAM_AMSGRAD,
  ADAM_STATE_EXP_AVG, ADAM_STATE_EXP_AVG_SQ, ADAM_STATE_MAX_EXP_AVG_SQ,
  RMSPROP_ALPHA, RMSPROP_EPS, RMSPROP_WEIGHT_DECAY, RMSPROP_MOMENTUM, RMSPROP_CENTERED,
  RMSPROP_STATE_SQUARE_AVG, RMSPROP_STATE_MOMENTUM_BUFFER, RMSPROP_STATE_GRAD_AVG,
  ADAGRAD_LR_DECAY, ADAGRAD_WEIGHT_DECAY, ADAGRAD_EPS, ADAGRAD_STATE_SUM,
} from "./generated/abi";

@inline function row(block: usize, k: i32): usize {
  return block + OPTIMIZER_HEADER_BYTES + <usize>k * OPTIMIZER_ROW_BYTES;
}

/** State buffer `slot` of parameter row `r`. */
@inline function state(r: usize, slot: i32): usize {
  return load<usize>(r + OPTIMIZER_ROW_STATE) + (<usize>(slot * load<i32>(r + OPTIMIZER_ROW_STATE_STRIDE)) << 2);
}

@inline function f32At(params: usize, offset: usize): f32 {
  return <f32>load<f64>(params + offset);
}

// SGD (torch.optim.SGD), per element:
//   g = grad + weightDecay·p
//   momentum ≠ 0: buf = first step ? g : momentum·buf + (1 − dampening)·g;  g = nesterov ? g + momentum·buf : buf
//   p = p − lr·g
function sgdStep(block: usize, params: usize, lr: f32, firstStep: bool): void {
  const momentum = f32At(params, SGD_MOMENTUM);
  const keep = <f32>(1.0 - load<f64>(params + SGD_DAMPENING));
  const weightDecay = f32At(params, SGD_WEIGHT_DECAY);
  const nesterov = load<i32>(params + SGD_NESTEROV) != 0;
  const count = load<i32>(block + OPTIMIZER_HEADER_COUNT);
  for (let k = 0; k < count; k++) {
    const r = row(block, k);
    const param = load<usize>(r + OPTIMIZER_ROW_DATA), grad = load<usize>(r + OPTIMIZER_ROW_GRAD);
    const n = load<i32>(r + OPTIMIZER_ROW_SIZE);
    let i = 0;
    if (momentum == 0 && weightDecay == 0) {
      // plain SGD, the common case: p = p − lr·g, four at a time
      const lrV = f32x4.splat(lr);
      for (; i + 4 <= n; i += 4) {
        v128.store(at(param, i), f32x4.sub(v128.load(at(param, i)), f32x4.mul(lrV, v128.load(at(grad, i)))));
      }
    }
    const buf = momentum != 0 ? state(r, SGD_STATE_MOMENTUM_BUFFER) : 0;
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
}

// Adam / AdamW (torch.optim.Adam, torch.optim.AdamW), step t ≥ 1, per element:
//   Adam:  g = grad + weightDecay·p          AdamW: p = p·(1 − lr·weightDecay)
//   m = lerp(m, g, 1 − β1);  v = β2·v + (1 − β2)·g·g;  amsgrad: v̂ = max(v̂, v), else v̂ = v
//   p = p + (−lr/(1 − β1^t))·m / (√v̂ / √(1 − β2^t) + eps)
function adamStep(block: usize, params: usize, lr: f64, t: f64): void {
  const beta1 = load<f64>(params + ADAM_BETA1), beta2 = load<f64>(params + ADAM_BETA2);
  const weightDecay = load<f64>(params + ADAM_WEIGHT_DECAY);
  const decoupled = load<i32>(params + ADAM_DECOUPLED) != 0, amsgrad = load<i32>(params + ADAM_AMSGRAD) != 0;
  const decay = <f32>weightDecay, shrink = <f32>(1.0 - lr * weightDecay);
  const lerpWeight = <f32>(1.0 - beta1), beta2f = <f32>beta2, oneMinusBeta2 = <f32>(1.0 - beta2);
  const negStepSize = <f32>-(lr / (1.0 - Math.pow(beta1, t)));
  const correction2Sqrt = <f32>Math.sqrt(1.0 - Math.pow(beta2, t));
  const eps = f32At(params, ADAM_EPS);
  const count = load<i32>(block + OPTIMIZER_HEADER_COUNT);
  for (let k = 0; k < count; k++) {
    const r = row(block, k);
    const param = load<usize>(r + OPTIMIZER_ROW_DATA), grad = load<usize>(r + OPTIMIZER_ROW_GRAD);
    const m = state(r, ADAM_STATE_EXP_AVG), v = state(r, ADAM_STATE_EXP_AVG_SQ), vMax = state(r, ADAM_STATE_MAX_EXP_AVG_SQ);
    const n = load<i32>(r + OPTIMIZER_ROW_SIZE);
    for (let i = 0; i < n; i++) {
      let p = load<f32>(at(param, i));
      let g = load<f32>(at(grad, i));
      if (decoupled) p = p * shrink;
      else if (decay != 0) g = g + decay * p;
      const mi = load<f32>(at(m, i));
      // torch.lerp: start + w·(end − start) for w < 0.5, end − (end − start)·(1 − w) otherwise
      const mNew: f32 = lerpWeight < 0.5 ? mi + lerpWeight * (g - mi) : g - (g - mi) * (1 - lerpWeight);
      const vNew: f32 = load<f32>(at(v, i)) * beta2f + oneMinusBeta2 * g * g;
      store<f32>(at(m, i), mNew);
      store<f32>(at(v, i), vNew);
      let vHat = vNew;
      if (amsgrad) {
        vHat = max<f32>(load<f32>(at(vMax, i)), vNew);
        store<f32>(at(vMax, i), vHat);
      }
      const denom: f32 = Mathf.sqrt(vHat) / correction2Sqrt + eps;
      store<f32>(at(param, i), p + negStepSize * mNew / denom);
    }
  }
}

// RMSprop (torch.optim.RMSprop), per element:
//   g = grad + weightDecay·p;  s = α·s + (1 − α)·g·g
//   centered: ḡ = α·ḡ + (1 − α)·g;  avg = √(s − ḡ·ḡ) + eps,  else avg = √s + eps
//   momentum > 0: buf = momentum·buf + g/avg;  p = p − lr·buf,  else p = p − lr·g/avg
function rmspropStep(block: usize, params: usize, lr: f32): void {
  const alpha = f32At(params, RMSPROP_ALPHA), oneMinusAlpha = <f32>(1.0 - load<f64>(params + RMSPROP_ALPHA));
  const eps = f32At(params, RMSPROP_EPS), weightDecay = f32At(params, RMSPROP_WEIGHT_DECAY);
  const momentum = f32At(params, RMSPROP_MOMENTUM), centered = load<i32>(params + RMSPROP_CENTERED) != 0;
  const count = load<i32>(block + OPTIMIZER_HEADER_COUNT);
  for (let k = 0; k < count; k++) {
    const r = row(block, k);
    const param = load<usize>(r + OPTIMIZER_ROW_DATA), grad = load<usize>(r + OPTIMIZER_ROW_GRAD);
    const square = state(r, RMSPROP_STATE_SQUARE_AVG), buf = state(r, RMSPROP_STATE_MOMENTUM_BUFFER);
    const gradAvg = state(r, RMSPROP_STATE_GRAD_AVG);
    const n = load<i32>(r + OPTIMIZER_ROW_SIZE);
    for (let i = 0; i < n; i++) {
      const p = load<f32>(at(param, i));
      let g = load<f32>(at(grad, i));
      if (weightDecay != 0) g = g + weightDecay * p;
      const s: f32 = load<f32>(at(square, i)) * alpha + oneMinusAlpha * g * g;
      store<f32>(at(square, i), s);
      let avg: f32;
      if (centered) {
        const mean: f32 = load<f32>(at(gradAvg, i)) * alpha + oneMinusAlpha * g;
        store<f32>(at(gradAvg, i), mean);
        avg = Mathf.sqrt(s - mean * mean) + eps;
      } else {
        avg = Mathf.sqrt(s) + eps;
      }
      if (momentum > 0) {
        const b: f32 = load<f32>(at(buf, i)) * momentum + g / avg;
        store<f32>(at(buf, i), b);
        store<f32>(at(param, i), p + -lr * b);
      } else {
        store<f32>(at(param, i), p + -lr * g / avg);
      }
    }
  }
}

// Adagrad (torch.optim.Adagrad), step t ≥ 1, per element:
//   g = grad + weightDecay·p;  sum = sum + g·g;  p = p − lr/(1 + (t − 1)·lrDecay) · g / (√sum + eps)
function adagradStep(block: usize, params: usize, lr: f64, t: f64): void {
  const weightDecay = f32At(params, ADAGRAD_WEIGHT_DECAY), eps = f32At(params, ADAGRAD_EPS);
  const negClr = <f32>-(lr / (1.0 + (t - 1.0) * load<f64>(params + ADAGRAD_LR_DECAY)));
  const count = load<i32>(block + OPTIMIZER_HEADER_COUNT);
  for (let k = 0; k < count; k++) {
    const r = row(block, k);
    const param = load<usize>(r + OPTIMIZER_ROW_DATA), grad = load<usize>(r + OPTIMIZER_ROW_GRAD);
    const sum = state(r, ADAGRAD_STATE_SUM);
    const n = load<i32>(r + OPTIMIZER_ROW_SIZE);
    for (let i = 0; i < n; i++) {
      const p = load<f32>(at(param, i));
      let g = load<f32>(at(grad, i));
      if (weightDecay != 0) g = g + weightDecay * p;
      const s: f32 = load<f32>(at(sum, i)) + g * g;
      store<f32>(at(sum, i), s);
      store<f32>(at(param, i), p + negClr * g / (Mathf.sqrt(s) + eps));
    }
  }
}

// Gradient clipping by global norm (torch.nn.utils.clip_grad_norm_): when ‖g‖₂ over every parameter
// exceeds maxNorm, every gradient is scaled by maxNorm / (‖g‖₂ + 1e−6) before the update.
function clipGradients(block: usize, maxNorm: f64): void {
  const count = load<i32>(block + OPTIMIZER_HEADER_COUNT);
  let squares: f64 = 0;
  for (let k = 0; k < count; k++) {
    const r = row(block, k);
    const grad = load<usize>(r + OPTIMIZER_ROW_GRAD), n = load<i32>(r + OPTIMIZER_ROW_SIZE);
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
    const grad = load<usize>(r + OPTIMIZER_ROW_GRAD), n = load<i32>(r + OPTIMIZER_ROW_SIZE);
    let i = 0;
    for (; i + 4 <= n; i += 4) v128.store(at(grad, i), f32x4.mul(v128.load(at(grad, i)), scale));
    for (; i < n; i++) store<f32>(at(grad, i), load<f32>(at(grad, i)) * <f32>coefficient);
  }
}

export function optimizerStep(block: usize): void {
  const maxNorm = load<f64>(block + OPTIMIZER_HEADER_CLIP_GRAD_NORM);
  if (maxNorm > 0) clipGradients(block, maxNorm);
  const step = load<i32>(block + OPTIMIZER_HEADER_STEP);
  const lr = load<f64>(block + OPTIMIZER_HEADER_LR);
  const params = block + OPTIMIZER_HEADER_PARAMS;
  switch (load<i32>(block + OPTIMIZER_HEADER_KERNEL)) {
    case OPT_SGD: sgdStep(block, params, <f32>lr, step == 0); break;
    case OPT_ADAM: adamStep(block, params, lr, <f64>(step + 1)); break;
    case OPT_RMSPROP: rmspropStep(block, params, <f32>lr); break;
    case OPT_ADAGRAD: adagradStep(block, params, lr, <f64>(step + 1)); break;
    default: unreachable();
  }
  store<i32>(block + OPTIMIZER_HEADER_STEP, step + 1);
}

export function optimizerZeroGrad(block: usize): void {
  const count = load<i32>(block + OPTIMIZER_HEADER_COUNT);
  for (let k = 0; k < count; k++) {
    const r = row(block, k);
    memory.fill(load<usize>(r + OPTIMIZER_ROW_GRAD), 0, <usize>load<i32>(r + OPTIMIZER_ROW_SIZE) << 2);
  }
}
