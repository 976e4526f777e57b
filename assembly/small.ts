// Small dense networks (every layer a Linear of at most SMALL_MAX_WEIGHTS weights or an activation, e.g.
// 2 → 8 → 1): the forward and backward passes of a training step without the GEMM machinery. At these
// shapes the packed GEMMs' fixed costs (dispatch, packing Bᵀ, tile edges) are most of a step; these loops
// read the operands in place.
//
// Every float is computed by the same operations in the same order as the GEMM path computes it in the plain
// build (gemmNT's short-K rows and 4-lane dot products; gemmNN's sequential sums along K), so a network gives
// bit-identical results whichever path a step takes (test/small.test.ts checks it against the GEMM path).
import { at, loadPart, storePart } from "./memory";
import { gemmNTPacks } from "./gemm";
import { activationForward, activationBackward } from "./activations";
import {
  LAYER_LINEAR, isActivationKernel, PLAN_HEADER_LAYERS, PLAN_HEADER_BYTES, PLAN_ROW_BYTES, PLAN_ROW_KERNEL,
  PLAN_ROW_IN_FEATURES, PLAN_ROW_OUT_FEATURES, PLAN_ROW_PARAMS, PLAN_ROW_WEIGHT, PLAN_ROW_BIAS, PLAN_ROW_WEIGHT_GRAD,
  PLAN_ROW_BIAS_GRAD, PLAN_ROW_INPUT, PLAN_ROW_OUTPUT, PLAN_ROW_GRAD_INPUT, PLAN_ROW_GRAD_OUTPUT,
} from "./generated/abi";

/** The largest Linear layer (in × out weights) that the small path takes. */
export const SMALL_MAX_WEIGHTS: i32 = 256;

@inline function row(plan: usize, layer: i32): usize {
  return plan + PLAN_HEADER_BYTES + <usize>layer * PLAN_ROW_BYTES;
}

/** Whether a training step of `batch` rows can take the small path: only Linear layers of at most
 *  SMALL_MAX_WEIGHTS weights whose forward GEMM would not pack (the packed kernel sums in another order), and
 *  activations. */
export function smallPlan(plan: usize, batch: i32): bool {
  if (ASC_FEATURE_RELAXED_SIMD) return false; // the GEMMs fuse multiply-adds there: keep their results
  const layers = load<i32>(plan + PLAN_HEADER_LAYERS);
  for (let k = 0; k < layers; k++) {
    const op = row(plan, k);
    const kernel = load<i32>(op + PLAN_ROW_KERNEL);
    if (kernel == LAYER_LINEAR) {
      const n = load<i32>(op + PLAN_ROW_OUT_FEATURES), kk = load<i32>(op + PLAN_ROW_IN_FEATURES);
      if (n * kk > SMALL_MAX_WEIGHTS || gemmNTPacks(batch, n, kk)) return false;
    } else if (!isActivationKernel(kernel)) {
      return false;
    }
  }
  return true;
}

// Each kernel has a scalar reference beside it (…Scalar: the same sums, one float at a time), which the tests
// compare it with bit for bit over a list of shapes (test/small.test.ts).

/** Below this many rows dW / dBias, the dot-product forward and the one-output dX keep their plain row loops: a
 *  sum along the batch is too short to wait on its adds, and holding vectors or strip sums costs more set-up
 *  than it saves (measured at one row: dW and dBias of 2 → 8 28 ns against 40; the others a few ns each). */
const SHORT_BATCH: i32 = 4;

// ---- forward: z = x·Wᵀ + bias, rows of x [batch, k], W [n, k] ----

/** out[r, 0 .. lanes) = init + coef[r]·v for every row r, lanes ≤ STRIP: v (and init, 0 for none) held in up
 *  to four vectors, no inner loop (a loop of one trip per vector costs more than its work). The layer with one
 *  input (z = bias + x·W[·, 0]) and the dX of a layer with one output (0 + dZ·W[0, ·]). Row r's spare lanes land
 *  on the rows after it, written later; nothing is stored past the end of out. */
function outerRows(coef: usize, init: usize, v: usize, out: usize, batch: i32, lanes: i32): void {
  const vectors = (lanes + 3) >> 2, zero = f32x4.splat(0);
  const v0 = loadPart(v, lanes), v1 = lanes > 4 ? loadPart(v + 16, lanes - 4) : zero;
  const v2 = lanes > 8 ? loadPart(v + 32, lanes - 8) : zero, v3 = lanes > 12 ? loadPart(v + 48, lanes - 12) : zero;
  const i0 = init ? loadPart(init, lanes) : zero, i1 = init && lanes > 4 ? loadPart(init + 16, lanes - 4) : zero;
  const i2 = init && lanes > 8 ? loadPart(init + 32, lanes - 8) : zero;
  const i3 = init && lanes > 12 ? loadPart(init + 48, lanes - 12) : zero;
  const end = batch * lanes;
  for (let r = 0; r < batch; r++) {
    const s = v128.load32_splat(at(coef, r)), o = r * lanes;
    storeWhole(out, o, end, f32x4.add(i0, f32x4.mul(s, v0)));
    if (vectors > 1) storeWhole(out, o + 4, end, f32x4.add(i1, f32x4.mul(s, v1)));
    if (vectors > 2) storeWhole(out, o + 8, end, f32x4.add(i2, f32x4.mul(s, v2)));
    if (vectors > 3) storeWhole(out, o + 12, end, f32x4.add(i3, f32x4.mul(s, v3)));
  }
}

/** Wᵀ of a short-K layer, rows padded to whole vectors: k·⌈n/4⌉·4 ≤ SMALL_MAX_WEIGHTS + 3k floats. */
const TRANSPOSED = memory.data(<i32>((SMALL_MAX_WEIGHTS + 16) << 2), 16);

/** K < 4: z[j] = ((bias[j] + x0·w[j,0]) + x1·w[j,1]) + …, as gemmNT's short-K rows: four outputs per vector
 *  against Wᵀ, a pass over the batch per vector with its rows of Wᵀ held. The passes run from the last
 *  vector: a partial one is stored whole (its spare lanes land on the outputs of the rows after it, which a
 *  later pass, or this one at a later row, writes) except where that would pass the end of z. */
export function smallLinearForwardShortK(x: usize, w: usize, bias: usize, z: usize, batch: i32, k: i32, n: i32): void {
  if (k == 1 && n <= STRIP) {
    outerRows(x, bias, w, z, batch, n); // W [n, 1] is its own transpose
    return;
  }
  const stride = (n + 3) & ~3;
  for (let j = 0; j < n; j++) {
    for (let p = 0; p < k; p++) store<f32>(at(TRANSPOSED, p * stride + j), load<f32>(at(w, j * k + p)));
  }
  const end = batch * n, zero = f32x4.splat(0);
  for (let j = stride - 4; j >= 0; j -= 4) {
    const b = bias ? loadPart(at(bias, j), n - j) : zero, t0 = v128.load(at(TRANSPOSED, j));
    const t1 = k > 1 ? v128.load(at(TRANSPOSED, stride + j)) : zero, t2 = k > 2 ? v128.load(at(TRANSPOSED, 2 * stride + j)) : zero;
    for (let i = 0; i < batch; i++) {
      const xi = at(x, i * k);
      let acc = f32x4.add(b, f32x4.mul(v128.load32_splat(xi), t0));
      if (k > 1) acc = f32x4.add(acc, f32x4.mul(v128.load32_splat(xi, 4), t1));
      if (k > 2) acc = f32x4.add(acc, f32x4.mul(v128.load32_splat(xi, 8), t2));
      storeWhole(z, i * n + j, end, acc);
    }
  }
}
/** v at element `index` of z (`end` elements): whole, or only the lanes before the end. */
@inline function storeWhole(z: usize, index: i32, end: i32, v: v128): void {
  if (index + 4 <= end) v128.store(at(z, index), v);
  else storePart(at(z, index), v, end - index);
}
export function smallLinearForwardShortKScalar(x: usize, w: usize, bias: usize, z: usize, batch: i32, k: i32, n: i32): void {
  for (let i = 0; i < batch; i++) {
    const xi = at(x, i * k), zi = at(z, i * n);
    for (let j = 0; j < n; j++) {
      const wj = at(w, j * k);
      let sum: f32 = bias ? load<f32>(at(bias, j)) : 0;
      for (let p = 0; p < k; p++) sum += load<f32>(at(xi, p)) * load<f32>(at(wj, p));
      store<f32>(at(zi, j), sum);
    }
  }
}

@inline function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** K ≥ 4: four partial sums over p ≡ 0, 1, 2, 3 (mod 4) in the lanes of a vector, added pairwise, then the
 *  K % 4 tail, then the bias: gemmNT's dot-product kernels, one output at a time. For K ≤ 16 a pass over the
 *  batch per output holds that output's row of W (and its tail) and runs without inner loops (loops of one to
 *  four trips cost more than their work here) from SHORT_BATCH rows (measured: 16 → 16 on 100 rows 7.8 → 4.7 µs,
 *  on one row 95 → 125 ns). */
export function smallLinearForwardDot(x: usize, w: usize, bias: usize, z: usize, batch: i32, k: i32, n: i32): void {
  if (k <= 16 && batch >= SHORT_BATCH) {
    for (let j = 0; j < n; j++) dotOneOutput(x, at(w, j * k), bias ? load<f32>(at(bias, j)) : 0, at(z, j), batch, k, n);
    return;
  }
  const k4 = k & ~3;
  for (let i = 0; i < batch; i++) {
    const xi = at(x, i * k), zi = at(z, i * n);
    for (let j = 0; j < n; j++) {
      const wj = at(w, j * k);
      let acc = f32x4.splat(0);
      for (let p = 0; p < k4; p += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(at(xi, p)), v128.load(at(wj, p))));
      let tail: f32 = 0;
      for (let p = k4; p < k; p++) tail += load<f32>(at(xi, p)) * load<f32>(at(wj, p));
      store<f32>(at(zi, j), hsum(acc) + tail + (bias ? load<f32>(at(bias, j)) : 0));
    }
  }
}
/** z[i, j] for every row i, 4 ≤ k ≤ 16, with the row wj of W held in vectors (its K % 4 tail in scalars) and b
 *  its bias (0 without one); z points at column j, rows n floats apart. */
@inline function dotOneOutput(x: usize, wj: usize, b: f32, z: usize, batch: i32, k: i32, n: i32): void {
  const k4 = k & ~3, zero = f32x4.splat(0);
  const w0 = v128.load(wj), w1 = k4 > 4 ? v128.load(wj, 16) : zero, w2 = k4 > 8 ? v128.load(wj, 32) : zero;
  const w3 = k4 > 12 ? v128.load(wj, 48) : zero;
  const t0: f32 = k > k4 ? load<f32>(at(wj, k4)) : 0, t1: f32 = k > k4 + 1 ? load<f32>(at(wj, k4 + 1)) : 0;
  const t2: f32 = k > k4 + 2 ? load<f32>(at(wj, k4 + 2)) : 0;
  for (let i = 0; i < batch; i++) {
    const xi = at(x, i * k);
    let acc = f32x4.add(zero, f32x4.mul(v128.load(xi), w0));
    if (k4 > 4) acc = f32x4.add(acc, f32x4.mul(v128.load(xi, 16), w1));
    if (k4 > 8) acc = f32x4.add(acc, f32x4.mul(v128.load(xi, 32), w2));
    if (k4 > 12) acc = f32x4.add(acc, f32x4.mul(v128.load(xi, 48), w3));
    let tail: f32 = 0;
    if (k > k4) tail += load<f32>(at(xi, k4)) * t0;
    if (k > k4 + 1) tail += load<f32>(at(xi, k4 + 1)) * t1;
    if (k > k4 + 2) tail += load<f32>(at(xi, k4 + 2)) * t2;
    store<f32>(at(z, i * n), hsum(acc) + tail + b);
  }
}
export function smallLinearForwardDotScalar(x: usize, w: usize, bias: usize, z: usize, batch: i32, k: i32, n: i32): void {
  const k4 = k & ~3;
  for (let i = 0; i < batch; i++) {
    const xi = at(x, i * k), zi = at(z, i * n);
    for (let j = 0; j < n; j++) {
      const wj = at(w, j * k);
      let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
      for (let p = 0; p < k4; p += 4) {
        s0 += load<f32>(at(xi, p)) * load<f32>(at(wj, p));
        s1 += load<f32>(at(xi, p), 4) * load<f32>(at(wj, p), 4);
        s2 += load<f32>(at(xi, p), 8) * load<f32>(at(wj, p), 8);
        s3 += load<f32>(at(xi, p), 12) * load<f32>(at(wj, p), 12);
      }
      let tail: f32 = 0;
      for (let p = k4; p < k; p++) tail += load<f32>(at(xi, p)) * load<f32>(at(wj, p));
      store<f32>(at(zi, j), ((s0 + s1) + (s2 + s3)) + tail + (bias ? load<f32>(at(bias, j)) : 0));
    }
  }
}

// ---- the strip sum: dW and dBias, sums along the whole batch ----

/** out[0 .. lanes) = Σ_i coef[i]·strip[i, 0 .. lanes), i from 0 to count − 1 in order, each lane a chain of
 *  f32 multiplies and adds from +0. `lanes` ≤ STRIP run as up to four vectors, so up to four chains overlap
 *  (one chain waits for each add: a batch-long sum one vector at a time is bound by that latency). coef[i] is
 *  at coef + i·coefStride bytes, strip row i at strip + i·stripStride; the result's lane l goes to
 *  out + l·outStride bytes. Rows before the last are read as whole vectors (the spare lanes of a partial
 *  vector read the start of the next row and are never stored) where a row holds those spare lanes; the last
 *  row reads only its own floats.
 *  With `bias` (≠ 0) the same pass sums a bias gradient, as more chains from +0: Σ_i coef[i] into bias[0]
 *  (`biasOfCoef`: dZ is the coefficient), else Σ_i strip[i, ·] into bias[0 .. lanes) (dZ is the strip). */
@inline function stripSum(
  coef: usize, coefStride: usize, strip: usize, stripStride: usize, count: i32, lanes: i32, out: usize, outStride: usize,
  bias: usize, biasOfCoef: bool,
): void {
  const vectors = (lanes + 3) >> 2, tail = lanes - ((vectors - 1) << 2);
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  let c = coef, row = strip;
  if (<usize>((4 - tail) << 2) > stripStride) {
    // rows of one float (a partial vector's spare lanes could pass the last row): every row reads only its own
    for (let i = 0; i < count; i++) {
      const s = v128.load32_splat(c), r = loadPart(row, tail);
      a0 = f32x4.add(a0, f32x4.mul(s, r));
      if (bias) b0 = f32x4.add(b0, biasOfCoef ? s : r);
      c += coefStride;
      row += stripStride;
    }
    storeLanes(out, outStride, a0, tail);
    if (bias) storeLanes(bias, 4, b0, biasOfCoef ? 1 : tail);
    return;
  }
  for (let i = 1; i < count; i++) {
    const s = v128.load32_splat(c), r0 = v128.load(row);
    a0 = f32x4.add(a0, f32x4.mul(s, r0));
    if (bias) b0 = f32x4.add(b0, biasOfCoef ? s : r0);
    if (vectors > 1) {
      const r1 = v128.load(row, 16);
      a1 = f32x4.add(a1, f32x4.mul(s, r1));
      if (bias && !biasOfCoef) b1 = f32x4.add(b1, r1);
    }
    if (vectors > 2) {
      const r2 = v128.load(row, 32);
      a2 = f32x4.add(a2, f32x4.mul(s, r2));
      if (bias && !biasOfCoef) b2 = f32x4.add(b2, r2);
    }
    if (vectors > 3) {
      const r3 = v128.load(row, 48);
      a3 = f32x4.add(a3, f32x4.mul(s, r3));
      if (bias && !biasOfCoef) b3 = f32x4.add(b3, r3);
    }
    c += coefStride;
    row += stripStride;
  }
  const s = v128.load32_splat(c), r0 = loadPart(row, vectors == 1 ? tail : 4);
  a0 = f32x4.add(a0, f32x4.mul(s, r0));
  if (bias) b0 = f32x4.add(b0, biasOfCoef ? s : r0);
  if (vectors > 1) {
    const r1 = loadPart(row + 16, vectors == 2 ? tail : 4);
    a1 = f32x4.add(a1, f32x4.mul(s, r1));
    if (bias && !biasOfCoef) b1 = f32x4.add(b1, r1);
  }
  if (vectors > 2) {
    const r2 = loadPart(row + 32, vectors == 3 ? tail : 4);
    a2 = f32x4.add(a2, f32x4.mul(s, r2));
    if (bias && !biasOfCoef) b2 = f32x4.add(b2, r2);
  }
  if (vectors > 3) {
    const r3 = loadPart(row + 48, tail);
    a3 = f32x4.add(a3, f32x4.mul(s, r3));
    if (bias && !biasOfCoef) b3 = f32x4.add(b3, r3);
  }
  storeLanes(out, outStride, a0, vectors == 1 ? tail : 4);
  if (vectors > 1) storeLanes(out + 4 * outStride, outStride, a1, vectors == 2 ? tail : 4);
  if (vectors > 2) storeLanes(out + 8 * outStride, outStride, a2, vectors == 3 ? tail : 4);
  if (vectors > 3) storeLanes(out + 12 * outStride, outStride, a3, tail);
  if (!bias) return;
  if (biasOfCoef) {
    store<f32>(bias, f32x4.extract_lane(b0, 0));
    return;
  }
  storeLanes(bias, 4, b0, vectors == 1 ? tail : 4);
  if (vectors > 1) storeLanes(bias + 16, 4, b1, vectors == 2 ? tail : 4);
  if (vectors > 2) storeLanes(bias + 32, 4, b2, vectors == 3 ? tail : 4);
  if (vectors > 3) storeLanes(bias + 48, 4, b3, tail);
}
/** The low `lanes` lanes of v at out, out + stride, out + 2·stride, … bytes. */
@inline function storeLanes(out: usize, stride: usize, v: v128, lanes: i32): void {
  if (stride == 4) {
    storePart(out, v, lanes);
    return;
  }
  store<f32>(out, f32x4.extract_lane(v, 0));
  if (lanes > 1) store<f32>(out + stride, f32x4.extract_lane(v, 1));
  if (lanes > 2) store<f32>(out + 2 * stride, f32x4.extract_lane(v, 2));
  if (lanes > 3) store<f32>(out + 3 * stride, f32x4.extract_lane(v, 3));
}
/** The most lanes one stripSum or outerRows holds in vectors at once (four vectors). */
const STRIP: i32 = 16;

// ---- backward ----

/** dW[j, p] = Σ_r dZ[r, j]·X[r, p] and dBias[j] = Σ_r dZ[r, j], each a sum along the batch from 0 (the
 *  gradients are overwritten: the step's zeroGrad and accumulation in one), from SHORT_BATCH rows as strip sums:
 *  along rows of X into rows of dW, or along rows of dZ into columns of dW, whichever takes fewer strips. The
 *  bias chains add the floats of dZ, as the reference does. */
export function smallLinearBackwardParams(gradZ: usize, x: usize, gradW: usize, gradBias: usize, batch: i32, k: i32, n: i32): void {
  if (batch < SHORT_BATCH) {
    backwardParamsShortBatch(gradZ, x, gradW, gradBias, batch, k, n);
    return;
  }
  const rowX = <usize>k << 2, rowZ = <usize>n << 2;
  const stripsX = n * ((k + STRIP - 1) / STRIP), stripsZ = k * ((n + STRIP - 1) / STRIP);
  // dBias rides along the first strip of each row of dW (its sum of the coefficients), or of column 0 (its sum
  // of the rows of dZ)
  if (stripsX <= stripsZ) {
    for (let j = 0; j < n; j++) {
      for (let p = 0; p < k; p += STRIP) {
        const bias = p == 0 && gradBias ? at(gradBias, j) : 0;
        stripSum(at(gradZ, j), rowZ, at(x, p), rowX, batch, min(STRIP, k - p), at(gradW, j * k + p), 4, bias, true);
      }
    }
  } else {
    for (let p = 0; p < k; p++) {
      for (let j = 0; j < n; j += STRIP) {
        const bias = p == 0 && gradBias ? at(gradBias, j) : 0;
        stripSum(at(x, p), rowX, at(gradZ, j), rowZ, batch, min(STRIP, n - j), at(gradW, j * k + p), rowX, bias, false);
      }
    }
  }
}
/** The same sums for batches under SHORT_BATCH: four values of p per vector when K ≥ 4, else four values of j
 *  (stored lane by lane); the rest one by one. */
function backwardParamsShortBatch(gradZ: usize, x: usize, gradW: usize, gradBias: usize, batch: i32, k: i32, n: i32): void {
  if (k >= 4) {
    const k4 = k & ~3;
    for (let j = 0; j < n; j++) {
      for (let p = 0; p < k4; p += 4) {
        let acc = f32x4.splat(0);
        for (let r = 0; r < batch; r++) acc = f32x4.add(acc, f32x4.mul(v128.load32_splat(at(gradZ, r * n + j)), v128.load(at(x, r * k + p))));
        v128.store(at(gradW, j * k + p), acc);
      }
      for (let p = k4; p < k; p++) gradWeightScalar(gradZ, x, gradW, batch, k, n, j, p);
    }
  } else {
    const n4 = n & ~3;
    let j0 = 0;
    for (; j0 + 8 <= n4; j0 += 8) {
      // two sums at once (independent chains of additions overlap)
      for (let p = 0; p < k; p++) {
        let acc0 = f32x4.splat(0), acc1 = f32x4.splat(0);
        for (let r = 0; r < batch; r++) {
          const xs = v128.load32_splat(at(x, r * k + p)), dz = at(gradZ, r * n + j0);
          acc0 = f32x4.add(acc0, f32x4.mul(v128.load(dz), xs));
          acc1 = f32x4.add(acc1, f32x4.mul(v128.load(dz, 16), xs));
        }
        storeColumn(at(gradW, j0 * k + p), k, acc0);
        storeColumn(at(gradW, (j0 + 4) * k + p), k, acc1);
      }
    }
    for (let j = j0; j < n4; j += 4) {
      for (let p = 0; p < k; p++) {
        let acc = f32x4.splat(0);
        for (let r = 0; r < batch; r++) acc = f32x4.add(acc, f32x4.mul(v128.load(at(gradZ, r * n + j)), v128.load32_splat(at(x, r * k + p))));
        const out = at(gradW, j * k + p), step = <usize>k << 2;
        store<f32>(out, f32x4.extract_lane(acc, 0));
        store<f32>(out + step, f32x4.extract_lane(acc, 1));
        store<f32>(out + 2 * step, f32x4.extract_lane(acc, 2));
        store<f32>(out + 3 * step, f32x4.extract_lane(acc, 3));
      }
    }
    for (let j = n4; j < n; j++) for (let p = 0; p < k; p++) gradWeightScalar(gradZ, x, gradW, batch, k, n, j, p);
  }
  if (!gradBias) return;
  const n4 = n & ~3;
  let j0 = 0;
  for (; j0 + 8 <= n4; j0 += 8) {
    let acc0 = f32x4.splat(0), acc1 = f32x4.splat(0);
    for (let r = 0; r < batch; r++) {
      const dz = at(gradZ, r * n + j0);
      acc0 = f32x4.add(acc0, v128.load(dz));
      acc1 = f32x4.add(acc1, v128.load(dz, 16));
    }
    v128.store(at(gradBias, j0), acc0);
    v128.store(at(gradBias, j0 + 4), acc1);
  }
  for (let j = j0; j < n4; j += 4) {
    let acc = f32x4.splat(0);
    for (let r = 0; r < batch; r++) acc = f32x4.add(acc, v128.load(at(gradZ, r * n + j)));
    v128.store(at(gradBias, j), acc);
  }
  for (let j = n4; j < n; j++) gradBiasScalar(gradZ, gradBias, batch, n, j);
}
/** The lanes of v at out, out + k floats, out + 2k floats, out + 3k floats (a column of four rows of k). */
@inline function storeColumn(out: usize, k: i32, v: v128): void {
  const step = <usize>k << 2;
  store<f32>(out, f32x4.extract_lane(v, 0));
  store<f32>(out + step, f32x4.extract_lane(v, 1));
  store<f32>(out + 2 * step, f32x4.extract_lane(v, 2));
  store<f32>(out + 3 * step, f32x4.extract_lane(v, 3));
}
@inline function gradWeightScalar(gradZ: usize, x: usize, gradW: usize, batch: i32, k: i32, n: i32, j: i32, p: i32): void {
  let sum: f32 = 0;
  for (let r = 0; r < batch; r++) sum += load<f32>(at(gradZ, r * n + j)) * load<f32>(at(x, r * k + p));
  store<f32>(at(gradW, j * k + p), sum);
}
@inline function gradBiasScalar(gradZ: usize, gradBias: usize, batch: i32, n: i32, j: i32): void {
  let sum: f32 = 0;
  for (let r = 0; r < batch; r++) sum += load<f32>(at(gradZ, r * n + j));
  store<f32>(at(gradBias, j), sum);
}
export function smallLinearBackwardParamsScalar(gradZ: usize, x: usize, gradW: usize, gradBias: usize, batch: i32, k: i32, n: i32): void {
  for (let j = 0; j < n; j++) {
    for (let p = 0; p < k; p++) gradWeightScalar(gradZ, x, gradW, batch, k, n, j, p);
    if (gradBias) gradBiasScalar(gradZ, gradBias, batch, n, j);
  }
}

/** dX[r, p] = Σ_j dZ[r, j]·W[j, p], a sum along the outputs from 0: four values of p per vector, the rest one
 *  by one. */
export function smallLinearBackwardInput(gradZ: usize, w: usize, gradX: usize, batch: i32, k: i32, n: i32): void {
  if (n == 1 && k <= STRIP && batch >= SHORT_BATCH) {
    outerRows(gradZ, 0, w, gradX, batch, k); // dX[r, ·] = 0 + dZ[r]·W[0, ·]
    return;
  }
  const k4 = k & ~3;
  for (let r = 0; r < batch; r++) {
    const dz = at(gradZ, r * n), dx = at(gradX, r * k);
    for (let p = 0; p < k4; p += 4) {
      let acc = f32x4.splat(0);
      for (let j = 0; j < n; j++) acc = f32x4.add(acc, f32x4.mul(v128.load32_splat(at(dz, j)), v128.load(at(w, j * k + p))));
      v128.store(at(dx, p), acc);
    }
    for (let p = k4; p < k; p++) gradInputScalar(dz, w, dx, k, n, p);
  }
}
@inline function gradInputScalar(dz: usize, w: usize, dx: usize, k: i32, n: i32, p: i32): void {
  let sum: f32 = 0;
  for (let j = 0; j < n; j++) sum += load<f32>(at(dz, j)) * load<f32>(at(w, j * k + p));
  store<f32>(at(dx, p), sum);
}
export function smallLinearBackwardInputScalar(gradZ: usize, w: usize, gradX: usize, batch: i32, k: i32, n: i32): void {
  for (let r = 0; r < batch; r++) {
    const dz = at(gradZ, r * n), dx = at(gradX, r * k);
    for (let p = 0; p < k; p++) gradInputScalar(dz, w, dx, k, n, p);
  }
}

// ---- the plan ----

/** The forward pass of a plan that smallPlan() accepted. */
export function smallForward(plan: usize, batch: i32): void {
  const layers = load<i32>(plan + PLAN_HEADER_LAYERS);
  for (let k = 0; k < layers; k++) {
    const op = row(plan, k);
    const kernel = load<i32>(op + PLAN_ROW_KERNEL);
    const n = load<i32>(op + PLAN_ROW_OUT_FEATURES);
    if (kernel == LAYER_LINEAR) {
      const inFeatures = load<i32>(op + PLAN_ROW_IN_FEATURES);
      const x = load<usize>(op + PLAN_ROW_INPUT), w = load<usize>(op + PLAN_ROW_WEIGHT), bias = load<usize>(op + PLAN_ROW_BIAS);
      const z = load<usize>(op + PLAN_ROW_OUTPUT);
      if (inFeatures < 4) smallLinearForwardShortK(x, w, bias, z, batch, inFeatures, n);
      else smallLinearForwardDot(x, w, bias, z, batch, inFeatures, n);
    } else {
      activationForward(kernel, load<usize>(op + PLAN_ROW_PARAMS), load<usize>(op + PLAN_ROW_INPUT), load<usize>(op + PLAN_ROW_OUTPUT), batch, n);
    }
  }
}

/** The backward pass of a plan that smallPlan() accepted, from the last layer's gradOutput: writes (not adds
 *  to) every parameter's gradient; the first layer's input gradient only when asked for. */
export function smallBackward(plan: usize, batch: i32, needInputGrad: bool): void {
  for (let k = load<i32>(plan + PLAN_HEADER_LAYERS) - 1; k >= 0; k--) {
    const op = row(plan, k);
    const kernel = load<i32>(op + PLAN_ROW_KERNEL);
    const n = load<i32>(op + PLAN_ROW_OUT_FEATURES);
    const gradOutput = load<usize>(op + PLAN_ROW_GRAD_OUTPUT);
    const inputGrad = k > 0 || needInputGrad;
    if (kernel == LAYER_LINEAR) {
      const inFeatures = load<i32>(op + PLAN_ROW_IN_FEATURES);
      smallLinearBackwardParams(
        gradOutput, load<usize>(op + PLAN_ROW_INPUT), load<usize>(op + PLAN_ROW_WEIGHT_GRAD), load<usize>(op + PLAN_ROW_BIAS_GRAD),
        batch, inFeatures, n,
      );
      if (inputGrad) smallLinearBackwardInput(gradOutput, load<usize>(op + PLAN_ROW_WEIGHT), load<usize>(op + PLAN_ROW_GRAD_INPUT), batch, inFeatures, n);
    } else if (inputGrad) {
      activationBackward(
        kernel, load<usize>(op + PLAN_ROW_PARAMS), load<usize>(op + PLAN_ROW_INPUT), load<usize>(op + PLAN_ROW_OUTPUT),
        gradOutput, load<usize>(op + PLAN_ROW_GRAD_INPUT), batch, n,
      );
    }
  }
}
