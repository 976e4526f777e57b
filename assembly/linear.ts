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
import { poolThreads, runParallel } from "./pool";

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

// The product a chunk body computes: plain stores before runParallel publishes the task.
const TASK = memory.data(128, 64);
const M: usize = TASK, N: usize = TASK + 4, K: usize = TASK + 8, WIDTH: usize = TASK + 12;
const A: usize = TASK + 16, RS_A: usize = TASK + 20, CS_A: usize = TASK + 24, B: usize = TASK + 28, LDB: usize = TASK + 32;
const C: usize = TASK + 36, LDC: usize = TASK + 40, BIAS: usize = TASK + 44, ACTIVATION: usize = TASK + 48;
const PARAMS: usize = TASK + 52, D: usize = TASK + 56, ACCUMULATE: usize = TASK + 60;

/** The width of each chunk of `columns` output columns (a multiple of 8), or 0 to stay on one thread. */
function chunkColumns(m: i32, columns: i32, k: i32): i32 {
  const threads = poolThreads();
  if (threads == 1 || flops(m, columns, k) < minParallelFlops) return 0;
  const width = max(minChunkColumns, ((columns / (threads * chunksPerThread)) + 7) & ~7);
  return (columns + width - 1) / width >= 2 ? width : 0;
}

@inline function chunkCount(columns: i32, width: i32): i32 {
  return (columns + width - 1) / width;
}

/** Chunk `chunk` of the forward: columns [chunk·width, +width) of C = A·Bᵀ + bias and D = σ(C) (element-wise
 *  activations only: a row-wise one runs after every chunk is done). */
function forwardChunk(chunk: i32, panels: usize, tiles: usize): void {
  const n = load<i32>(N), width = load<i32>(WIDTH);
  const j0 = chunk * width;
  gemmNTColumns(
    load<i32>(M), n, load<i32>(K), load<usize>(A), load<i32>(RS_A), load<usize>(B), load<i32>(LDB), load<usize>(C),
    load<i32>(LDC), load<usize>(BIAS), load<i32>(ACTIVATION), load<usize>(PARAMS), load<usize>(D), j0, min(n, j0 + width),
    panels, tiles,
  );
}

/** Chunk `chunk` of C (+)= A·B: full 8-column panels [chunk·width, +width), the last chunk also the
 *  columns past the last full panel. */
function backwardChunk(chunk: i32, panels: usize, tiles: usize): void {
  const m = load<i32>(M), n = load<i32>(N), k = load<i32>(K), width = load<i32>(WIDTH);
  const a = load<usize>(A), rsA = load<i32>(RS_A), csA = load<i32>(CS_A), b = load<usize>(B), ldb = load<i32>(LDB);
  const c = load<usize>(C), ldc = load<i32>(LDC), accumulate = load<i32>(ACCUMULATE) != 0;
  const full = n & ~7, j0 = chunk * width, j1 = min(full, j0 + width);
  gemmNNColumns(m, k, a, rsA, csA, b, ldb, c, ldc, accumulate, j0, j1, panels, tiles);
  if (j1 == full) gemmNNEdgeColumns(m, n, k, a, rsA, csA, b, ldb, c, ldc, accumulate, full);
}

/** The whole forward of the task, on the caller (runParallel's alternative to the chunks). */
function forwardWhole(): void {
  gemmNTActivated(
    load<i32>(M), load<i32>(N), load<i32>(K), load<usize>(A), load<i32>(RS_A), load<usize>(B), load<i32>(LDB),
    load<usize>(C), load<i32>(LDC), load<usize>(BIAS), load<i32>(ACTIVATION), load<usize>(PARAMS), load<usize>(D),
  );
}

/** The whole backward product of the task, on the caller. */
function backwardWhole(): void {
  gemmNN(
    load<i32>(M), load<i32>(N), load<i32>(K), load<usize>(A), load<i32>(RS_A), load<i32>(CS_A), load<usize>(B),
    load<i32>(LDB), load<usize>(C), load<i32>(LDC), load<i32>(ACCUMULATE) != 0,
  );
}

@inline function flops(m: i32, n: i32, k: i32): f64 {
  return 2.0 * <f64>m * <f64>n * <f64>k;
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
  store<i32>(M, m); store<i32>(N, n); store<i32>(K, k); store<i32>(WIDTH, width);
  store<usize>(A, a); store<i32>(RS_A, k); store<usize>(B, b); store<i32>(LDB, k);
  store<usize>(C, c); store<i32>(LDC, n); store<usize>(BIAS, bias);
  store<i32>(ACTIVATION, rowwise ? NO_ACTIVATION : activation); store<usize>(PARAMS, params); store<usize>(D, d);
  runParallel(forwardChunk, forwardWhole, chunkCount(n, width), flops(m, n, k));
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
  store<i32>(M, m); store<i32>(N, n); store<i32>(K, k); store<i32>(WIDTH, width);
  store<usize>(A, a); store<i32>(RS_A, rsA); store<i32>(CS_A, csA); store<usize>(B, b); store<i32>(LDB, ldb);
  store<usize>(C, c); store<i32>(LDC, ldc); store<i32>(ACCUMULATE, accumulate ? 1 : 0);
  runParallel(backwardChunk, backwardWhole, chunkCount(full, width), flops(m, n, k));
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

