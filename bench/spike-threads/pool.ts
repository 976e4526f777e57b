// SPIKE (not shipped): a thread pool in AssemblyScript over one shared memory. The same module is
// instantiated on the calling thread and in N − 1 workers; workers park in workerLoop (spin, then
// memory.atomic.wait32 on a generation counter); the caller describes a GEMM in shared memory, bumps the
// generation, notifies, and computes too: every thread claims chunks (a range of output columns) with an
// atomic compare-exchange until none are left; the caller then spins until the done counter is complete.
// The kernels are the library's own (assembly/gemm.ts), each thread with its own packing scratch, so every
// output float is computed by the same instruction sequence whichever thread computes it.
import {
  gemmNNColumns,
  gemmNNPacks,
  gemmNNEdgeColumns,
  gemmNTColumns,
  GEMM_SCRATCH_PANELS_BYTES,
  GEMM_SCRATCH_TILES_BYTES,
} from '../../assembly/gemm';
export { gemmNN, gemmNTActivated } from '../../assembly/gemm';
export { alloc, free } from '../../assembly/memory';

// ---- per-thread scratch: thread t uses SCRATCH + t·SCRATCH_STRIDE ----
const MAX_THREADS: i32 = 4;
const SCRATCH_STRIDE: usize = (GEMM_SCRATCH_PANELS_BYTES + GEMM_SCRATCH_TILES_BYTES + 63) & ~63;
const SCRATCH = memory.data(<i32>SCRATCH_STRIDE * MAX_THREADS, 64);

/** This instance's thread: a wasm global, so one per instance (0 = the caller). */
let threadIndex: i32 = 0;

// ---- the control block: each counter on its own cache line ----
const CONTROL = memory.data(1024, 64);
const GEN: usize = CONTROL; // generation, bumped per task; workers wait on it
const CLAIM: usize = CONTROL + 64; // (generation << 16) | next chunk
const DONE: usize = CONTROL + 128; // chunks finished in this generation
const PARAMS: usize = CONTROL + 192; // the task, plain stores published by the atomic stores of CLAIM and GEN
const CHUNKS_BY_THREAD: usize = CONTROL + 512; // i32 per thread, for balance statistics
const SCRATCH_OVERRIDE: usize = CONTROL + 640; // 0, or t + 1: every thread uses thread t's scratch (question (e))
const CALLER_SPINS: usize = CONTROL + 644; // 0: the caller spins until done; n: spins n times, then waits

const KIND: usize = PARAMS,
  M: usize = PARAMS + 4,
  N: usize = PARAMS + 8,
  K: usize = PARAMS + 12;
const A: usize = PARAMS + 16,
  RSA: usize = PARAMS + 20,
  CSA: usize = PARAMS + 24,
  B: usize = PARAMS + 28;
const LDB: usize = PARAMS + 32,
  C: usize = PARAMS + 36,
  LDC: usize = PARAMS + 40,
  ACCUMULATE: usize = PARAMS + 44;
const BIAS: usize = PARAMS + 48,
  ACTIVATION: usize = PARAMS + 52,
  PARAM: usize = PARAMS + 56,
  D: usize = PARAMS + 60;
const CHUNK_COLS: usize = PARAMS + 64,
  CHUNKS: usize = PARAMS + 68;

const KIND_QUIT: i32 = 0,
  KIND_NN: i32 = 1,
  KIND_NT: i32 = 2;

function runChunk(index: i32): void {
  const kind = load<i32>(KIND);
  const m = load<i32>(M),
    n = load<i32>(N),
    k = load<i32>(K),
    width = load<i32>(CHUNK_COLS);
  const j0 = index * width;
  if (kind == KIND_NN) {
    const full = n & ~7;
    const j1 = min(full, j0 + width);
    const forced = load<i32>(SCRATCH_OVERRIDE);
    const scratch = SCRATCH + <usize>(forced ? forced - 1 : threadIndex) * SCRATCH_STRIDE;
    const a = load<usize>(A),
      rsA = load<i32>(RSA),
      csA = load<i32>(CSA),
      b = load<usize>(B),
      ldb = load<i32>(LDB);
    const c = load<usize>(C),
      ldc = load<i32>(LDC),
      accumulate = load<i32>(ACCUMULATE) != 0;
    gemmNNColumns(m, k, a, rsA, csA, b, ldb, c, ldc, accumulate, j0, j1, scratch, scratch + GEMM_SCRATCH_PANELS_BYTES);
    if (j1 == full) gemmNNEdgeColumns(m, n, k, a, rsA, csA, b, ldb, c, ldc, accumulate, full);
  } else {
    const j1 = min(n, j0 + width);
    const forced = load<i32>(SCRATCH_OVERRIDE);
    const scratch = SCRATCH + <usize>(forced ? forced - 1 : threadIndex) * SCRATCH_STRIDE;
    gemmNTColumns(
      m,
      n,
      k,
      load<usize>(A),
      load<i32>(RSA),
      load<usize>(B),
      load<i32>(LDB),
      load<usize>(C),
      load<i32>(LDC),
      load<usize>(BIAS),
      load<i32>(ACTIVATION),
      load<usize>(PARAM),
      load<usize>(D),
      j0,
      j1,
      scratch,
      scratch + GEMM_SCRATCH_PANELS_BYTES,
    );
  }
  store<i32>(CHUNKS_BY_THREAD + ((<usize>threadIndex) << 2), load<i32>(CHUNKS_BY_THREAD + ((<usize>threadIndex) << 2)) + 1);
}

/** Claims and runs chunks of generation `gen` until none are left (or a newer task has replaced it). */
function runChunks(gen: i32): void {
  while (true) {
    const claim = atomic.load<i32>(CLAIM);
    if (claim >>> 16 != gen) return;
    if ((claim & 0xffff) >= load<i32>(CHUNKS)) return;
    if (atomic.cmpxchg<i32>(CLAIM, claim, claim + 1) != claim) continue;
    runChunk(claim & 0xffff);
    if (atomic.add<i32>(DONE, 1) + 1 == load<i32>(CHUNKS)) atomic.notify(DONE, 1); // wake a waiting caller
  }
}

/** Publishes the task written in PARAMS, computes with the pool, returns when every chunk is done. */
function runTask(chunks: i32): void {
  const gen = (atomic.load<i32>(GEN) + 1) & 0xffff;
  store<i32>(CHUNKS, chunks);
  atomic.store<i32>(DONE, 0);
  atomic.store<i32>(CLAIM, gen << 16);
  atomic.store<i32>(GEN, gen);
  atomic.notify(GEN, MAX_THREADS);
  runChunks(gen);
  // The browser's main thread may not wait: it can only spin. Elsewhere the caller may spin a while and then
  // sleep until the last chunk's thread notifies (or 1 ms passes), leaving the core to a preempted worker.
  const budget = load<i32>(CALLER_SPINS);
  let spins = 0;
  while (true) {
    const done = atomic.load<i32>(DONE);
    if (done >= chunks) break;
    if (budget == 0 || spins < budget) spins++;
    else memory.atomic.wait32(DONE, done, 1_000_000);
  }
}

/** 0: the caller spins until every chunk is done; n > 0: spins n times, then sleeps (not on a browser's main thread). */
export function setCallerSpins(n: i32): void {
  store<i32>(CALLER_SPINS, n);
}

/** A worker's life: park until the generation moves, run chunks, repeat; return on a quit task. spinLimit:
 *  how many times to re-read the generation before sleeping in memory.atomic.wait32. */
export function workerLoop(index: i32, spinLimit: i32): void {
  threadIndex = index;
  let seen = atomic.load<i32>(GEN);
  while (true) {
    let gen = atomic.load<i32>(GEN);
    let spins = 0;
    while (gen == seen) {
      if (spins < spinLimit) spins++;
      else memory.atomic.wait32(GEN, seen, -1);
      gen = atomic.load<i32>(GEN);
    }
    seen = gen;
    if (load<i32>(KIND) == KIND_QUIT) return;
    runChunks(gen);
  }
}

export function poolQuit(): void {
  store<i32>(KIND, KIND_QUIT);
  const gen = (atomic.load<i32>(GEN) + 1) & 0xffff;
  atomic.store<i32>(CLAIM, gen << 16);
  atomic.store<i32>(GEN, gen);
  atomic.notify(GEN, MAX_THREADS);
}

/** C[M, N] (+)= A·B as gemmNN, split into chunks of `chunkCols` columns (a multiple of 8). */
export function poolGemmNN(
  m: i32,
  n: i32,
  k: i32,
  a: usize,
  rsA: i32,
  csA: i32,
  b: usize,
  ldb: i32,
  c: usize,
  ldc: i32,
  accumulate: bool,
  chunkCols: i32,
): void {
  if (!gemmNNPacks(m, k) || n < 8) unreachable(); // the spike covers the packed path only
  store<i32>(KIND, KIND_NN);
  store<i32>(M, m);
  store<i32>(N, n);
  store<i32>(K, k);
  store<usize>(A, a);
  store<i32>(RSA, rsA);
  store<i32>(CSA, csA);
  store<usize>(B, b);
  store<i32>(LDB, ldb);
  store<usize>(C, c);
  store<i32>(LDC, ldc);
  store<i32>(ACCUMULATE, accumulate ? 1 : 0);
  store<i32>(CHUNK_COLS, chunkCols);
  runTask(((n & ~7) + chunkCols - 1) / chunkCols);
}

/** C = A·Bᵀ + bias, D = σ(C) element-wise (not softmax), as gemmNTActivated, in chunks of `chunkCols` (a
 *  multiple of 8: the packed forward's panels). */
export function poolGemmNT(
  m: i32,
  n: i32,
  k: i32,
  a: usize,
  lda: i32,
  b: usize,
  ldb: i32,
  c: usize,
  ldc: i32,
  bias: usize,
  activation: i32,
  params: usize,
  d: usize,
  chunkCols: i32,
): void {
  if (k < 4 || chunkCols & 7) unreachable(); // element-wise activations only (not softmax: whole rows)
  store<i32>(KIND, KIND_NT);
  store<i32>(M, m);
  store<i32>(N, n);
  store<i32>(K, k);
  store<usize>(A, a);
  store<i32>(RSA, lda);
  store<usize>(B, b);
  store<i32>(LDB, ldb);
  store<usize>(C, c);
  store<i32>(LDC, ldc);
  store<usize>(BIAS, bias);
  store<i32>(ACTIVATION, activation);
  store<usize>(PARAM, params);
  store<usize>(D, d);
  store<i32>(CHUNK_COLS, chunkCols);
  runTask((n + chunkCols - 1) / chunkCols);
}

/** Chunks run by thread t since the last reset (balance statistics). */
export function chunksBy(t: i32): i32 {
  return load<i32>(CHUNKS_BY_THREAD + ((<usize>t) << 2));
}
export function resetChunkStats(): void {
  memory.fill(CHUNKS_BY_THREAD, 0, (<usize>MAX_THREADS) << 2);
}
export function getThreadIndex(): i32 {
  return threadIndex;
}
/** Experiment (e): t ≥ 0 makes every thread pack into thread t's scratch; −1 restores per-thread scratch. */
export function shareScratch(t: i32): void {
  store<i32>(SCRATCH_OVERRIDE, t + 1);
}
export function scratchBase(): usize {
  return SCRATCH;
}
export function controlBase(): usize {
  return CONTROL;
}

/** Experiment (g): a wait that would time out at once (0 = ok, 1 = not-equal, 2 = timed-out), or a trap where
 *  this thread may not wait. */
export function tryWait(): i32 {
  return <i32>memory.atomic.wait32(CONTROL + 648, 0, 0);
}
