// The training step of one row (batch 1: online learning, e.g. 2 → 8 → 1) through a small network whose every
// Linear is at most ROW_MAX_WIDTH wide each way: each Linear and the activation after it in one pass, four
// outputs per vector in registers, no loop over the batch, and the gradients' finiteness checked as they are
// made rather than in a second pass. At these shapes the small path's per-layer kernels (assembly/small.ts)
// spend more on loops, calls and partial stores than on arithmetic. bench/small-floor.mjs times W4's step
// against one written by hand for that shape alone (~90 ns here): fit's step took 5.9× that through the
// small path, 3.4× through this one.
//
// Every float is the small path's at batch 1 — the same operations in the same order — and so the GEMM path's:
//   z_j = ((b_j + x_0·w_j0) + x_1·w_j1) + x_2·w_j2 below four inputs, else (hsum_j + tail_j) + b_j, where hsum_j
//   = (s_0 + s_1) + (s_2 + s_3) over the partial sums s_l of x_p·w_jp for p ≡ l (mod 4), each from 0, and tail_j
//   = (0 + x_k4·w_jk4) + … over the last k % 4 inputs (b_j = 0 without a bias);
//   dW_jp = 0 + dz_j·x_p, dBias_j = 0 + dz_j, dX_p = ((0 + dz_0·w_0p) + dz_1·w_1p) + ….
// test/small.test.ts checks one-row steps against the GEMM path bit for bit.
import { at, loadPart, storePart } from "./memory";
import { activationInRegisters, activationForwardX4, activationBackwardX4 } from "./activations";
import {
  LAYER_LINEAR, PLAN_HEADER_LAYERS, PLAN_HEADER_BYTES, PLAN_ROW_BYTES, PLAN_ROW_KERNEL, PLAN_ROW_IN_FEATURES,
  PLAN_ROW_OUT_FEATURES, PLAN_ROW_PARAMS, PLAN_ROW_WEIGHT, PLAN_ROW_BIAS, PLAN_ROW_WEIGHT_GRAD, PLAN_ROW_BIAS_GRAD,
  PLAN_ROW_INPUT, PLAN_ROW_OUTPUT, PLAN_ROW_GRAD_INPUT, PLAN_ROW_GRAD_OUTPUT,
} from "./generated/abi";

/** The widest Linear (inputs or outputs) the one-row step takes: four vectors. */
export const ROW_MAX_WIDTH: i32 = 16;

@inline function row(plan: usize, layer: i32): usize {
  return plan + PLAN_HEADER_BYTES + <usize>layer * PLAN_ROW_BYTES;
}

@inline function kernelOf(op: usize): i32 {
  return load<i32>(op + PLAN_ROW_KERNEL);
}

/** Whether a plan that smallPlan() takes can take the one-row step (at batch 1): every Linear at most
 *  ROW_MAX_WIDTH wide each way, every other layer an activation that activationInRegisters() takes. */
export function rowPlan(plan: usize): bool {
  const layers = load<i32>(plan + PLAN_HEADER_LAYERS);
  for (let k = 0; k < layers; k++) {
    const op = row(plan, k);
    if (kernelOf(op) == LAYER_LINEAR) {
      if (load<i32>(op + PLAN_ROW_IN_FEATURES) > ROW_MAX_WIDTH || load<i32>(op + PLAN_ROW_OUT_FEATURES) > ROW_MAX_WIDTH) return false;
    } else if (!activationInRegisters(kernelOf(op))) {
      return false;
    }
  }
  return true;
}

/** Lanes [0, lanes) set, the others clear, for lanes = 0 … 4. */
const LANE_MASKS = memory.data<u32>([
  0, 0, 0, 0, 0xffffffff, 0, 0, 0, 0xffffffff, 0xffffffff, 0, 0, 0xffffffff, 0xffffffff, 0xffffffff, 0,
  0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
], 16);

/** NaN in some lane exactly when one of the first `lanes` lanes of v is NaN or ±∞ (v − v is 0 in the others):
 *  added up over a layer's gradients, one test per layer. */
@inline function nonFinite(v: v128, lanes: i32): v128 {
  return v128.and(f32x4.sub(v, v), v128.load(LANE_MASKS + (<usize>lanes << 4)));
}

@inline function anyNaN(v: v128): bool {
  return v128.any_true(f32x4.ne(v, v));
}

// ---- forward ----

/** Column p of W [n, k] for outputs j … j + lanes − 1, in the low lanes. */
@inline function column(w: usize, j: i32, p: i32, k: i32, lanes: i32): v128 {
  if (k == 1) return loadPart(at(w, j), lanes);
  if (k == 2) { // rows j, j + 1 in one vector: de-interleaved
    const lo = loadPart(at(w, 2 * j), min(4, 2 * lanes));
    const hi = lanes > 2 ? loadPart(at(w, 2 * j + 4), 2 * lanes - 4) : f32x4.splat(0);
    return p == 0 ? v128.shuffle<f32>(lo, hi, 0, 2, 4, 6) : v128.shuffle<f32>(lo, hi, 1, 3, 5, 7);
  }
  let v = f32x4.splat(load<f32>(at(w, j * k + p)));
  if (lanes > 1) v = f32x4.replace_lane(v, 1, load<f32>(at(w, (j + 1) * k + p)));
  if (lanes > 2) v = f32x4.replace_lane(v, 2, load<f32>(at(w, (j + 2) * k + p)));
  if (lanes > 3) v = f32x4.replace_lane(v, 3, load<f32>(at(w, (j + 3) * k + p)));
  return v;
}

/** The four partial sums of row j of W against the leading k4 = k & ~3 inputs (in x0 … x3). */
@inline function partialSums(w: usize, j: i32, k: i32, k4: i32, x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  const wj = at(w, j * k);
  let s = f32x4.add(f32x4.splat(0), f32x4.mul(x0, v128.load(wj)));
  if (k4 > 4) s = f32x4.add(s, f32x4.mul(x1, v128.load(wj, 16)));
  if (k4 > 8) s = f32x4.add(s, f32x4.mul(x2, v128.load(wj, 32)));
  if (k4 > 12) s = f32x4.add(s, f32x4.mul(x3, v128.load(wj, 48)));
  return s;
}

/** hsum of each of s0 … s3 as (l0 + l1) + (l2 + l3), in lanes 0 … 3: a 4 × 4 transpose, then three adds. */
@inline function hsums(s0: v128, s1: v128, s2: v128, s3: v128): v128 {
  const lo01 = v128.shuffle<f32>(s0, s1, 0, 4, 1, 5), lo23 = v128.shuffle<f32>(s2, s3, 0, 4, 1, 5);
  const hi01 = v128.shuffle<f32>(s0, s1, 2, 6, 3, 7), hi23 = v128.shuffle<f32>(s2, s3, 2, 6, 3, 7);
  const l0 = v128.shuffle<f32>(lo01, lo23, 0, 1, 4, 5), l1 = v128.shuffle<f32>(lo01, lo23, 2, 3, 6, 7);
  const l2 = v128.shuffle<f32>(hi01, hi23, 0, 1, 4, 5), l3 = v128.shuffle<f32>(hi01, hi23, 2, 3, 6, 7);
  return f32x4.add(f32x4.add(l0, l1), f32x4.add(l2, l3));
}

/** A Linear layer's z = x·Wᵀ + b for one row and, with `act` (the activation layer after it, else 0),
 *  a = σ(z): both stored, four outputs at a time. */
function linearForward(op: usize, act: usize): void {
  const k = load<i32>(op + PLAN_ROW_IN_FEATURES), n = load<i32>(op + PLAN_ROW_OUT_FEATURES);
  const x = load<usize>(op + PLAN_ROW_INPUT), w = load<usize>(op + PLAN_ROW_WEIGHT), bias = load<usize>(op + PLAN_ROW_BIAS);
  const z = load<usize>(op + PLAN_ROW_OUTPUT);
  const kernel = act ? kernelOf(act) : -1, params = act ? load<usize>(act + PLAN_ROW_PARAMS) : 0;
  const a = act ? load<usize>(act + PLAN_ROW_OUTPUT) : 0;
  const zero = f32x4.splat(0), k4 = k & ~3;
  const x0 = k4 > 0 ? v128.load(x) : zero, x1 = k4 > 4 ? v128.load(x, 16) : zero;
  const x2 = k4 > 8 ? v128.load(x, 32) : zero, x3 = k4 > 12 ? v128.load(x, 48) : zero;
  for (let j = 0; j < n; j += 4) {
    const lanes = min(4, n - j);
    const b = bias ? loadPart(at(bias, j), lanes) : zero;
    let zv: v128;
    if (k < 4) {
      zv = f32x4.add(b, f32x4.mul(v128.load32_splat(x), column(w, j, 0, k, lanes)));
      if (k > 1) zv = f32x4.add(zv, f32x4.mul(v128.load32_splat(x, 4), column(w, j, 1, k, lanes)));
      if (k > 2) zv = f32x4.add(zv, f32x4.mul(v128.load32_splat(x, 8), column(w, j, 2, k, lanes)));
    } else {
      const s0 = partialSums(w, j, k, k4, x0, x1, x2, x3);
      const s1 = lanes > 1 ? partialSums(w, j + 1, k, k4, x0, x1, x2, x3) : zero;
      const s2 = lanes > 2 ? partialSums(w, j + 2, k, k4, x0, x1, x2, x3) : zero;
      const s3 = lanes > 3 ? partialSums(w, j + 3, k, k4, x0, x1, x2, x3) : zero;
      let tail = zero;
      for (let p = k4; p < k; p++) tail = f32x4.add(tail, f32x4.mul(v128.load32_splat(at(x, p)), column(w, j, p, k, lanes)));
      zv = f32x4.add(f32x4.add(hsums(s0, s1, s2, s3), tail), b);
    }
    storePart(at(z, j), zv, lanes);
    if (act) storePart(at(a, j), activationForwardX4(kernel, params, zv), lanes);
  }
}

/** An activation layer on its own (not after a Linear): a = σ(z). */
function activationForward(op: usize): void {
  const n = load<i32>(op + PLAN_ROW_OUT_FEATURES), kernel = kernelOf(op), params = load<usize>(op + PLAN_ROW_PARAMS);
  const z = load<usize>(op + PLAN_ROW_INPUT), a = load<usize>(op + PLAN_ROW_OUTPUT);
  for (let j = 0; j < n; j += 4) {
    const lanes = min(4, n - j);
    storePart(at(a, j), activationForwardX4(kernel, params, loadPart(at(z, j), lanes)), lanes);
  }
}

/** The forward pass of one row through a plan that rowPlan() took (the plan's input buffer holds the row). */
export function rowForward(plan: usize): void {
  const layers = load<i32>(plan + PLAN_HEADER_LAYERS);
  for (let k = 0; k < layers; k++) {
    const op = row(plan, k);
    if (kernelOf(op) != LAYER_LINEAR) {
      activationForward(op);
    } else if (k + 1 < layers && kernelOf(row(plan, k + 1)) != LAYER_LINEAR) {
      linearForward(op, row(plan, k + 1));
      k++;
    } else {
      linearForward(op, 0);
    }
  }
}

// ---- backward ----

/** ∂L/∂z = σ'(z)·∂L/∂a of an activation layer, stored at its gradInput. */
function activationBackward(op: usize): void {
  const n = load<i32>(op + PLAN_ROW_OUT_FEATURES), kernel = kernelOf(op), params = load<usize>(op + PLAN_ROW_PARAMS);
  const z = load<usize>(op + PLAN_ROW_INPUT), a = load<usize>(op + PLAN_ROW_OUTPUT);
  const g = load<usize>(op + PLAN_ROW_GRAD_OUTPUT), out = load<usize>(op + PLAN_ROW_GRAD_INPUT);
  for (let j = 0; j < n; j += 4) {
    const lanes = min(4, n - j);
    const dz = activationBackwardX4(kernel, params, loadPart(at(z, j), lanes), loadPart(at(a, j), lanes), loadPart(at(g, j), lanes));
    storePart(at(out, j), dz, lanes);
  }
}

/** a0 a0 a1 a1 from the low lanes of v. */
@inline function dupPairs(v: v128): v128 {
  return v128.shuffle<f32>(v, v, 0, 0, 1, 1);
}

/** A Linear layer's dW, dBias (overwritten) and, with `inputGrad`, dX for one row, from dZ at its gradOutput.
 *  Returns whether a parameter gradient is NaN or ±∞. */
function linearBackward(op: usize, inputGrad: bool): bool {
  const k = load<i32>(op + PLAN_ROW_IN_FEATURES), n = load<i32>(op + PLAN_ROW_OUT_FEATURES);
  const dz = load<usize>(op + PLAN_ROW_GRAD_OUTPUT), x = load<usize>(op + PLAN_ROW_INPUT);
  const gradW = load<usize>(op + PLAN_ROW_WEIGHT_GRAD), gradBias = load<usize>(op + PLAN_ROW_BIAS_GRAD);
  const zero = f32x4.splat(0);
  let bad = zero;
  if (k < 3) {
    // dW in W's order, four floats a vector: dz_j against x repeated (x0 x0 x0 x0, or x0 x1 x0 x1)
    const count = n * k, xs = k == 1 ? v128.load32_splat(x) : v128.load64_splat(x);
    for (let e = 0; e < count; e += 4) {
      const lanes = min(4, count - e);
      const dzs = k == 1 ? loadPart(at(dz, e), lanes) : dupPairs(loadPart(at(dz, e >> 1), lanes >> 1));
      bad = f32x4.add(bad, storeGrad(at(gradW, e), f32x4.add(zero, f32x4.mul(dzs, xs)), lanes));
    }
  } else {
    // a row of dW per output: dz_j against x, whole vectors, then the k % 4 tail
    const k4 = k & ~3, rest = k - k4;
    const x0 = k4 > 0 ? v128.load(x) : zero, x1 = k4 > 4 ? v128.load(x, 16) : zero;
    const x2 = k4 > 8 ? v128.load(x, 32) : zero, x3 = k4 > 12 ? v128.load(x, 48) : zero;
    const xt = rest ? loadPart(at(x, k4), rest) : zero;
    for (let j = 0; j < n; j++) {
      const dzs = v128.load32_splat(at(dz, j)), gj = at(gradW, j * k);
      if (k4 > 0) bad = f32x4.add(bad, storeGrad(gj, f32x4.add(zero, f32x4.mul(dzs, x0)), 4));
      if (k4 > 4) bad = f32x4.add(bad, storeGrad(gj + 16, f32x4.add(zero, f32x4.mul(dzs, x1)), 4));
      if (k4 > 8) bad = f32x4.add(bad, storeGrad(gj + 32, f32x4.add(zero, f32x4.mul(dzs, x2)), 4));
      if (k4 > 12) bad = f32x4.add(bad, storeGrad(gj + 48, f32x4.add(zero, f32x4.mul(dzs, x3)), 4));
      if (rest) bad = f32x4.add(bad, storeGrad(at(gj, k4), f32x4.add(zero, f32x4.mul(dzs, xt)), rest));
    }
  }
  if (gradBias) {
    for (let j = 0; j < n; j += 4) {
      const lanes = min(4, n - j);
      bad = f32x4.add(bad, storeGrad(at(gradBias, j), f32x4.add(zero, loadPart(at(dz, j), lanes)), lanes));
    }
  }
  if (inputGrad) inputGradient(dz, load<usize>(op + PLAN_ROW_WEIGHT), load<usize>(op + PLAN_ROW_GRAD_INPUT), k, n);
  return anyNaN(bad);
}

/** Stores the low `lanes` lanes of g at `to` and returns their finiteness term (nonFinite). */
@inline function storeGrad(to: usize, g: v128, lanes: i32): v128 {
  storePart(to, g, lanes);
  return nonFinite(g, lanes);
}

/** dX = dZ·W for one row: four inputs a vector, a chain along the outputs from 0 per input. */
function inputGradient(dz: usize, w: usize, gradX: usize, k: i32, n: i32): void {
  const zero = f32x4.splat(0);
  let d0 = zero, d1 = zero, d2 = zero, d3 = zero;
  const l0 = min(4, k), l1 = min(4, k - 4), l2 = min(4, k - 8), l3 = min(4, k - 12);
  for (let j = 0; j < n; j++) {
    const s = v128.load32_splat(at(dz, j)), wj = at(w, j * k);
    d0 = f32x4.add(d0, f32x4.mul(s, loadPart(wj, l0)));
    if (l1 > 0) d1 = f32x4.add(d1, f32x4.mul(s, loadPart(wj + 16, l1)));
    if (l2 > 0) d2 = f32x4.add(d2, f32x4.mul(s, loadPart(wj + 32, l2)));
    if (l3 > 0) d3 = f32x4.add(d3, f32x4.mul(s, loadPart(wj + 48, l3)));
  }
  storePart(gradX, d0, l0);
  if (l1 > 0) storePart(gradX + 16, d1, l1);
  if (l2 > 0) storePart(gradX + 32, d2, l2);
  if (l3 > 0) storePart(gradX + 48, d3, l3);
}

/** The backward pass of one row through a plan that rowPlan() took, from the last layer's gradOutput: writes
 *  every parameter's gradient (and the first layer's input gradient when asked for). Returns the first layer
 *  (in plan order) with a NaN or ±∞ gradient, or −1 (networkTrainStep's finiteness test, made on the way). */
export function rowBackward(plan: usize, needInputGrad: bool): i32 {
  let bad = -1;
  for (let k = load<i32>(plan + PLAN_HEADER_LAYERS) - 1; k >= 0; k--) {
    const op = row(plan, k);
    const inputGrad = k > 0 || needInputGrad;
    if (kernelOf(op) == LAYER_LINEAR) {
      if (linearBackward(op, inputGrad)) bad = k;
    } else if (inputGrad) {
      activationBackward(op);
    }
  }
  return bad;
}
