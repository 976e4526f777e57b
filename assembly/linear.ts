// The three products of a Linear layer (assembly/gemm.ts has their kernels), split across the thread pool
// (assembly/pool.ts) by ranges of output columns when the product is big enough to pay for it. A range is
// computed by the same kernels and the same chains along K as the whole product on one thread, and every
// choice that changes the instruction sequence (packed or dot forward, K blocking, the few-rows dW path) is
// made from the whole shape, never from the range: results are bit-identical for any thread count.
import { at } from "./memory";
import {
  gemmNTActivated, gemmNTColumns, gemmNN, gemmNNColumns, gemmNNEdgeColumns, gemmNNPacks, perRow, NO_ACTIVATION,
} from "./gemm";
import { activationForward } from "./activations";
import {
  poolThreads, runParallel, openTask, MAX_CHUNKS, PRIVATE_FLOATS, TASK_BODY, TASK_M, TASK_WIDTH, TASK_C, TASK_LDC,
  TASK_D, TASK_ACCUMULATE,
} from "./pool";

/** Below this many flops (2·M·N·K) a product stays on one thread: waking the pool and the imbalance of its
 *  last chunks cost more than the product (the spike: ~2 MFLOP is where 2 threads start to win). */
let minParallelFlops: f64 = 2e6;
/** Chunks per thread: more than one, so a thread that starts late or runs slower gets fewer. */
let chunksPerThread: i32 = 4;
/** The narrowest chunk (a multiple of 8): narrower ones repack A for too few columns (the forward of
 *  784 → 128 ran at 1.2× on 2 threads in chunks of 32 columns, 1.8× in chunks of 64). */
let minChunkColumns: i32 = 64;

/** Tests: how products are split (e.g. 0, 8, 64 splits even the smallest product into 8-column chunks, to
 *  check that results do not depend on the split). */
export function poolSetChunking(minFlops: f64, minColumns: i32, perThread: i32): void {
  minParallelFlops = minFlops;
  minChunkColumns = max(8, minColumns & ~7);
  chunksPerThread = max(1, perThread);
}

// The body's fields of the task (after the pool's header, assembly/pool.ts).
const K: usize = TASK_BODY, A: usize = TASK_BODY + 4, RS_A: usize = TASK_BODY + 8, CS_A: usize = TASK_BODY + 12;
const B: usize = TASK_BODY + 16, LDB: usize = TASK_BODY + 20, BIAS: usize = TASK_BODY + 24;
const ACTIVATION: usize = TASK_BODY + 28, PARAMS: usize = TASK_BODY + 32, N: usize = TASK_BODY + 36;

@inline function flops(m: i32, n: i32, k: i32): f64 {
  return 2.0 * <f64>m * <f64>n * <f64>k;
}

/** The width of each chunk of `columns` output columns of an M-row product (a multiple of 8), or 0 to stay
 *  on one thread. */
function chunkColumns(m: i32, columns: i32, k: i32): i32 {
  const threads = poolThreads();
  if (threads == 1 || flops(m, columns, k) < minParallelFlops) return 0;
  let width = max(minChunkColumns, ((columns / (threads * chunksPerThread)) + 7) & ~7);
  const fits = (PRIVATE_FLOATS / m - 8) & ~7; // the widest chunk a worker's private buffer holds
  if (fits >= 8) width = min(width, fits);
  width = max(width, (((columns + MAX_CHUNKS - 1) / MAX_CHUNKS) + 7) & ~7);
  return (columns + width - 1) / width >= 2 ? width : 0;
}

@inline function chunkCount(columns: i32, width: i32): i32 {
  return (columns + width - 1) / width;
}

/** Where a chunk writes: in place (out = 0) or into out with rows `ld` apart, shifted so that column j0 of
 *  C lands on out (the kernels index C by the column). */
@inline function shifted(out: usize, inPlace: usize, j0: i32): usize {
  return out ? out - (<usize>j0 << 2) : inPlace;
}

/** Chunk `chunk` of the forward: columns [chunk·width, +width) of C = A·Bᵀ + bias and D = σ(C) (element-wise
 *  activations only: a row-wise one runs after every chunk is done). */
function forwardChunk(task: usize, chunk: i32, panels: usize, tiles: usize, out: usize, outD: usize, ldOut: i32): void {
  const n = load<i32>(task + N), width = load<i32>(task + TASK_WIDTH);
  const j0 = chunk * width;
  const c = load<usize>(task + TASK_C), d = load<usize>(task + TASK_D);
  gemmNTColumns(
    load<i32>(task + TASK_M), n, load<i32>(task + K), load<usize>(task + A), load<i32>(task + RS_A), load<usize>(task + B),
    load<i32>(task + LDB), shifted(out, c, j0), out ? ldOut : load<i32>(task + TASK_LDC), load<usize>(task + BIAS),
    load<i32>(task + ACTIVATION), load<usize>(task + PARAMS), shifted(outD, d ? d : c, j0), j0, min(n, j0 + width), panels, tiles,
  );
}

/** Chunk `chunk` of C (+)= A·B: full 8-column panels [chunk·width, +width), the last chunk also the
 *  columns past the last full panel. */
function backwardChunk(task: usize, chunk: i32, panels: usize, tiles: usize, out: usize, outD: usize, ldOut: i32): void {
  const m = load<i32>(task + TASK_M), n = load<i32>(task + N), k = load<i32>(task + K), width = load<i32>(task + TASK_WIDTH);
  const a = load<usize>(task + A), rsA = load<i32>(task + RS_A), csA = load<i32>(task + CS_A);
  const b = load<usize>(task + B), ldb = load<i32>(task + LDB);
  const full = n & ~7, j0 = chunk * width, j1 = min(full, j0 + width);
  const c = shifted(out, load<usize>(task + TASK_C), j0), ldc = out ? ldOut : load<i32>(task + TASK_LDC);
  const accumulate = load<i32>(task + TASK_ACCUMULATE) != 0;
  gemmNNColumns(m, k, a, rsA, csA, b, ldb, c, ldc, accumulate, j0, j1, panels, tiles);
  if (j1 == full) gemmNNEdgeColumns(m, n, k, a, rsA, csA, b, ldb, c, ldc, accumulate, full);
}

/** The whole forward of the task, on the caller (runParallel's alternative to the chunks). */
function forwardWhole(task: usize): void {
  const c = load<usize>(task + TASK_C), d = load<usize>(task + TASK_D);
  gemmNTActivated(
    load<i32>(task + TASK_M), load<i32>(task + N), load<i32>(task + K), load<usize>(task + A), load<i32>(task + RS_A),
    load<usize>(task + B), load<i32>(task + LDB), c, load<i32>(task + TASK_LDC), load<usize>(task + BIAS),
    load<i32>(task + ACTIVATION), load<usize>(task + PARAMS), d ? d : c,
  );
}

/** The whole backward product of the task, on the caller. */
function backwardWhole(task: usize): void {
  gemmNN(
    load<i32>(task + TASK_M), load<i32>(task + N), load<i32>(task + K), load<usize>(task + A), load<i32>(task + RS_A),
    load<i32>(task + CS_A), load<usize>(task + B), load<i32>(task + LDB), load<usize>(task + TASK_C),
    load<i32>(task + TASK_LDC), load<i32>(task + TASK_ACCUMULATE) != 0,
  );
}

/** C = A·Bᵀ + bias, D = σ(C) (gemmNTActivated), on the pool when it pays. */
function forward(
  m: i32, n: i32, k: i32, a: usize, b: usize, c: usize, bias: usize, activation: i32, params: usize, d: usize,
): void {
  const width = k >= 4 ? chunkColumns(m, n, k) : 0; // K < 4: the short-K rows, one pass over N
  if (width == 0) {
    gemmNTActivated(m, n, k, a, k, b, k, c, n, bias, activation, params, d);
    return;
  }
  const rowwise = perRow(activation);
  const elementwise = activation != NO_ACTIVATION && !rowwise;
  const task = openTask(m, n, width, c, n, elementwise && d != c ? d : 0, false);
  store<i32>(task + N, n); store<i32>(task + K, k); store<usize>(task + A, a); store<i32>(task + RS_A, k);
  store<usize>(task + B, b); store<i32>(task + LDB, k); store<usize>(task + BIAS, bias);
  store<i32>(task + ACTIVATION, rowwise ? NO_ACTIVATION : activation); store<usize>(task + PARAMS, params);
  runParallel(forwardChunk, forwardWhole, chunkCount(n, width), k);
  if (rowwise) activationForward(activation, params, c, d, m, n); // as gemmNTColumns does after whole rows
}

/** C (+)= A·B (gemmNN), on the pool when it pays. */
function backward(
  m: i32, n: i32, k: i32, a: usize, rsA: i32, csA: i32, b: usize, ldb: i32, c: usize, ldc: i32, accumulate: bool,
): void {
  const full = n & ~7;
  const width = gemmNNPacks(m, k) && full > 0 ? chunkColumns(m, full, k) : 0;
  if (width == 0) {
    gemmNN(m, n, k, a, rsA, csA, b, ldb, c, ldc, accumulate);
    return;
  }
  const task = openTask(m, n, width, c, ldc, 0, accumulate);
  store<i32>(task + N, n); store<i32>(task + K, k); store<usize>(task + A, a); store<i32>(task + RS_A, rsA);
  store<i32>(task + CS_A, csA); store<usize>(task + B, b); store<i32>(task + LDB, ldb);
  runParallel(backwardChunk, backwardWhole, chunkCount(full, width), k);
}

export function linearForward(
  x: usize, weight: usize, bias: usize, z: usize, batch: i32, inFeatures: i32, outFeatures: i32,
): void {
  forward(batch, outFeatures, inFeatures, x, weight, z, bias, NO_ACTIVATION, 0, z);
}

/** z = x·Wᵀ + b and a = σ(z) in one pass (activation: a layer kernel of abi.json, params its block). */
export function linearForwardActivated(
  x: usize, weight: usize, bias: usize, z: usize, a: usize, batch: i32, inFeatures: i32, outFeatures: i32,
  activation: i32, params: usize,
): void {
  forward(batch, outFeatures, inFeatures, x, weight, z, bias, activation, params, a);
}

/** dX = dZ·W (overwrites dX). */
export function linearBackwardInput(
  gradZ: usize, weight: usize, gradX: usize, batch: i32, inFeatures: i32, outFeatures: i32,
): void {
  backward(batch, inFeatures, outFeatures, gradZ, outFeatures, 1, weight, inFeatures, gradX, inFeatures, false);
}

/** dW += dZᵀ·X and dBias += Σ_batch dZ (bias skipped when its pointer is 0); without `accumulate` dW is
 *  overwritten (its old value is known to be 0) and the bias gradient still added to. */
export function linearBackwardParams(
  gradZ: usize, x: usize, gradWeight: usize, gradBias: usize, batch: i32, inFeatures: i32, outFeatures: i32,
  accumulate: bool,
): void {
  backward(outFeatures, inFeatures, batch, gradZ, 1, outFeatures, x, inFeatures, gradWeight, inFeatures, accumulate);
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

