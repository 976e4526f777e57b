// The thread pool of the threads build (asc --enable threads, one shared memory). The same module runs on
// the calling thread (thread 0) and in N − 1 workers (src/threads.ts starts them). Workers park in
// workerLoop; the caller describes a task (a body function and its chunk count, the body's parameters in its
// own static block), bumps the generation and computes too: every thread claims chunks with a
// compare-exchange until none are left. A chunk is a range of output columns computed by the single-thread
// kernels with that thread's own packing scratch, so every float is the same instruction sequence whichever
// thread computes it, and results are bit-identical for any thread count.
//
// Rules the spike found (bench/spike-threads/RESULTS.md): a worker never allocates (the allocator's root is
// a per-instance global; a second instance would build a heap over the first's); instances are created
// before the first task (instantiation re-applies data segments); the browser's main thread may spin but not
// wait. Without the threads feature (the plain and relaxed builds) runParallel runs every chunk on the caller.

import { GEMM_SCRATCH_PANELS_BYTES, GEMM_SCRATCH_TILES_BYTES } from "./gemm";

/** A task's body: computes chunk `chunk` with the given packing scratch (GEMM_SCRATCH_*_BYTES each). */
export type ChunkBody = (chunk: i32, panels: usize, tiles: usize) => void;

// Each counter on its own cache line.
const CONTROL = memory.data(512, 64);
const GEN: usize = CONTROL; // generation, bumped per task; workers wait on it
const CLAIM: usize = CONTROL + 64; // (generation << 16) | next chunk: a late worker cannot claim a newer task's chunk
const DONE: usize = CONTROL + 128; // chunks finished in this generation
const FAILED: usize = CONTROL + 192; // 1 once the caller gave up waiting for a chunk (a worker died), 2 once reported
const BODY: usize = CONTROL + 256; // the task: published by the atomic stores of CLAIM and GEN
const CHUNKS: usize = CONTROL + 260;
const QUIT: usize = CONTROL + 264;
const SCRATCH: usize = CONTROL + 268; // per-thread scratch: thread t at SCRATCH + t · SCRATCH_STRIDE
const DIE_ON_CHUNK: usize = CONTROL + 320; // tests: a worker that claims a chunk then dies

/** One thread's packing scratch: a panels block, then a tiles block (gemmNNColumns, gemmNTColumns). */
const SCRATCH_BYTES: usize = (GEMM_SCRATCH_PANELS_BYTES + GEMM_SCRATCH_TILES_BYTES + 63) & ~63;

/** This instance's thread (a wasm global: one per instance; 0 on the caller). */
let threadIndex: i32 = 0;
// The caller's settings (globals of the caller's instance; workers never read them).
let threads: i32 = 1;
let callerMayWait = true;
let failAfterMs: f64 = 5000;

// Whether the pool pays, measured: the flop rates (flops per ms, moving averages) of tasks run on the pool
// and of tasks run by the caller alone (every CONTROL_EVERY-th task, and every task while backing off). When
// the pool's rate falls below one thread's — another process keeps a core busy, and a worker descheduled
// while it holds a chunk keeps the caller waiting for a time slice — the caller works alone for a while
// (BACKOFF_MIN_MS, doubling while it goes on, up to BACKOFF_MAX_MS), then tries the pool again.
let serialRate: f64 = 0;
let parallelRate: f64 = 0;
let parallelSamples: i32 = 0;
let tasksSinceControl: i32 = 1 << 30; // the first eligible task is a control
let singleUntil: f64 = 0;
let backoffMs: f64 = 0;
const CONTROL_EVERY: i32 = 64;
const SAMPLES_TO_JUDGE: i32 = 8;
const BACKOFF_MIN_MS: f64 = 8;
const BACKOFF_MAX_MS: f64 = 1000;
/** Weight of a new task in the moving averages. */
const RATE_WEIGHT: f64 = 0.125;

/** The embedder's clock (performance.now()): deadlines and the busy-core back-off. */
@external("env", "now")
declare function now(): f64;

/** Bytes of packing scratch for `count` threads (poolConfigure's `scratch`). */
export function poolScratchBytes(count: i32): usize {
  return <usize>count * SCRATCH_BYTES;
}

/** Sets up the pool on the caller: `count` threads (1: everything on the caller), their packing scratch at
 *  `scratch` (poolScratchBytes(count), 64-byte aligned), whether this thread may block in
 *  memory.atomic.wait32 (not a browser's main thread), and after how many ms without progress a chunk's
 *  thread counts as dead. */
export function poolConfigure(count: i32, scratch: usize, mayWait: bool, failMs: f64): void {
  threads = count;
  callerMayWait = mayWait;
  failAfterMs = failMs;
  store<usize>(SCRATCH, scratch);
}

/** Threads that a task may be split for: 1 without the threads build or after a failure (runParallel may
 *  still run a split task on the caller alone, when the pool does not pay). */
export function poolThreads(): i32 {
  if (!ASC_FEATURE_THREADS || threads <= 1) return 1;
  if (atomic.load<i32>(FAILED)) return 1;
  return threads;
}

/** Whether a worker stopped taking part (the caller gave up waiting for one of its chunks) since the last
 *  time this was asked: the call that saw it reports WORKER_FAILED, later calls run on one thread. */
export function poolTakeFailure(): bool {
  if (!ASC_FEATURE_THREADS) return false;
  return atomic.cmpxchg<i32>(FAILED, 1, 2) == 1;
}

@inline function scratchOf(thread: i32): usize {
  return load<usize>(SCRATCH) + <usize>thread * SCRATCH_BYTES;
}

@inline function average(rate: f64, sample: f64): f64 {
  return rate == 0 ? sample : rate + (sample - rate) * RATE_WEIGHT;
}

/** Runs a task of `flops` split in chunks 0..chunks−1 of `body` on the pool, or `whole` (the same product
 *  in one call: the same bits) on the caller when the pool does not pay. */
export function runParallel(body: ChunkBody, whole: () => void, chunks: i32, flops: f64): void {
  if (!ASC_FEATURE_THREADS || poolThreads() == 1) {
    whole();
    return;
  }
  const start = now();
  if (++tasksSinceControl > CONTROL_EVERY || start < singleUntil) {
    if (tasksSinceControl > CONTROL_EVERY) tasksSinceControl = 0;
    whole();
    serialRate = average(serialRate, flops / max(1e-3, now() - start));
    return;
  }
  const gen = (atomic.load<i32>(GEN) + 1) & 0xffff;
  store<usize>(BODY, changetype<usize>(body));
  store<i32>(CHUNKS, chunks);
  atomic.store<i32>(DONE, 0);
  atomic.store<i32>(CLAIM, gen << 16);
  atomic.store<i32>(GEN, gen);
  atomic.notify(GEN, threads);
  runChunks(gen);
  waitForChunks(chunks);
  parallelRate = average(parallelRate, flops / max(1e-3, now() - start));
  if (++parallelSamples >= SAMPLES_TO_JUDGE) judge();
}

/** After enough pool tasks: keep the pool if it beats one thread, else back off. */
function judge(): void {
  if (parallelRate >= serialRate) {
    backoffMs = 0;
    return;
  }
  backoffMs = backoffMs == 0 ? BACKOFF_MIN_MS : min(BACKOFF_MAX_MS, backoffMs * 2);
  singleUntil = now() + backoffMs;
  parallelRate = 0; // judged afresh after the back-off
  parallelSamples = 0;
}

/** Claims and runs chunks of generation `gen` until none are left (or a newer task replaced it); returns
 *  how many this thread ran. */
function runChunks(gen: i32): i32 {
  let ran = 0;
  const chunks = load<i32>(CHUNKS);
  const body = changetype<ChunkBody>(load<usize>(BODY));
  const scratch = scratchOf(threadIndex);
  const tiles = scratch + GEMM_SCRATCH_PANELS_BYTES;
  while (true) {
    const claim = atomic.load<i32>(CLAIM);
    if (claim >>> 16 != gen || (claim & 0xffff) >= chunks) return ran;
    if (atomic.cmpxchg<i32>(CLAIM, claim, claim + 1) != claim) continue;
    if (threadIndex > 0 && atomic.load<i32>(DIE_ON_CHUNK)) {
      atomic.store<i32>(DIE_ON_CHUNK, 0);
      return -1; // tests: this worker dies holding a claimed chunk
    }
    body(claim & 0xffff, scratch, tiles);
    ran++;
    if (atomic.add<i32>(DONE, 1) + 1 == chunks) atomic.notify(DONE, 1); // wake a waiting caller
  }
}

/** The caller's wait for the other threads' chunks: spins a while, then sleeps in 1 ms slices where it may
 *  (its core then goes to a worker the OS had descheduled). No progress for failAfterMs: a worker died; the
 *  pool is marked failed (the step that called this reports WORKER_FAILED and updates nothing). */
function waitForChunks(chunks: i32): void {
  let spins = 0;
  let last = atomic.load<i32>(DONE);
  let since = now();
  while (last < chunks) {
    if (spins < 4096 || !callerMayWait) spins++;
    else memory.atomic.wait32(DONE, last, 1_000_000);
    const done = atomic.load<i32>(DONE);
    if (done != last) {
      last = done;
      since = now();
    } else if ((spins & 1023) == 0 || spins >= 4096) {
      if (now() - since > failAfterMs) {
        atomic.store<i32>(FAILED, 1);
        return;
      }
    }
  }
}

/** A worker's life: park until the generation moves (spin `spinLimit` reads, then memory.atomic.wait32),
 *  run chunks, repeat. Returns 0 when told to quit, −1 when a test made it die. */
export function workerLoop(index: i32, spinLimit: i32): i32 {
  if (!ASC_FEATURE_THREADS) return 0;
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
    if (atomic.load<i32>(QUIT)) return 0;
    if (runChunks(gen) < 0) return -1;
  }
}

/** Tells every worker to return from workerLoop. */
export function poolQuit(): void {
  if (!ASC_FEATURE_THREADS) return;
  atomic.store<i32>(QUIT, 1);
  const gen = (atomic.load<i32>(GEN) + 1) & 0xffff;
  atomic.store<i32>(CLAIM, gen << 16);
  atomic.store<i32>(GEN, gen);
  atomic.notify(GEN, -1);
}

/** Tests: the next worker to claim a chunk dies holding it; failAfterMs is set by poolConfigure. */
export function poolDieOnNextChunk(): void {
  if (!ASC_FEATURE_THREADS) return;
  atomic.store<i32>(DIE_ON_CHUNK, 1);
}
