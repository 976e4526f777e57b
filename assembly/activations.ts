// Element-wise activations a = σ(z), each forward beside its backward ∂L/∂z = σ'(z)·∂L/∂a, and the two
// that work per row (Softmax, LogSoftmax). Backward gets both z (input) and a (output): each derivative
// uses whichever PyTorch uses, and takes PyTorch's choice at every kink. A kernel's hyper-parameters come
// in its parameter block (assembly/abi.json "params"), at `params`.
import { at, loadPart, storePart } from "./memory";
import { expNonPositiveX4 } from "./exp";
import {
  LAYER_IDENTITY, LAYER_RELU, LAYER_LEAKY_RELU, LAYER_SIGMOID, LAYER_TANH, LAYER_SOFTMAX, LAYER_LOG_SOFTMAX,
  LAYER_GELU, LAYER_SILU, LAYER_ELU, LAYER_SOFTPLUS, LAYER_HARDTANH,
  LEAKY_RELU_NEGATIVE_SLOPE, GELU_APPROXIMATE, GELU_APPROXIMATION_TANH, ELU_ALPHA, SOFTPLUS_BETA, SOFTPLUS_THRESHOLD,
  HARDTANH_MIN_VAL, HARDTANH_MAX_VAL,
} from "./generated/abi";

// Identity: a = z; ∂a/∂z = 1
function identityForward(z: usize, a: usize, n: i32): void {
  if (a != z) memory.copy(a, z, <usize>n << 2);
}
function identityBackward(gradA: usize, gradZ: usize, n: i32): void {
  if (gradZ != gradA) memory.copy(gradZ, gradA, <usize>n << 2);
}

// ReLU: a = max(z, 0); ∂a/∂z = [z > 0] (0 at z = 0, as PyTorch)
// (four vectors a trip: V8 does not unroll, and a loop trip costs more than one max)
function reluForward(z: usize, a: usize, n: i32): void {
  let i = 0;
  const zero = f32x4.splat(0);
  for (; i + 16 <= n; i += 16) {
    const zi = at(z, i), ai = at(a, i);
    v128.store(ai, f32x4.max(v128.load(zi), zero));
    v128.store(ai, f32x4.max(v128.load(zi, 16), zero), 16);
    v128.store(ai, f32x4.max(v128.load(zi, 32), zero), 32);
    v128.store(ai, f32x4.max(v128.load(zi, 48), zero), 48);
  }
  for (; i + 4 <= n; i += 4) v128.store(at(a, i), f32x4.max(v128.load(at(z, i)), zero));
  for (; i < n; i++) store<f32>(at(a, i), max<f32>(load<f32>(at(z, i)), 0));
}
function reluBackward(z: usize, gradA: usize, gradZ: usize, n: i32): void {
  let i = 0;
  const zero = f32x4.splat(0);
  for (; i + 16 <= n; i += 16) {
    const zi = at(z, i), gi = at(gradA, i), out = at(gradZ, i);
    v128.store(out, v128.and(v128.load(gi), f32x4.gt(v128.load(zi), zero)));
    v128.store(out, v128.and(v128.load(gi, 16), f32x4.gt(v128.load(zi, 16), zero)), 16);
    v128.store(out, v128.and(v128.load(gi, 32), f32x4.gt(v128.load(zi, 32), zero)), 32);
    v128.store(out, v128.and(v128.load(gi, 48), f32x4.gt(v128.load(zi, 48), zero)), 48);
  }
  for (; i + 4 <= n; i += 4) {
    const positive = f32x4.gt(v128.load(at(z, i)), zero);
    v128.store(at(gradZ, i), v128.and(v128.load(at(gradA, i)), positive));
  }
  for (; i < n; i++) store<f32>(at(gradZ, i), load<f32>(at(z, i)) > 0 ? load<f32>(at(gradA, i)) : 0);
}

// LeakyReLU(slope): a = z > 0 ? z : slope·z; ∂a/∂z = z > 0 ? 1 : slope
function leakyReluForward(z: usize, a: usize, n: i32, slope: f32): void {
  let i = 0;
  const zero = f32x4.splat(0);
  const slopeV = f32x4.splat(slope);
  for (; i + 4 <= n; i += 4) {
    const zv = v128.load(at(z, i));
    v128.store(at(a, i), v128.bitselect(zv, f32x4.mul(zv, slopeV), f32x4.gt(zv, zero)));
  }
  for (; i < n; i++) {
    const zi = load<f32>(at(z, i));
    store<f32>(at(a, i), zi > 0 ? zi : zi * slope);
  }
}
function leakyReluBackward(z: usize, gradA: usize, gradZ: usize, n: i32, slope: f32): void {
  let i = 0;
  const zero = f32x4.splat(0);
  const slopeV = f32x4.splat(slope);
  for (; i + 4 <= n; i += 4) {
    const g = v128.load(at(gradA, i));
    v128.store(at(gradZ, i), v128.bitselect(g, f32x4.mul(g, slopeV), f32x4.gt(v128.load(at(z, i)), zero)));
  }
  for (; i < n; i++) {
    const g = load<f32>(at(gradA, i));
    store<f32>(at(gradZ, i), load<f32>(at(z, i)) > 0 ? g : g * slope);
  }
}

/** 1 / (1 + e^−z), as e^z / (1 + e^z) for z < 0 so that tiny values stay exact. */
@inline function sigmoid(z: f32): f32 {
  const e = Mathf.exp(-Mathf.abs(z));
  return z >= 0 ? 1 / (1 + e) : e / (1 + e);
}

/** sigmoid() in four lanes with the vector exp (assembly/exp.ts). */
@inline function sigmoidX4(z: v128): v128 {
  const e = expNonPositiveX4(f32x4.neg(f32x4.abs(z)));
  return f32x4.div(v128.bitselect(f32x4.splat(1), e, f32x4.ge(z, f32x4.splat(0))), f32x4.add(f32x4.splat(1), e));
}

// Sigmoid: a = 1 / (1 + e^−z); ∂a/∂z = a·(1 − a). Every element goes through the vector kernel (the tail
// padded), so a value does not depend on where it sits in the batch.
function sigmoidForward(z: usize, a: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(a, i), sigmoidX4(v128.load(at(z, i))));
  if (i < n) storePart(at(a, i), sigmoidX4(loadPart(at(z, i), n - i)), n - i);
}
/** The scalar reference of sigmoidForward (Mathf.exp): for the tests. */
export function sigmoidForwardScalar(z: usize, a: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(at(a, i), sigmoid(load<f32>(at(z, i))));
}
function sigmoidBackward(a: usize, gradA: usize, gradZ: usize, n: i32): void {
  let i = 0;
  const one = f32x4.splat(1);
  for (; i + 4 <= n; i += 4) {
    const av = v128.load(at(a, i));
    v128.store(at(gradZ, i), f32x4.mul(v128.load(at(gradA, i)), f32x4.mul(f32x4.sub(one, av), av)));
  }
  for (; i < n; i++) {
    const ai = load<f32>(at(a, i));
    store<f32>(at(gradZ, i), load<f32>(at(gradA, i)) * ((1 - ai) * ai));
  }
}

// Tanh: a = tanh z; ∂a/∂z = 1 − a²
function tanhForward(z: usize, a: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(at(a, i), Mathf.tanh(load<f32>(at(z, i))));
}
function tanhBackward(a: usize, gradA: usize, gradZ: usize, n: i32): void {
  let i = 0;
  const one = f32x4.splat(1);
  for (; i + 4 <= n; i += 4) {
    const av = v128.load(at(a, i));
    v128.store(at(gradZ, i), f32x4.mul(v128.load(at(gradA, i)), f32x4.sub(one, f32x4.mul(av, av))));
  }
  for (; i < n; i++) {
    const ai = load<f32>(at(a, i));
    store<f32>(at(gradZ, i), load<f32>(at(gradA, i)) * (1 - ai * ai));
  }
}

/** erfc(x) with a relative error below 1.2e−7 for every x (the Chebyshev-fitted exponential form of
 *  Numerical Recipes' erfcc, evaluated in f64): float32-accurate for the GELU below. */
function erfc(x: f64): f64 {
  const ax = Math.abs(x);
  const t = 1.0 / (1.0 + 0.5 * ax);
  const poly = -ax * ax - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const value = t * Math.exp(poly);
  return x >= 0 ? value : 2.0 - value;
}

const SQRT_HALF: f64 = 0.7071067811865476;
const INV_SQRT_2PI: f64 = 0.3989422804014327;
const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const GELU_CUBIC: f32 = 0.044715;

// GELU, exact: a = z·Φ(z) with Φ(z) = erfc(−z/√2)/2; ∂a/∂z = Φ(z) + z·φ(z), φ(z) = e^(−z²/2)/√(2π)
// GELU, tanh: a = z/2·(1 + tanh u), u = √(2/π)·(z + 0.044715 z³);
//             ∂a/∂z = (1 + tanh u)/2 + z/2·(1 − tanh² u)·√(2/π)·(1 + 3·0.044715 z²)
function geluForward(z: usize, a: usize, n: i32, tanhForm: bool): void {
  for (let i = 0; i < n; i++) {
    const zi = load<f32>(at(z, i));
    if (tanhForm) {
      const u = SQRT_2_OVER_PI * (zi + GELU_CUBIC * zi * zi * zi);
      store<f32>(at(a, i), 0.5 * zi * (1 + Mathf.tanh(u)));
    } else {
      store<f32>(at(a, i), <f32>(<f64>zi * 0.5 * erfc(-<f64>zi * SQRT_HALF)));
    }
  }
}
function geluBackward(z: usize, gradA: usize, gradZ: usize, n: i32, tanhForm: bool): void {
  for (let i = 0; i < n; i++) {
    const zi = load<f32>(at(z, i));
    let slope: f32;
    if (tanhForm) {
      const z2 = zi * zi;
      const t = Mathf.tanh(SQRT_2_OVER_PI * (zi + GELU_CUBIC * z2 * zi));
      slope = 0.5 * (1 + t) + 0.5 * zi * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * GELU_CUBIC * z2);
    } else {
      const z64 = <f64>zi;
      slope = <f32>(0.5 * erfc(-z64 * SQRT_HALF) + z64 * INV_SQRT_2PI * Math.exp(-0.5 * z64 * z64));
    }
    store<f32>(at(gradZ, i), load<f32>(at(gradA, i)) * slope);
  }
}

// SiLU: a = z·sigmoid(z); ∂a/∂z = s·(1 + z·(1 − s)), s = sigmoid(z)
function siluForward(z: usize, a: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const zi = load<f32>(at(z, i));
    store<f32>(at(a, i), zi * sigmoid(zi));
  }
}
function siluBackward(z: usize, gradA: usize, gradZ: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const zi = load<f32>(at(z, i));
    const s = sigmoid(zi);
    store<f32>(at(gradZ, i), load<f32>(at(gradA, i)) * (s * (1 + zi * (1 - s))));
  }
}

// ELU(α): a = z > 0 ? z : α·(e^z − 1); ∂a/∂z = z > 0 ? 1 : α·e^z (α at z = 0, as PyTorch)
function eluForward(z: usize, a: usize, n: i32, alpha: f32): void {
  for (let i = 0; i < n; i++) {
    const zi = load<f32>(at(z, i));
    store<f32>(at(a, i), zi > 0 ? zi : alpha * Mathf.expm1(zi));
  }
}
function eluBackward(z: usize, gradA: usize, gradZ: usize, n: i32, alpha: f32): void {
  for (let i = 0; i < n; i++) {
    const zi = load<f32>(at(z, i));
    const g = load<f32>(at(gradA, i));
    store<f32>(at(gradZ, i), zi > 0 ? g : g * (alpha * Mathf.exp(zi)));
  }
}

// Softplus(β, threshold): a = β·z > threshold ? z : log(1 + e^(β·z))/β;
//                         ∂a/∂z = β·z > threshold ? 1 : sigmoid(β·z)
function softplusForward(z: usize, a: usize, n: i32, beta: f32, threshold: f32): void {
  for (let i = 0; i < n; i++) {
    const zi = load<f32>(at(z, i));
    const scaled = zi * beta;
    store<f32>(at(a, i), scaled > threshold ? zi : Mathf.log1p(Mathf.exp(scaled)) / beta);
  }
}
function softplusBackward(z: usize, gradA: usize, gradZ: usize, n: i32, beta: f32, threshold: f32): void {
  for (let i = 0; i < n; i++) {
    const scaled = load<f32>(at(z, i)) * beta;
    const g = load<f32>(at(gradA, i));
    store<f32>(at(gradZ, i), scaled > threshold ? g : g * sigmoid(scaled));
  }
}

// Hardtanh(low, high) (and ReLU6 = Hardtanh(0, 6)): a = min(max(z, low), high);
// ∂a/∂z = 1 strictly inside (low, high), 0 outside and exactly at the bounds (as PyTorch)
function hardtanhForward(z: usize, a: usize, n: i32, low: f32, high: f32): void {
  for (let i = 0; i < n; i++) store<f32>(at(a, i), min<f32>(max<f32>(load<f32>(at(z, i)), low), high));
}
function hardtanhBackward(z: usize, gradA: usize, gradZ: usize, n: i32, low: f32, high: f32): void {
  for (let i = 0; i < n; i++) {
    const zi = load<f32>(at(z, i));
    store<f32>(at(gradZ, i), zi > low && zi < high ? load<f32>(at(gradA, i)) : 0);
  }
}

/** max over a row, and log Σ e^(z − max): the stable pieces of softmax and log-softmax. */
@inline function rowMax(row: usize, width: i32): f32 {
  let top = load<f32>(row);
  for (let i = 1; i < width; i++) top = max<f32>(top, load<f32>(at(row, i)));
  return top;
}

// Softmax over each row of `width`: a = e^(z − max z) / Σ e^(z − max z); ∂L/∂z = a·(∂L/∂a − Σ_row a·∂L/∂a)
function softmaxForward(z: usize, a: usize, rows: i32, width: i32): void {
  for (let r = 0; r < rows; r++) {
    const zRow = at(z, r * width), aRow = at(a, r * width);
    const top = rowMax(zRow, width);
    let sum: f32 = 0;
    for (let i = 0; i < width; i++) {
      const e = Mathf.exp(load<f32>(at(zRow, i)) - top);
      store<f32>(at(aRow, i), e);
      sum += e;
    }
    const inv: f32 = 1 / sum;
    for (let i = 0; i < width; i++) store<f32>(at(aRow, i), load<f32>(at(aRow, i)) * inv);
  }
}
function softmaxBackward(a: usize, gradA: usize, gradZ: usize, rows: i32, width: i32): void {
  for (let r = 0; r < rows; r++) {
    const aRow = at(a, r * width), gaRow = at(gradA, r * width), gzRow = at(gradZ, r * width);
    let dot: f32 = 0;
    for (let i = 0; i < width; i++) dot += load<f32>(at(aRow, i)) * load<f32>(at(gaRow, i));
    for (let i = 0; i < width; i++) {
      store<f32>(at(gzRow, i), load<f32>(at(aRow, i)) * (load<f32>(at(gaRow, i)) - dot));
    }
  }
}

// LogSoftmax over each row: a = z − max z − log Σ e^(z − max z); ∂L/∂z = ∂L/∂a − e^a·Σ_row ∂L/∂a
function logSoftmaxForward(z: usize, a: usize, rows: i32, width: i32): void {
  for (let r = 0; r < rows; r++) {
    const zRow = at(z, r * width), aRow = at(a, r * width);
    const top = rowMax(zRow, width);
    let sum: f32 = 0;
    for (let i = 0; i < width; i++) sum += Mathf.exp(load<f32>(at(zRow, i)) - top);
    const shift = top + Mathf.log(sum);
    for (let i = 0; i < width; i++) store<f32>(at(aRow, i), load<f32>(at(zRow, i)) - shift);
  }
}
function logSoftmaxBackward(a: usize, gradA: usize, gradZ: usize, rows: i32, width: i32): void {
  for (let r = 0; r < rows; r++) {
    const aRow = at(a, r * width), gaRow = at(gradA, r * width), gzRow = at(gradZ, r * width);
    let total: f32 = 0;
    for (let i = 0; i < width; i++) total += load<f32>(at(gaRow, i));
    for (let i = 0; i < width; i++) {
      store<f32>(at(gzRow, i), load<f32>(at(gaRow, i)) - Mathf.exp(load<f32>(at(aRow, i))) * total);
    }
  }
}

// ---- four values in registers: the one-row training step (assembly/one-row.ts) ----

/** Whether activationForwardX4 / activationBackwardX4 take `kernel`. Each gives, lane by lane, the float its
 *  array kernel above gives (the same operations as that kernel's vector body or scalar tail). */
export function activationInRegisters(kernel: i32): bool {
  return kernel == LAYER_IDENTITY || kernel == LAYER_RELU || kernel == LAYER_LEAKY_RELU || kernel == LAYER_SIGMOID ||
    kernel == LAYER_TANH;
}

/** a = σ(z) in four lanes, for a kernel that activationInRegisters() takes. */
@inline export function activationForwardX4(kernel: i32, params: usize, z: v128): v128 {
  if (kernel == LAYER_RELU) return f32x4.max(z, f32x4.splat(0));
  if (kernel == LAYER_SIGMOID) return sigmoidX4(z);
  if (kernel == LAYER_TANH) {
    let a = f32x4.splat(Mathf.tanh(f32x4.extract_lane(z, 0)));
    a = f32x4.replace_lane(a, 1, Mathf.tanh(f32x4.extract_lane(z, 1)));
    a = f32x4.replace_lane(a, 2, Mathf.tanh(f32x4.extract_lane(z, 2)));
    return f32x4.replace_lane(a, 3, Mathf.tanh(f32x4.extract_lane(z, 3)));
  }
  if (kernel == LAYER_LEAKY_RELU) {
    const slope = f32x4.splat(load<f32>(params + LEAKY_RELU_NEGATIVE_SLOPE));
    return v128.bitselect(z, f32x4.mul(z, slope), f32x4.gt(z, f32x4.splat(0)));
  }
  return z; // identity
}

/** ∂L/∂z = σ'(z)·∂L/∂a in four lanes, from z, a = σ(z) and g = ∂L/∂a. */
@inline export function activationBackwardX4(kernel: i32, params: usize, z: v128, a: v128, g: v128): v128 {
  const one = f32x4.splat(1), zero = f32x4.splat(0);
  if (kernel == LAYER_RELU) return v128.and(g, f32x4.gt(z, zero));
  if (kernel == LAYER_SIGMOID) return f32x4.mul(g, f32x4.mul(f32x4.sub(one, a), a));
  if (kernel == LAYER_TANH) return f32x4.mul(g, f32x4.sub(one, f32x4.mul(a, a)));
  if (kernel == LAYER_LEAKY_RELU) {
    const slope = f32x4.splat(load<f32>(params + LEAKY_RELU_NEGATIVE_SLOPE));
    return v128.bitselect(g, f32x4.mul(g, slope), f32x4.gt(z, zero));
  }
  return g; // identity
}

/** a = σ(z) over rows × width values (width matters only to the per-row kernels). */
export function activationForward(kernel: i32, params: usize, z: usize, a: usize, rows: i32, width: i32): void {
  const n = rows * width;
  switch (kernel) {
    case LAYER_IDENTITY: identityForward(z, a, n); break;
    case LAYER_RELU: reluForward(z, a, n); break;
    case LAYER_LEAKY_RELU: leakyReluForward(z, a, n, load<f32>(params + LEAKY_RELU_NEGATIVE_SLOPE)); break;
    case LAYER_SIGMOID: sigmoidForward(z, a, n); break;
    case LAYER_TANH: tanhForward(z, a, n); break;
    case LAYER_SOFTMAX: softmaxForward(z, a, rows, width); break;
    case LAYER_LOG_SOFTMAX: logSoftmaxForward(z, a, rows, width); break;
    case LAYER_GELU: geluForward(z, a, n, load<i32>(params + GELU_APPROXIMATE) == GELU_APPROXIMATION_TANH); break;
    case LAYER_SILU: siluForward(z, a, n); break;
    case LAYER_ELU: eluForward(z, a, n, load<f32>(params + ELU_ALPHA)); break;
    case LAYER_SOFTPLUS:
      softplusForward(z, a, n, load<f32>(params + SOFTPLUS_BETA), load<f32>(params + SOFTPLUS_THRESHOLD)); break;
    case LAYER_HARDTANH:
      hardtanhForward(z, a, n, load<f32>(params + HARDTANH_MIN_VAL), load<f32>(params + HARDTANH_MAX_VAL)); break;
    default: unreachable();
  }
}

/** ∂L/∂z from ∂L/∂a, given the forward's z and a (gradZ may be gradA). */
export function activationBackward(
  kernel: i32, params: usize, z: usize, a: usize, gradA: usize, gradZ: usize, rows: i32, width: i32,
): void {
  const n = rows * width;
  switch (kernel) {
    case LAYER_IDENTITY: identityBackward(gradA, gradZ, n); break;
    case LAYER_RELU: reluBackward(z, gradA, gradZ, n); break;
    case LAYER_LEAKY_RELU: leakyReluBackward(z, gradA, gradZ, n, load<f32>(params + LEAKY_RELU_NEGATIVE_SLOPE)); break;
    case LAYER_SIGMOID: sigmoidBackward(a, gradA, gradZ, n); break;
    case LAYER_TANH: tanhBackward(a, gradA, gradZ, n); break;
    case LAYER_SOFTMAX: softmaxBackward(a, gradA, gradZ, rows, width); break;
    case LAYER_LOG_SOFTMAX: logSoftmaxBackward(a, gradA, gradZ, rows, width); break;
    case LAYER_GELU: geluBackward(z, gradA, gradZ, n, load<i32>(params + GELU_APPROXIMATE) == GELU_APPROXIMATION_TANH); break;
    case LAYER_SILU: siluBackward(z, gradA, gradZ, n); break;
    case LAYER_ELU: eluBackward(z, gradA, gradZ, n, load<f32>(params + ELU_ALPHA)); break;
    case LAYER_SOFTPLUS:
      softplusBackward(z, gradA, gradZ, n, load<f32>(params + SOFTPLUS_BETA), load<f32>(params + SOFTPLUS_THRESHOLD)); break;
    case LAYER_HARDTANH:
      hardtanhBackward(z, gradA, gradZ, n, load<f32>(params + HARDTANH_MIN_VAL), load<f32>(params + HARDTANH_MAX_VAL)); break;
    default: unreachable();
  }
}
