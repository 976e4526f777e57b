// The three matrix products of a Linear layer (PyTorch layout: X [M, K] batch-major, W [N, K], Z [M, N]):
//   forward   Z  = X·Wᵀ + bias     gemmNT: f32-gemm-nt/4x2-wasmsimd-dot    (dot products along K)
//   backward  dX = dZ·W            gemmNN: f32-gemm-nn/4x8-wasmsimd-splat  (A = dZ,  B = W)
//             dW += dZᵀ·X          gemmNN: f32-gemm-nn/4x8-wasmsimd-splat  (A = dZᵀ, B = X, accumulating)
//             dBias += Σ_rows dZ
// Both microkernels work on tiles of C held in v128 registers; rows past M reuse the last row's pointers
// (their results are not stored) and columns past the last full tile go through narrower paths, so any
// shape works. assembly/gemm-reference.ts has the scalar kernels the tests compare them with.

import { activationForward } from "./activations";
import { at } from "./memory";

/** The activation argument of gemmNTActivated when there is none. */
export const NO_ACTIVATION: i32 = -1;

/** c + a·b per lane: two instructions, or one fused multiply-add in the relaxed-SIMD build (the opt-in core
 *  that init({ simd: 'relaxed' }) loads; the default plain build is bit-for-bit deterministic everywhere). */
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

@inline function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

// Scratch for packed operands: an 8-column panel of B ([K, 8]) that the 4×8 kernel streams from L1 for
// every row tile (B's own rows can be power-of-two strides apart, which map to few cache sets), or Bᵀ for
// the short-K forward path.
const PANEL_MAX_K: i32 = 4096;
const PANEL_FLOATS: i32 = PANEL_MAX_K * 8;
const PANEL = memory.data(PANEL_FLOATS * 4, 16);

// ---- forward: C[M, N] = A[M, K]·B[N, K]ᵀ (+ bias[N]) ----

/** Σ_p a[p]·b[p] for the K % 4 tail that the vector loop leaves. */
@inline function dotTail(a: usize, b: usize, from: i32, k: i32): f32 {
  let sum: f32 = 0;
  for (let p = from; p < k; p++) sum += load<f32>(at(a, p)) * load<f32>(at(b, p));
  return sum;
}

/** Rows i0..i0+3 (clamped to M) × columns j0, j0+1 of C: eight dot products along K at once. */
function gemmNT4x2(
  m: i32, k: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, bias: usize, i0: i32, j0: i32,
): void {
  const rows = min(4, m - i0);
  const a0 = at(a, i0 * lda);
  const a1 = rows > 1 ? at(a0, lda) : a0;
  const a2 = rows > 2 ? at(a1, lda) : a1;
  const a3 = rows > 3 ? at(a2, lda) : a2;
  const b0 = at(b, j0 * ldb), b1 = at(b0, ldb);
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let p = 0;
  for (; p + 4 <= k; p += 4) {
    const w0 = v128.load(at(b0, p)), w1 = v128.load(at(b1, p));
    const x0 = v128.load(at(a0, p)), x1 = v128.load(at(a1, p));
    c00 = madd(x0, w0, c00); c01 = madd(x0, w1, c01);
    c10 = madd(x1, w0, c10); c11 = madd(x1, w1, c11);
    const x2 = v128.load(at(a2, p)), x3 = v128.load(at(a3, p));
    c20 = madd(x2, w0, c20); c21 = madd(x2, w1, c21);
    c30 = madd(x3, w0, c30); c31 = madd(x3, w1, c31);
  }
  const bias0: f32 = bias ? load<f32>(at(bias, j0)) : 0, bias1: f32 = bias ? load<f32>(at(bias, j0 + 1)) : 0;
  const out = at(c, i0 * ldc + j0);
  store<f32>(out, hsum(c00) + dotTail(a0, b0, p, k) + bias0);
  store<f32>(out, hsum(c01) + dotTail(a0, b1, p, k) + bias1, 4);
  if (rows > 1) {
    store<f32>(at(out, ldc), hsum(c10) + dotTail(a1, b0, p, k) + bias0);
    store<f32>(at(out, ldc), hsum(c11) + dotTail(a1, b1, p, k) + bias1, 4);
  }
  if (rows > 2) {
    store<f32>(at(out, 2 * ldc), hsum(c20) + dotTail(a2, b0, p, k) + bias0);
    store<f32>(at(out, 2 * ldc), hsum(c21) + dotTail(a2, b1, p, k) + bias1, 4);
  }
  if (rows > 3) {
    store<f32>(at(out, 3 * ldc), hsum(c30) + dotTail(a3, b0, p, k) + bias0);
    store<f32>(at(out, 3 * ldc), hsum(c31) + dotTail(a3, b1, p, k) + bias1, 4);
  }
}

/** Column j of C for rows i0..i1−1: the odd column that 4×2 tiles leave. */
function gemmNTColumn(i0: i32, i1: i32, k: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, bias: usize, j: i32): void {
  const bj = at(b, j * ldb);
  const biasJ: f32 = bias ? load<f32>(at(bias, j)) : 0;
  for (let i = i0; i < i1; i++) {
    const ai = at(a, i * lda);
    let acc = f32x4.splat(0);
    let p = 0;
    for (; p + 4 <= k; p += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(at(ai, p)), v128.load(at(bj, p))));
    store<f32>(at(c, i * ldc + j), hsum(acc) + dotTail(ai, bj, p, k) + biasJ);
  }
}

/** K < 4 (e.g. a network's 1- or 2-feature input): with so few terms per dot product, vectorise over N
 *  instead, against Bᵀ packed as K rows of N (packed once per call by gemmNT). */
function gemmNTShortKRow(n: i32, k: i32, ai: usize, ci: usize, bias: usize): void {
  const vectorEnd = n & ~3;
  for (let j = 0; j < vectorEnd; j += 4) {
    let acc = bias ? v128.load(at(bias, j)) : f32x4.splat(0);
    for (let p = 0; p < k; p++) acc = f32x4.add(acc, f32x4.mul(v128.load32_splat(at(ai, p)), v128.load(at(PANEL, p * n + j))));
    v128.store(at(ci, j), acc);
  }
  for (let j = vectorEnd; j < n; j++) {
    let sum: f32 = bias ? load<f32>(at(bias, j)) : 0;
    for (let p = 0; p < k; p++) sum += load<f32>(at(ai, p)) * load<f32>(at(PANEL, p * n + j));
    store<f32>(at(ci, j), sum);
  }
}

/** C = A·Bᵀ (+ bias), and with an activation kernel (not NO_ACTIVATION) also D = σ(C) (D may be C), applied
 *  to each block of four rows right after it is computed, while those rows are still in L1: the
 *  bias-and-activation epilogue of a Linear layer, fused. `params`: the activation's parameter block. */
export function gemmNTActivated(
  m: i32, n: i32, k: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, bias: usize,
  activation: i32, params: usize, d: usize,
): void {
  const shortK = k < 4 && n * k <= PANEL_FLOATS;
  if (shortK) {
    for (let j = 0; j < n; j++) {
      for (let p = 0; p < k; p++) store<f32>(at(PANEL, p * n + j), load<f32>(at(b, j * ldb + p)));
    }
  }
  const pairs = n & ~1;
  for (let i0 = 0; i0 < m; i0 += 4) {
    const i1 = min(m, i0 + 4);
    if (shortK) {
      for (let i = i0; i < i1; i++) gemmNTShortKRow(n, k, at(a, i * lda), at(c, i * ldc), bias);
    } else {
      for (let j0 = 0; j0 < pairs; j0 += 2) gemmNT4x2(m, k, a, lda, b, ldb, c, ldc, bias, i0, j0);
      if (n & 1) gemmNTColumn(i0, i1, k, a, lda, b, ldb, c, ldc, bias, n - 1);
    }
    if (activation != NO_ACTIVATION) {
      if (ldc == n) activationForward(activation, params, at(c, i0 * ldc), at(d, i0 * ldc), i1 - i0, n); // rows adjacent
      else for (let i = i0; i < i1; i++) activationForward(activation, params, at(c, i * ldc), at(d, i * ldc), 1, n);
    }
  }
}

export function gemmNT(m: i32, n: i32, k: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, bias: usize): void {
  gemmNTActivated(m, n, k, a, lda, b, ldb, c, ldc, bias, NO_ACTIVATION, 0, c);
}

// ---- backward: C[M, N] (+)= A·B, A(i, p) = a[i·rsA + p·csA], B row-major [K, N] ----

/** Rows i0..i0+3 (clamped) × columns j0..j0+7 of C: per step of K, four load-splats of A (load32_splat,
 *  measurably faster here than a scalar load and a splat) times two vectors of B. */
function gemmNN4x8(
  m: i32, k: i32, a: usize, rsA: i32, csA: i32, b: usize, ldb: i32, c: usize, ldc: i32, accumulate: bool, i0: i32, j0: i32,
): void {
  const rows = min(4, m - i0);
  let a0 = at(a, i0 * rsA);
  let a1 = rows > 1 ? at(a0, rsA) : a0;
  let a2 = rows > 2 ? at(a1, rsA) : a1;
  let a3 = rows > 3 ? at(a2, rsA) : a2;
  const aStep = <usize>csA << 2, bStep = <usize>ldb << 2;
  let bp = at(b, j0);
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let p = 0; p < k; p++) {
    const b0 = v128.load(bp), b1 = v128.load(bp, 16);
    const v0 = v128.load32_splat(a0), v1 = v128.load32_splat(a1);
    c00 = madd(v0, b0, c00); c01 = madd(v0, b1, c01);
    c10 = madd(v1, b0, c10); c11 = madd(v1, b1, c11);
    const v2 = v128.load32_splat(a2), v3 = v128.load32_splat(a3);
    c20 = madd(v2, b0, c20); c21 = madd(v2, b1, c21);
    c30 = madd(v3, b0, c30); c31 = madd(v3, b1, c31);
    a0 += aStep; a1 += aStep; a2 += aStep; a3 += aStep; bp += bStep;
  }
  const out = at(c, i0 * ldc + j0);
  storeRow8(out, c00, c01, accumulate);
  if (rows > 1) storeRow8(at(out, ldc), c10, c11, accumulate);
  if (rows > 2) storeRow8(at(out, 2 * ldc), c20, c21, accumulate);
  if (rows > 3) storeRow8(at(out, 3 * ldc), c30, c31, accumulate);
}

@inline function storeRow8(out: usize, lo: v128, hi: v128, accumulate: bool): void {
  if (accumulate) {
    lo = f32x4.add(lo, v128.load(out));
    hi = f32x4.add(hi, v128.load(out, 16));
  }
  v128.store(out, lo);
  v128.store(out, hi, 16);
}

/** Columns j0..n−1 (fewer than 8) of C: when A's rows are adjacent (A = dZᵀ in dW), four rows at a
 *  time as one vector; otherwise four columns at a time, then one by one. */
function gemmNNEdge(
  m: i32, n: i32, k: i32, a: usize, rsA: i32, csA: i32, b: usize, ldb: i32, c: usize, ldc: i32, accumulate: bool, j0: i32,
): void {
  let firstScalarRow = 0;
  if (rsA == 1) {
    firstScalarRow = m & ~3;
    for (let j = j0; j < n; j++) {
      for (let i0 = 0; i0 < firstScalarRow; i0 += 4) {
        let acc = f32x4.splat(0);
        for (let p = 0; p < k; p++) {
          acc = f32x4.add(acc, f32x4.mul(v128.load(at(a, p * csA + i0)), v128.load32_splat(at(b, p * ldb + j))));
        }
        const out = at(c, i0 * ldc + j), rowStep = <usize>ldc << 2;
        const base0: f32 = accumulate ? load<f32>(out) : 0, base1: f32 = accumulate ? load<f32>(out + rowStep) : 0;
        const base2: f32 = accumulate ? load<f32>(out + 2 * rowStep) : 0, base3: f32 = accumulate ? load<f32>(out + 3 * rowStep) : 0;
        store<f32>(out, base0 + f32x4.extract_lane(acc, 0));
        store<f32>(out + rowStep, base1 + f32x4.extract_lane(acc, 1));
        store<f32>(out + 2 * rowStep, base2 + f32x4.extract_lane(acc, 2));
        store<f32>(out + 3 * rowStep, base3 + f32x4.extract_lane(acc, 3));
      }
    }
  }
  for (let i = firstScalarRow; i < m; i++) {
    const ai = at(a, i * rsA);
    let j = j0;
    for (; j + 4 <= n; j += 4) {
      let acc = f32x4.splat(0);
      for (let p = 0; p < k; p++) {
        acc = f32x4.add(acc, f32x4.mul(v128.load32_splat(at(ai, p * csA)), v128.load(at(b, p * ldb + j))));
      }
      const out = at(c, i * ldc + j);
      v128.store(out, accumulate ? f32x4.add(acc, v128.load(out)) : acc);
    }
    for (; j < n; j++) {
      let sum: f32 = 0;
      for (let p = 0; p < k; p++) sum += load<f32>(at(ai, p * csA)) * load<f32>(at(b, p * ldb + j));
      const out = at(c, i * ldc + j);
      store<f32>(out, accumulate ? load<f32>(out) + sum : sum);
    }
  }
}

function packPanel(k: i32, b: usize, ldb: i32, j0: i32): void {
  let src = at(b, j0);
  let dst = PANEL;
  const step = <usize>ldb << 2;
  for (let p = 0; p < k; p++) {
    v128.store(dst, v128.load(src));
    v128.store(dst, v128.load(src, 16), 16);
    src += step;
    dst += 32;
  }
}

export function gemmNN(
  m: i32, n: i32, k: i32, a: usize, rsA: i32, csA: i32, b: usize, ldb: i32, c: usize, ldc: i32, accumulate: bool,
): void {
  const full = n & ~7;
  if (k <= PANEL_MAX_K && m > 4) {
    for (let j0 = 0; j0 < full; j0 += 8) {
      packPanel(k, b, ldb, j0);
      for (let i0 = 0; i0 < m; i0 += 4) gemmNN4x8(m, k, a, rsA, csA, PANEL - (<usize>j0 << 2), 8, c, ldc, accumulate, i0, j0);
    }
  } else {
    for (let i0 = 0; i0 < m; i0 += 4) {
      for (let j0 = 0; j0 < full; j0 += 8) gemmNN4x8(m, k, a, rsA, csA, b, ldb, c, ldc, accumulate, i0, j0);
    }
  }
  if (full < n) gemmNNEdge(m, n, k, a, rsA, csA, b, ldb, c, ldc, accumulate, full);
}

// ---- the Linear layer ----

export function linearForward(
  x: usize, weight: usize, bias: usize, z: usize, batch: i32, inFeatures: i32, outFeatures: i32,
): void {
  gemmNT(batch, outFeatures, inFeatures, x, inFeatures, weight, inFeatures, z, outFeatures, bias);
}

/** z = x·Wᵀ + b and a = σ(z) in one pass (activation: a layer kernel of abi.json, params its block). */
export function linearForwardActivated(
  x: usize, weight: usize, bias: usize, z: usize, a: usize, batch: i32, inFeatures: i32, outFeatures: i32,
  activation: i32, params: usize,
): void {
  gemmNTActivated(batch, outFeatures, inFeatures, x, inFeatures, weight, inFeatures, z, outFeatures, bias, activation, params, a);
}

/** dX = dZ·W (overwrites dX). */
export function linearBackwardInput(
  gradZ: usize, weight: usize, gradX: usize, batch: i32, inFeatures: i32, outFeatures: i32,
): void {
  gemmNN(batch, inFeatures, outFeatures, gradZ, outFeatures, 1, weight, inFeatures, gradX, inFeatures, false);
}

/** dW += dZᵀ·X and dBias += Σ_batch dZ (bias skipped when its pointer is 0). */
export function linearBackwardParams(
  gradZ: usize, x: usize, gradWeight: usize, gradBias: usize, batch: i32, inFeatures: i32, outFeatures: i32,
): void {
  gemmNN(outFeatures, inFeatures, batch, gradZ, 1, outFeatures, x, inFeatures, gradWeight, inFeatures, true);
  if (gradBias) {
    for (let r = 0; r < batch; r++) {
      const row = at(gradZ, r * outFeatures);
      let j = 0;
      for (; j + 4 <= outFeatures; j += 4) {
        v128.store(at(gradBias, j), f32x4.add(v128.load(at(gradBias, j)), v128.load(at(row, j))));
      }
      for (; j < outFeatures; j++) store<f32>(at(gradBias, j), load<f32>(at(gradBias, j)) + load<f32>(at(row, j)));
    }
  }
}
