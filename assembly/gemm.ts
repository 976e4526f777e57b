// The three matrix products of a Linear layer (PyTorch layout: X [M, K] batch-major, W [N, K], Z [M, N]):
//   forward   Z  = X·Wᵀ + bias     gemmNT: f32-gemm-nt/4x2-wasmsimd-dot    (dot products along K)
//   backward  dX = dZ·W            gemmNN: f32-gemm-nn/4x8-wasmsimd-splat  (A = dZ,  B = W)
//             dW += dZᵀ·X          gemmNN: f32-gemm-nn/4x8-wasmsimd-splat  (A = dZᵀ, B = X, accumulating)
//             dBias += Σ_rows dZ
// Both microkernels work on tiles of C held in v128 registers; rows past M reuse the last row's pointers
// (their results are not stored) and columns past the last full tile go through narrower paths, so any
// shape works. gemmNN packs its operands in cache blocks (gemmNNColumns), blocks K when it overwrites C and K
// is long (dX of a wide layer), and reads B in place when M is small and A's rows adjacent (dW of a narrow
// layer); every path computes each output as the reference's chain, bit for bit.
// assembly/gemm-reference.ts has the scalar kernels the tests compare them with.

import { activationForward } from "./activations";
import { at } from "./memory";
import { LAYER_SOFTMAX, LAYER_LOG_SOFTMAX } from "./generated/abi";

/** The activation argument of gemmNTActivated when there is none. */
export const NO_ACTIVATION: i32 = -1;

/** Activations that need whole rows (their epilogue waits until every column of a row is computed). */
@inline export function perRow(activation: i32): bool {
  return activation == LAYER_SOFTMAX || activation == LAYER_LOG_SOFTMAX;
}

/** c + a·b per lane: two instructions, or one fused multiply-add in the relaxed-SIMD build (the opt-in core
 *  that init({ simd: 'relaxed' }) loads; the default plain build is bit-for-bit deterministic everywhere). */
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

@inline function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

// Scratch for packed operands, the cache blocking of gemmNN (assembly/gemm.ts is single-threaded: one copy):
// - PANEL: B packed as consecutive 8-column panels [K][8] for a block of columns (up to 128 KiB, kept in
//   L2), read row by row from B; also Bᵀ for the short-K forward path.
// - TILES: a block of A's rows packed as consecutive 4-row tiles [K][4] (up to 16 KiB, kept in L1). dW's A
//   is dZᵀ, whose rows are a whole row of dZ apart (8 KiB in a 2048-wide layer): unpacked, every step of K
//   touched a new line of one L1 set, and wide layers ran at ~55 % of the 256-wide speed.
// Packing only moves floats: every output is still the same madd chain along K in the same order, so results
// do not depend on the block sizes (the tests check gemmNN bit for bit against the scalar reference).
const PANEL_MAX_K: i32 = 4096;
const PANEL_FLOATS: i32 = PANEL_MAX_K * 8;
const PANEL_BYTES: usize = (<usize>(PANEL_MAX_K + 1) << 5) + 64; // at least one panel (with its bias row) at the longest K
const PANEL = memory.data(<i32>PANEL_BYTES, 64);
/** Bytes of A packed per row block: 16 KiB, half of a 32 KiB L1, the rest for a panel and C's rows. */
const ROW_BLOCK_BYTES: usize = 16384;
const TILES_BYTES: usize = (<usize>PANEL_MAX_K << 4) + 64;
const TILES = memory.data(<i32>TILES_BYTES, 64);
/** Bytes of scratch one thread needs for gemmNNColumns: a panels block and a tiles block, 64-byte aligned. */
export const GEMM_SCRATCH_PANELS_BYTES: usize = PANEL_BYTES;
export const GEMM_SCRATCH_TILES_BYTES: usize = TILES_BYTES;

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

/** Columns j0..j1−1 of C = A·Bᵀ (+ bias) with the 4×2 dot-product kernel (few rows: nothing is packed),
 *  all rows (j0 even; j1 even or N), in blocks of four rows, each followed by the activation epilogue. */
function gemmNTDotColumns(
  m: i32, n: i32, k: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, bias: usize,
  activation: i32, params: usize, d: usize, j0: i32, j1: i32,
): void {
  const pairsEnd = j1 & ~1;
  for (let i0 = 0; i0 < m; i0 += 4) {
    const i1 = min(m, i0 + 4);
    for (let j = j0; j < pairsEnd; j += 2) gemmNT4x2(m, k, a, lda, b, ldb, c, ldc, bias, i0, j);
    if (j1 & 1) gemmNTColumn(i0, i1, k, a, lda, b, ldb, c, ldc, bias, j1 - 1);
    if (activation != NO_ACTIVATION) epilogue(n, c, ldc, activation, params, d, i0, i1, j0, j1);
  }
}

/** D = σ(C) on rows i0..i1−1, columns j0..j1−1 (whole rows for softmax and log-softmax). */
@inline function epilogue(n: i32, c: usize, ldc: i32, activation: i32, params: usize, d: usize, i0: i32, i1: i32, j0: i32, j1: i32): void {
  const width = j1 - j0;
  if (ldc == n && width == n) activationForward(activation, params, at(c, i0 * ldc), at(d, i0 * ldc), i1 - i0, n); // rows adjacent
  else for (let i = i0; i < i1; i++) activationForward(activation, params, at(c, i * ldc + j0), at(d, i * ldc + j0), 1, width);
}

/** Whether the forward packs (4×8 tiles on packed operands) rather than running 4×2 dot products on A and B in
 *  place: for enough rows and work to pay for the packing, and N close enough to a multiple of 8 (the last
 *  panel computes 8 columns whatever N is: N = 10 would waste 6 of 16). Decided on the whole GEMM, never per
 *  column range, so every output is computed the same way however the columns are split. */
export function gemmNTPacks(m: i32, n: i32, k: i32): bool {
  const n8 = (n + 7) & ~7;
  return m >= 8 && k >= 4 && k <= PANEL_MAX_K && (n8 - n) * 8 <= n8 && <i64>m * n * k >= 16384;
}

/** Columns j0..j1−1 of C = A·Bᵀ (+ bias) and D = σ(C), all rows: j0 a multiple of 8, j1 a multiple of 8 or N.
 *  Softmax and log-softmax need whole rows: with them, j0 = 0 and j1 = N. The scratch is the caller's (a
 *  thread's own). Every output is the same sequence of instructions whatever the range, so ranges can go to
 *  different threads. */
export function gemmNTColumns(
  m: i32, n: i32, k: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, bias: usize,
  activation: i32, params: usize, d: usize, j0: i32, j1: i32, panels: usize, tiles: usize,
): void {
  if (!gemmNTPacks(m, n, k)) {
    gemmNTDotColumns(m, n, k, a, lda, b, ldb, c, ldc, bias, activation, params, d, j0, j1);
    return;
  }
  const perTile = activation != NO_ACTIVATION && !perRow(activation); // softmax waits for whole rows
  const panelStep = biasPanelBytes(k), tileStep = tileBytes(k);
  const colBlock = <i32>(PANEL_BYTES / panelStep) << 3;
  const rowBlock = <i32>max<usize>(1, ROW_BLOCK_BYTES / tileStep) << 2;
  for (let jc = j0; jc < j1; jc += colBlock) {
    const jEnd = min(j1, jc + colBlock);
    packTransposedPanels(k, b, ldb, bias, jc, jEnd, panels);
    for (let ic = 0; ic < m; ic += rowBlock) {
      const iEnd = min(m, ic + rowBlock);
      packTiles(k, a, lda, 1, ic, iEnd, tiles);
      let tile = tiles;
      for (let i0 = ic; i0 < iEnd; i0 += 4) {
        let panel = panels;
        for (let j = jc; j < jEnd; j += 8) {
          gemmNT4x8Packed(k, tile, panel, at(c, i0 * ldc + j), ldc, min(4, m - i0), min(8, jEnd - j));
          panel += panelStep;
        }
        if (perTile) epilogue(n, c, ldc, activation, params, d, i0, min(m, i0 + 4), jc, jEnd);
        tile += tileStep;
      }
    }
  }
  if (perRow(activation)) { // whole rows (j0 = 0, j1 = N)
    if (ldc == n) activationForward(activation, params, c, d, m, n);
    else for (let i = 0; i < m; i++) activationForward(activation, params, at(c, i * ldc), at(d, i * ldc), 1, n);
  }
}

/** C = A·Bᵀ (+ bias), and with an activation kernel (not NO_ACTIVATION) also D = σ(C) (D may be C): the
 *  bias-and-activation epilogue of a Linear layer, fused (applied to each block of four rows while it is still
 *  in L1). `params`: the activation's parameter block. */
export function gemmNTActivated(
  m: i32, n: i32, k: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, bias: usize,
  activation: i32, params: usize, d: usize,
): void {
  if (k < 4 && n * k <= PANEL_FLOATS) {
    for (let j = 0; j < n; j++) {
      for (let p = 0; p < k; p++) store<f32>(at(PANEL, p * n + j), load<f32>(at(b, j * ldb + p)));
    }
    for (let i0 = 0; i0 < m; i0 += 4) {
      const i1 = min(m, i0 + 4);
      for (let i = i0; i < i1; i++) gemmNTShortKRow(n, k, at(a, i * lda), at(c, i * ldc), bias);
      if (activation != NO_ACTIVATION) epilogue(n, c, ldc, activation, params, d, i0, i1, 0, n);
    }
    return;
  }
  gemmNTColumns(m, n, k, a, lda, b, ldb, c, ldc, bias, activation, params, d, 0, n, PANEL, TILES);
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

/** Bytes from one packed panel (tile) to the next: K rows of 32 (16) bytes and a cache line more, so that
 *  the same step of K in consecutive panels does not fall in one cache set when K is a power of two. */
@inline function panelBytes(k: i32): usize { return (<usize>k << 5) + 64; }
@inline function tileBytes(k: i32): usize { return (<usize>k << 4) + 64; }

/** Columns j0..j1−1 of B (j1 − j0 a multiple of 8) into PANEL as consecutive [K][8] panels, reading B
 *  row by row. */
function packPanels(k: i32, b: usize, ldb: i32, j0: i32, j1: i32, panels: usize): void {
  const panelStep = panelBytes(k);
  let src = at(b, j0);
  let dst = panels;
  const srcStep = <usize>ldb << 2;
  for (let p = 0; p < k; p++) {
    let from = src, to = dst;
    for (let j = j0; j < j1; j += 8) {
      v128.store(to, v128.load(from));
      v128.store(to, v128.load(from, 16), 16);
      from += 32;
      to += panelStep;
    }
    src += srcStep;
    dst += 32;
  }
}

/** Rows i0..i1−1 of A into TILES as consecutive [K][4] tiles; a last tile of fewer than four rows repeats
 *  its last row (those results are not stored). */
function packTiles(k: i32, a: usize, rsA: i32, csA: i32, i0: i32, i1: i32, tiles: usize): void {
  const step = tileBytes(k);
  const fullEnd = i0 + ((i1 - i0) & ~3);
  let t = i0;
  if (rsA == 1) {
    // dW: A = dZᵀ, four rows of a tile are adjacent floats of one row of dZ: read dZ's rows in order
    let src = at(a, i0), dst = tiles;
    const srcStep = <usize>csA << 2;
    for (let p = 0; p < k; p++) {
      let from = src, to = dst;
      for (let r = i0; r < fullEnd; r += 4) {
        v128.store(to, v128.load(from));
        from += 16;
        to += step;
      }
      src += srcStep;
      dst += 16;
    }
    t = fullEnd;
  } else if (csA == 1) {
    // dX: a tile's rows are contiguous along K: transpose 4×4 blocks
    for (; t < fullEnd; t += 4) {
      let dst = tiles + <usize>((t - i0) >> 2) * step;
      const r0 = at(a, t * rsA), r1 = at(r0, rsA), r2 = at(r1, rsA), r3 = at(r2, rsA);
      let p = 0;
      for (; p + 4 <= k; p += 4) {
        const x0 = v128.load(at(r0, p)), x1 = v128.load(at(r1, p)), x2 = v128.load(at(r2, p)), x3 = v128.load(at(r3, p));
        const lo01 = i32x4.shuffle(x0, x1, 0, 4, 1, 5), hi01 = i32x4.shuffle(x0, x1, 2, 6, 3, 7);
        const lo23 = i32x4.shuffle(x2, x3, 0, 4, 1, 5), hi23 = i32x4.shuffle(x2, x3, 2, 6, 3, 7);
        v128.store(dst, i32x4.shuffle(lo01, lo23, 0, 1, 4, 5));
        v128.store(dst, i32x4.shuffle(lo01, lo23, 2, 3, 6, 7), 16);
        v128.store(dst, i32x4.shuffle(hi01, hi23, 0, 1, 4, 5), 32);
        v128.store(dst, i32x4.shuffle(hi01, hi23, 2, 3, 6, 7), 48);
        dst += 64;
      }
      for (; p < k; p++) {
        store<f32>(dst, load<f32>(at(r0, p)));
        store<f32>(dst, load<f32>(at(r1, p)), 4);
        store<f32>(dst, load<f32>(at(r2, p)), 8);
        store<f32>(dst, load<f32>(at(r3, p)), 12);
        dst += 16;
      }
    }
  }
  // any other strides, and a last tile of fewer than four rows
  for (; t < i1; t += 4) {
    let dst = tiles + <usize>((t - i0) >> 2) * step;
    const rows = min(4, i1 - t);
    const r0 = at(a, t * rsA);
    const r1 = rows > 1 ? at(r0, rsA) : r0, r2 = rows > 2 ? at(r1, rsA) : r1, r3 = rows > 3 ? at(r2, rsA) : r2;
    for (let p = 0; p < k; p++) {
      const offset = p * csA;
      store<f32>(dst, load<f32>(at(r0, offset)));
      store<f32>(dst, load<f32>(at(r1, offset)), 4);
      store<f32>(dst, load<f32>(at(r2, offset)), 8);
      store<f32>(dst, load<f32>(at(r3, offset)), 12);
      dst += 16;
    }
  }
}

/** gemmNN4x8 on packed operands: a 4-row tile of A [K][4] times an 8-column panel of B [K][8], one pointer
 *  each with constant offsets. The same madd chain per output as gemmNN4x8. */
function gemmNN4x8Packed(k: i32, ap: usize, bp: usize, out: usize, ldc: i32, rows: i32, accumulate: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let p = 0; p < k; p++) {
    const b0 = v128.load(bp), b1 = v128.load(bp, 16);
    const v0 = v128.load32_splat(ap), v1 = v128.load32_splat(ap, 4);
    c00 = madd(v0, b0, c00); c01 = madd(v0, b1, c01);
    c10 = madd(v1, b0, c10); c11 = madd(v1, b1, c11);
    const v2 = v128.load32_splat(ap, 8), v3 = v128.load32_splat(ap, 12);
    c20 = madd(v2, b0, c20); c21 = madd(v2, b1, c21);
    c30 = madd(v3, b0, c30); c31 = madd(v3, b1, c31);
    ap += 16; bp += 32;
  }
  storeRow8(out, c00, c01, accumulate);
  if (rows > 1) storeRow8(at(out, ldc), c10, c11, accumulate);
  if (rows > 2) storeRow8(at(out, 2 * ldc), c20, c21, accumulate);
  if (rows > 3) storeRow8(at(out, 3 * ldc), c30, c31, accumulate);
}

/** gemmNN4x8Packed for the last tile of a ragged M when it has one or two rows: the same chain per output,
 *  without computing (and discarding) the missing rows. */
function gemmNN2x8Packed(k: i32, ap: usize, bp: usize, out: usize, ldc: i32, rows: i32, accumulate: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  if (rows > 1) {
    for (let p = 0; p < k; p++) {
      const b0 = v128.load(bp), b1 = v128.load(bp, 16);
      const v0 = v128.load32_splat(ap), v1 = v128.load32_splat(ap, 4);
      c00 = madd(v0, b0, c00); c01 = madd(v0, b1, c01);
      c10 = madd(v1, b0, c10); c11 = madd(v1, b1, c11);
      ap += 16; bp += 32;
    }
    storeRow8(out, c00, c01, accumulate);
    storeRow8(at(out, ldc), c10, c11, accumulate);
  } else {
    for (let p = 0; p < k; p++) {
      const v0 = v128.load32_splat(ap);
      c00 = madd(v0, v128.load(bp), c00); c01 = madd(v0, v128.load(bp, 16), c01);
      ap += 16; bp += 32;
    }
    storeRow8(out, c00, c01, accumulate);
  }
}

/** Rows i..i+3 × columns j..j+7 of C with A's four rows adjacent floats (a = &A(i, 0), a step of K is csA
 *  floats) and B in place (b = &B(0, j), a step of K is ldb floats): one pointer each, rows at immediate
 *  offsets. The same madd chain per output as gemmNN4x8. */
function gemmNN4x8AdjacentRows(k: i32, a: usize, csA: i32, b: usize, ldb: i32, out: usize, ldc: i32, accumulate: bool): void {
  const aStep = <usize>csA << 2, bStep = <usize>ldb << 2;
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let p = 0; p < k; p++) {
    const b0 = v128.load(b), b1 = v128.load(b, 16);
    const v0 = v128.load32_splat(a), v1 = v128.load32_splat(a, 4);
    c00 = madd(v0, b0, c00); c01 = madd(v0, b1, c01);
    c10 = madd(v1, b0, c10); c11 = madd(v1, b1, c11);
    const v2 = v128.load32_splat(a, 8), v3 = v128.load32_splat(a, 12);
    c20 = madd(v2, b0, c20); c21 = madd(v2, b1, c21);
    c30 = madd(v3, b0, c30); c31 = madd(v3, b1, c31);
    a += aStep; b += bStep;
  }
  storeRow8(out, c00, c01, accumulate);
  storeRow8(at(out, ldc), c10, c11, accumulate);
  storeRow8(at(out, 2 * ldc), c20, c21, accumulate);
  storeRow8(at(out, 3 * ldc), c30, c31, accumulate);
}

/** gemmNN4x8AdjacentRows for two rows. */
function gemmNN2x8AdjacentRows(k: i32, a: usize, csA: i32, b: usize, ldb: i32, out: usize, ldc: i32, accumulate: bool): void {
  const aStep = <usize>csA << 2, bStep = <usize>ldb << 2;
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  for (let p = 0; p < k; p++) {
    const b0 = v128.load(b), b1 = v128.load(b, 16);
    const v0 = v128.load32_splat(a), v1 = v128.load32_splat(a, 4);
    c00 = madd(v0, b0, c00); c01 = madd(v0, b1, c01);
    c10 = madd(v1, b0, c10); c11 = madd(v1, b1, c11);
    a += aStep; b += bStep;
  }
  storeRow8(out, c00, c01, accumulate);
  storeRow8(at(out, ldc), c10, c11, accumulate);
}

/** gemmNN4x8AdjacentRows for one row. */
function gemmNN1x8AdjacentRows(k: i32, a: usize, csA: i32, b: usize, ldb: i32, out: usize, ldc: i32, accumulate: bool): void {
  const aStep = <usize>csA << 2, bStep = <usize>ldb << 2;
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  for (let p = 0; p < k; p++) {
    const v0 = v128.load32_splat(a);
    c00 = madd(v0, v128.load(b), c00); c01 = madd(v0, v128.load(b, 16), c01);
    a += aStep; b += bStep;
  }
  storeRow8(out, c00, c01, accumulate);
}

/** gemmNN4x8Packed for a later block of K (gemmNNColumns): each chain goes on from the partial sum stored in C
 *  (rows past M start from 0 and are not stored); C is overwritten. A kernel of its own, not a flag of
 *  gemmNN4x8Packed: a branch before the loop cost that kernel ~15 % (V8's register allocation). */
function gemmNN4x8PackedResume(k: i32, ap: usize, bp: usize, out: usize, ldc: i32, rows: i32): void {
  const out1 = rows > 1 ? at(out, ldc) : out, out2 = rows > 2 ? at(out, 2 * ldc) : out1, out3 = rows > 3 ? at(out, 3 * ldc) : out2;
  let c00 = v128.load(out), c01 = v128.load(out, 16), c10 = v128.load(out1), c11 = v128.load(out1, 16);
  let c20 = v128.load(out2), c21 = v128.load(out2, 16), c30 = v128.load(out3), c31 = v128.load(out3, 16);
  for (let p = 0; p < k; p++) {
    const b0 = v128.load(bp), b1 = v128.load(bp, 16);
    const v0 = v128.load32_splat(ap), v1 = v128.load32_splat(ap, 4);
    c00 = madd(v0, b0, c00); c01 = madd(v0, b1, c01);
    c10 = madd(v1, b0, c10); c11 = madd(v1, b1, c11);
    const v2 = v128.load32_splat(ap, 8), v3 = v128.load32_splat(ap, 12);
    c20 = madd(v2, b0, c20); c21 = madd(v2, b1, c21);
    c30 = madd(v3, b0, c30); c31 = madd(v3, b1, c31);
    ap += 16; bp += 32;
  }
  storeRow8(out, c00, c01, false);
  if (rows > 1) storeRow8(out1, c10, c11, false);
  if (rows > 2) storeRow8(out2, c20, c21, false);
  if (rows > 3) storeRow8(out3, c30, c31, false);
}

/** A panel for the forward: 8 bias values (0 without bias; 0 past N), then W's rows j..j+7 transposed, [K][8]
 *  (rows past N as zeros); one cache line of padding after. */
@inline function biasPanelBytes(k: i32): usize { return (<usize>(k + 1) << 5) + 64; }

/** Rows j0..j1−1 of B = W [N, K] (j0 a multiple of 8) as consecutive bias panels, transposing 4×4 blocks. */
function packTransposedPanels(k: i32, b: usize, ldb: i32, bias: usize, j0: i32, j1: i32, panels: usize): void {
  const n = j1;
  const step = biasPanelBytes(k);
  let dst = panels;
  for (let j = j0; j < j1; j += 8) {
    const rows = min(8, n - j);
    for (let r = 0; r < 8; r++) store<f32>(dst + (<usize>r << 2), bias && r < rows ? load<f32>(at(bias, j + r)) : 0);
    let out = dst + 32;
    if (rows == 8) {
      const w0 = at(b, j * ldb), rowStep = <usize>ldb << 2;
      let p = 0;
      for (; p + 4 <= k; p += 4) {
        const r0 = at(w0, p);
        const x0 = v128.load(r0), x1 = v128.load(r0 + rowStep), x2 = v128.load(r0 + 2 * rowStep), x3 = v128.load(r0 + 3 * rowStep);
        const y0 = v128.load(r0 + 4 * rowStep), y1 = v128.load(r0 + 5 * rowStep), y2 = v128.load(r0 + 6 * rowStep), y3 = v128.load(r0 + 7 * rowStep);
        const xlo01 = i32x4.shuffle(x0, x1, 0, 4, 1, 5), xhi01 = i32x4.shuffle(x0, x1, 2, 6, 3, 7);
        const xlo23 = i32x4.shuffle(x2, x3, 0, 4, 1, 5), xhi23 = i32x4.shuffle(x2, x3, 2, 6, 3, 7);
        const ylo01 = i32x4.shuffle(y0, y1, 0, 4, 1, 5), yhi01 = i32x4.shuffle(y0, y1, 2, 6, 3, 7);
        const ylo23 = i32x4.shuffle(y2, y3, 0, 4, 1, 5), yhi23 = i32x4.shuffle(y2, y3, 2, 6, 3, 7);
        v128.store(out, i32x4.shuffle(xlo01, xlo23, 0, 1, 4, 5));
        v128.store(out, i32x4.shuffle(ylo01, ylo23, 0, 1, 4, 5), 16);
        v128.store(out, i32x4.shuffle(xlo01, xlo23, 2, 3, 6, 7), 32);
        v128.store(out, i32x4.shuffle(ylo01, ylo23, 2, 3, 6, 7), 48);
        v128.store(out, i32x4.shuffle(xhi01, xhi23, 0, 1, 4, 5), 64);
        v128.store(out, i32x4.shuffle(yhi01, yhi23, 0, 1, 4, 5), 80);
        v128.store(out, i32x4.shuffle(xhi01, xhi23, 2, 3, 6, 7), 96);
        v128.store(out, i32x4.shuffle(yhi01, yhi23, 2, 3, 6, 7), 112);
        out += 128;
      }
      for (; p < k; p++) {
        for (let r = 0; r < 8; r++) store<f32>(out + (<usize>r << 2), load<f32>(at(b, (j + r) * ldb + p)));
        out += 32;
      }
    } else {
      for (let p = 0; p < k; p++) {
        for (let r = 0; r < 8; r++) store<f32>(out + (<usize>r << 2), r < rows ? load<f32>(at(b, (j + r) * ldb + p)) : 0);
        out += 32;
      }
    }
    dst += step;
  }
}

/** The forward's tile: a 4-row tile of A [K][4] times a bias panel — each output's chain starts from its bias
 *  and adds the products in order along K, exactly as the scalar reference does. The last panel of a ragged
 *  N stores only its `cols` columns. */
function gemmNT4x8Packed(k: i32, ap: usize, bp: usize, out: usize, ldc: i32, rows: i32, cols: i32): void {
  const bias0 = v128.load(bp), bias1 = v128.load(bp, 16);
  let c00 = bias0, c01 = bias1, c10 = bias0, c11 = bias1, c20 = bias0, c21 = bias1, c30 = bias0, c31 = bias1;
  bp += 32;
  for (let p = 0; p < k; p++) {
    const b0 = v128.load(bp), b1 = v128.load(bp, 16);
    const v0 = v128.load32_splat(ap), v1 = v128.load32_splat(ap, 4);
    c00 = madd(v0, b0, c00); c01 = madd(v0, b1, c01);
    c10 = madd(v1, b0, c10); c11 = madd(v1, b1, c11);
    const v2 = v128.load32_splat(ap, 8), v3 = v128.load32_splat(ap, 12);
    c20 = madd(v2, b0, c20); c21 = madd(v2, b1, c21);
    c30 = madd(v3, b0, c30); c31 = madd(v3, b1, c31);
    ap += 16; bp += 32;
  }
  if (cols == 8) {
    storeRow8(out, c00, c01, false);
    if (rows > 1) storeRow8(at(out, ldc), c10, c11, false);
    if (rows > 2) storeRow8(at(out, 2 * ldc), c20, c21, false);
    if (rows > 3) storeRow8(at(out, 3 * ldc), c30, c31, false);
  } else {
    storeRowPart(out, c00, c01, cols);
    if (rows > 1) storeRowPart(at(out, ldc), c10, c11, cols);
    if (rows > 2) storeRowPart(at(out, 2 * ldc), c20, c21, cols);
    if (rows > 3) storeRowPart(at(out, 3 * ldc), c30, c31, cols);
  }
}

/** The first `cols` (< 8) of the eight floats lo, hi. */
function storeRowPart(out: usize, lo: v128, hi: v128, cols: i32): void {
  store<f32>(out, f32x4.extract_lane(lo, 0));
  if (cols > 1) store<f32>(out, f32x4.extract_lane(lo, 1), 4);
  if (cols > 2) store<f32>(out, f32x4.extract_lane(lo, 2), 8);
  if (cols > 3) store<f32>(out, f32x4.extract_lane(lo, 3), 12);
  if (cols > 4) store<f32>(out, f32x4.extract_lane(hi, 0), 16);
  if (cols > 5) store<f32>(out, f32x4.extract_lane(hi, 1), 20);
  if (cols > 6) store<f32>(out, f32x4.extract_lane(hi, 2), 24);
}

/** Steps of K per block when gemmNN overwrites C and K is longer than K_BLOCK_FROM: a 4-row tile of A is then
 *  4 KiB and a panel of B 8 KiB, as for a 256-wide layer (at K = 2048 unblocked, a tile alone filled L1, every
 *  panel streamed from L2 and A was packed again for every 16 columns: dX ran at ~75 % of the peak). */
const K_BLOCK: i32 = 256;
const K_BLOCK_FROM: i32 = 384;

/** The length of each block of K (the last may be shorter): K itself when C accumulates (the reference adds
 *  C's old value after the whole chain, so a chain cannot go on from C) or K is short; otherwise K split into
 *  equal blocks of at most K_BLOCK. A function of K alone, never of the column range: every output is the same
 *  chain whatever the chunking. */
@inline function kBlockLength(k: i32, accumulate: bool): i32 {
  if (accumulate || k <= K_BLOCK_FROM) return k;
  const blocks = (k + K_BLOCK - 1) / K_BLOCK;
  return (k + blocks - 1) / blocks;
}

/** Columns j0..j1−1 (j1 − j0 a multiple of 8) of C, blocked: K in blocks (kBlockLength), and per block of K a
 *  column block of B packed into `panels` (kept in L2), then for each row block of A packed into `tiles` (kept
 *  in L1), each tile against every panel (C is written row by row, which matters when K is small). A later
 *  block of K resumes each output's chain from the partial sum stored in C: f32 in memory is exactly the f32
 *  in the register, so the chain, and its bits, are those of one pass over K. The scratch is the caller's:
 *  PANEL and TILES on this thread; a thread pool gives each thread its own. */
export function gemmNNColumns(
  m: i32, k: i32, a: usize, rsA: i32, csA: i32, b: usize, ldb: i32, c: usize, ldc: i32, accumulate: bool,
  j0: i32, j1: i32, panels: usize, tiles: usize,
): void {
  if (rsA == 1 && m <= FEW_ROWS && ldb <= FEW_ROWS_MAX_LDB) {
    gemmNNFewRowsColumns(m, k, a, csA, b, ldb, c, ldc, accumulate, j0, j1);
    return;
  }
  const kc = kBlockLength(k, accumulate);
  let pc = 0;
  do { // once at least: K = 0 still writes C
    const kLen = min(kc, k - pc);
    gemmNNColumnsBlock(
      m, kLen, at(a, pc * csA), rsA, csA, at(b, pc * ldb), ldb, c, ldc, accumulate, pc > 0, j0, j1, panels, tiles,
    );
    pc += kc;
  } while (pc < k);
}

/** Up to this many rows of C, when A's rows are adjacent floats (A = dZᵀ in dW: M = the layer's outputs),
 *  gemmNNColumns packs nothing: packing B copies K·N floats for only M·K·N madds (~10 % of the time at
 *  M = 10), while B read in place by 8-column strips costs nothing more — as long as B's rows are at most
 *  FEW_ROWS_MAX_LDB floats apart: further apart (1024, 2048), a strip's K lines fall in a few L1 sets and
 *  miss every time (measured: dW of 2048 → 10 at 40 % of the peak in place, 82 % packed). */
const FEW_ROWS: i32 = 16;
const FEW_ROWS_MAX_LDB: i32 = 256;

/** gemmNNColumns for M ≤ FEW_ROWS and A(i, p) = a[i + p·csA]: strip by strip of 8 columns of B read in place
 *  (a strip, K lines, stays in L1 for every row tile), rows in tiles of 4, then 2, then 1. */
function gemmNNFewRowsColumns(
  m: i32, k: i32, a: usize, csA: i32, b: usize, ldb: i32, c: usize, ldc: i32, accumulate: bool, j0: i32, j1: i32,
): void {
  const fours = m & ~3, twos = m & ~1;
  for (let j = j0; j < j1; j += 8) {
    const bj = at(b, j);
    for (let i0 = 0; i0 < fours; i0 += 4) gemmNN4x8AdjacentRows(k, at(a, i0), csA, bj, ldb, at(c, i0 * ldc + j), ldc, accumulate);
    if (twos > fours) gemmNN2x8AdjacentRows(k, at(a, fours), csA, bj, ldb, at(c, fours * ldc + j), ldc, accumulate);
    if (m > twos) gemmNN1x8AdjacentRows(k, at(a, twos), csA, bj, ldb, at(c, twos * ldc + j), ldc, accumulate);
  }
}

/** One block of K of gemmNNColumns (resume: the chains go on from C's partial sums). */
function gemmNNColumnsBlock(
  m: i32, k: i32, a: usize, rsA: i32, csA: i32, b: usize, ldb: i32, c: usize, ldc: i32, accumulate: bool,
  resume: bool, j0: i32, j1: i32, panels: usize, tiles: usize,
): void {
  const panelStep = panelBytes(k), tileStep = tileBytes(k);
  const colBlock = <i32>(PANEL_BYTES / panelStep) << 3;
  const rowBlock = <i32>max<usize>(1, ROW_BLOCK_BYTES / tileStep) << 2;
  for (let jc = j0; jc < j1; jc += colBlock) {
    const jEnd = min(j1, jc + colBlock);
    packPanels(k, b, ldb, jc, jEnd, panels);
    for (let ic = 0; ic < m; ic += rowBlock) {
      const iEnd = min(m, ic + rowBlock);
      packTiles(k, a, rsA, csA, ic, iEnd, tiles);
      let tile = tiles;
      for (let i0 = ic; i0 < iEnd; i0 += 4) {
        let panel = panels;
        const rows = min(4, m - i0);
        for (let j = jc; j < jEnd; j += 8) {
          const out = at(c, i0 * ldc + j);
          if (resume) gemmNN4x8PackedResume(k, tile, panel, out, ldc, rows);
          else if (rows > 2) gemmNN4x8Packed(k, tile, panel, out, ldc, rows, accumulate);
          else gemmNN2x8Packed(k, tile, panel, out, ldc, rows, accumulate);
          panel += panelStep;
        }
        tile += tileStep;
      }
    }
  }
}

/** Whether gemmNN packs (gemmNNColumns) or runs the 4×8 kernel on A and B in place (few rows, or K too long
 *  for a panel). */
export function gemmNNPacks(m: i32, k: i32): bool {
  return k <= PANEL_MAX_K && m > 4;
}

/** Columns n8..N−1 (N − n8 < 8) of C, after the full panels. */
export function gemmNNEdgeColumns(
  m: i32, n: i32, k: i32, a: usize, rsA: i32, csA: i32, b: usize, ldb: i32, c: usize, ldc: i32, accumulate: bool, n8: i32,
): void {
  if (n8 < n) gemmNNEdge(m, n, k, a, rsA, csA, b, ldb, c, ldc, accumulate, n8);
}

export function gemmNN(
  m: i32, n: i32, k: i32, a: usize, rsA: i32, csA: i32, b: usize, ldb: i32, c: usize, ldc: i32, accumulate: bool,
): void {
  const full = n & ~7;
  if (gemmNNPacks(m, k)) {
    gemmNNColumns(m, k, a, rsA, csA, b, ldb, c, ldc, accumulate, 0, full, PANEL, TILES);
  } else {
    for (let i0 = 0; i0 < m; i0 += 4) {
      for (let j0 = 0; j0 < full; j0 += 8) gemmNN4x8(m, k, a, rsA, csA, b, ldb, c, ldc, accumulate, i0, j0);
    }
  }
  gemmNNEdgeColumns(m, n, k, a, rsA, csA, b, ldb, c, ldc, accumulate, full);
}
