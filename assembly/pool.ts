// The thread pool of the threads build (asc --enable threads, one shared memory). The same module runs on
// the calling thread (thread 0) and in N − 1 workers (src/threads.ts starts them). Workers park in
// workerLoop; the caller writes a task (openTask, then the body's fields), publishes it and computes too:
// every thread claims chunks (ranges of output columns) with a compare-exchange until none are left. A chunk
// is computed by the single-thread kernels with that thread's own packing scratch, so every float is the same
// instruction sequence whichever thread computes it: results are bit-identical for any thread count.
//
// A worker the OS deschedules while it holds a chunk must not keep the caller waiting for its time slice
// (another process busy on a core): a worker computes its chunk into its own private buffer and copies it
// out only if it is first to commit the chunk (a compare-exchange on the chunk's state); a caller that has
// waited a chunk's time for a claimed chunk computes it in place itself after committing it first, and the
// late worker's result is dropped. A worker that holds a chunk for failAfterMs has died: the pool is marked
// failed (the call reports WORKER_FAILED) and the caller goes on alone.
//
// Rules the spike found (bench/spike-threads/RESULTS.md): a worker never allocates (the allocator's root is
// a per-instance global; a second instance would build a heap over the first's); instances are created
// before the first task (instantiation re-applies data segments); the browser's main thread may spin but not
// wait. Without the threads feature (the plain and relaxed builds) runParallel runs `whole` on the caller.

import { GEMM_SCRATCH_PANELS_BYTES, GEMM_SCRATCH_TILES_BYTES } from "./gemm";
import { MAX_THREADS } from "./generated/abi";

/** Computes chunk `chunk` of the task at `task` with the given packing scratch; out = 0: into the task's C
 *  (and D) in place; else into out (and outD), rows ldOut floats apart, column j0 of the chunk first. */
export type ChunkBody = (task: usize, chunk: i32, panels: usize, tiles: usize, out: usize, outD: usize, ldOut: i32) => void;

// ---- the task: a header the pool reads (where the chunks' outputs go), then the body's own fields ----
export const TASK_BYTES: usize = 128;
export const TASK_M: usize = 0; // rows of C
const TASK_COLUMNS: usize = 4; // columns of C the task writes (the last chunk ends there)
export const TASK_WIDTH: usize = 8; // columns per chunk (a multiple of 8)
export const TASK_C: usize = 12;
export const TASK_LDC: usize = 16;
export const TASK_D: usize = 20; // a second output with C's layout (the activation's), or 0
export const TASK_ACCUMULATE: usize = 24; // the chunk adds to C: a private copy starts from C
const TASK_PRIVATE: usize = 28; // 1 when a chunk fits a private buffer (else workers write in place)
const TASK_FN: usize = 32; // the ChunkBody (runParallel's): copied with the task, so a late worker's body matches its task
export const TASK_BODY: usize = 36; // the body's fields from here
const TASK = memory.data(<i32>TASK_BYTES, 64);

/** The most chunks a task has (the most threads, MAX_THREADS, is in abi.json: init() checks it too). */
export const MAX_CHUNKS: i32 = 4096;
/** Floats of one private output buffer (a worker has two: C's and D's). */
export const PRIVATE_FLOATS: i32 = 1 << 18;
const PRIVATE_BYTES: usize = <usize>PRIVATE_FLOATS << 2;

// Each counter on its own cache line.
const CONTROL = memory.data(512, 64);
const GEN: usize = CONTROL; // generation (16 bits), bumped per task; workers wait on it
const CLAIM: usize = CONTROL + 64; // (generation << 16) | next chunk: a late worker cannot claim a newer task's chunk
const DONE: usize = CONTROL + 128; // chunks finished in this generation
const FAILED: usize = CONTROL + 192; // 1 once a worker died holding a chunk, 2 once reported
const SEQ: usize = CONTROL + 256; // the task's sequence number, even; odd while the caller rewrites TASK
const CHUNKS: usize = CONTROL + 324;
const QUIT: usize = CONTROL + 328;
const SCRATCH: usize = CONTROL + 332; // per-thread scratch: thread t's at SCRATCH + t · THREAD_BYTES
const DIE_ON_CHUNK: usize = CONTROL + 384; // tests: a worker that claims a chunk then dies
const PARK: usize = CONTROL + 416; // 1 (the pool is backing off): parked workers sleep at once instead of spinning
const STATS: usize = CONTROL + 448; // counters (poolStats): tasks alone, on the pool, chunks helped, chunks dropped
/** Each chunk's state: (sequence << 1) | OPEN, COMMITTING or DONE. Tagged with the task, so a descheduled
 *  worker of an old task can never commit into a newer one. */
const STATES = memory.data(MAX_CHUNKS << 2, 64);
const OPEN: u32 = 0,
  COMMITTING: u32 = 1,
  FINISHED: u32 = 2;
/** now() in µs when worker t claimed the chunk it holds, 0 when it holds none. */
const HELD = memory.data(MAX_THREADS << 3, 64);

/** A thread's scratch: packing panels and tiles, two private outputs, a copy of the task. */
const SCRATCH_BYTES: usize = (GEMM_SCRATCH_PANELS_BYTES + GEMM_SCRATCH_TILES_BYTES + 63) & ~63;
const THREAD_BYTES: usize = SCRATCH_BYTES + 2 * PRIVATE_BYTES + TASK_BYTES;

/** This instance's thread (a wasm global: one per instance; 0 on the caller). */
let threadIndex: i32 = 0;
// The caller's settings and measurements (globals of the caller's instance; workers never read them).
let threads: i32 = 1;
let callerMayWait = true;
let failAfterMs: f64 = 5000;
let chunkMs: f64 = 0.5; // the caller's time per chunk (moving average): how long before it helps

// Whether the pool pays, measured per product (a network repeats the same few products every step). Its time
// alone is a moving average over controls (every CONTROL_EVERY-th task of that product, and every task while
// backing off); its time on the pool is judged in windows of SAMPLES_TO_JUDGE pooled tasks, as the window's
// mean without its slowest task. One slow task is a worker woken from its sleep (tens to hundreds of µs after
// an idle gap: between fit() or trainStep() calls, after a back-off) and comes once per gap, not per task. In
// a moving average it weighed a quarter and sent products of ~0.3 ms to one thread on a quiet machine (W2 on
// 2 threads, a new network and fit() of one epoch per call as the bench runs it: more than 100 of a call's
// 512 products ran alone in 8 of 18 calls, 3 of 18 when trimmed). A task slow because another process keeps a
// core busy comes again and again, and the trimmed mean keeps it.
// A product is its chunk body and its M × N × K: a layer's forward and its dW have the same flops, but keyed
// together their alone controls, every CONTROL_EVERY-th task of the slot, always fell on the same one of the
// two while the pool's average mixed both, and a quiet machine backed off (six quiet W2 runs on 2 threads ran
// 36 to 650 of their 1,152 products alone). When a product's pool time exceeds its time alone — another
// process keeps a core busy and workers lose their time slices — the caller works alone for a while
// (BACKOFF_MIN_MS, four times longer while it goes on, up to BACKOFF_MAX_MS), then tries the pool again —
// product by product: a product too small to pay on this machine does not send the others to one thread.
const SHAPES: i32 = 16;
const SHAPE_KEYS = memory.data(SHAPES << 4, 64); // (caller-only tables) body, M, N (TASK_COLUMNS), K per slot
const SHAPE_ALONE = memory.data(SHAPES << 3, 64);
const SHAPE_POOL_SUM = memory.data(SHAPES << 3, 64); // the window's pooled times: sum and slowest
const SHAPE_POOL_MAX = memory.data(SHAPES << 3, 64);
const SHAPE_TASKS = memory.data(SHAPES << 2, 64);
const SHAPE_POOLED = memory.data(SHAPES << 2, 64); // pooled tasks in the window
const SAMPLES_TO_JUDGE: i32 = 6;
const SHAPE_UNTIL = memory.data(SHAPES << 3, 64); // alone until then
const SHAPE_BACKOFF = memory.data(SHAPES << 3, 64); // the last back-off, ms
let nextShape: i32 = 0;
/** Tests turn the measuring off (poolSetAdaptive): every task then runs on the pool. */
let adaptive = true;
const CONTROL_EVERY: i32 = 32;
const BACKOFF_MIN_MS: f64 = 50;
const BACKOFF_MAX_MS: f64 = 2000;
/** Weight of a new task in the moving averages (the time alone, the caller's time per chunk). */
const RATE_WEIGHT: f64 = 0.25;

/** The embedder's clock (performance.now()): deadlines, help and the back-off. */
@external("env", "now")
declare function now(): f64;

/** Bytes of scratch for `count` threads (poolConfigure's `scratch`). */
export function poolScratchBytes(count: i32): usize {
  return <usize>count * THREAD_BYTES;
}

/** Sets up the pool on the caller: `count` threads (1: everything on the caller), their scratch at `scratch`
 *  (poolScratchBytes(count), 64-byte aligned), whether this thread may block in memory.atomic.wait32 (not a
 *  browser's main thread), and after how many ms a worker holding a chunk counts as dead. */
export function poolConfigure(count: i32, scratch: usize, mayWait: bool, failMs: f64): void {
  threads = min(count, MAX_THREADS);
  callerMayWait = mayWait;
  failAfterMs = failMs;
  store<usize>(SCRATCH, scratch);
}

/** Threads a task may be split for: 1 without the threads build or after a failure. */
export function poolThreads(): i32 {
  if (!ASC_FEATURE_THREADS || threads <= 1) return 1;
  if (atomic.load<i32>(FAILED)) return 1;
  return threads;
}

/** Whether a worker died holding a chunk since the last time this was asked: the call that sees it reports
 *  WORKER_FAILED, later calls run on one thread. */
export function poolTakeFailure(): bool {
  if (!ASC_FEATURE_THREADS) return false;
  return atomic.cmpxchg<i32>(FAILED, 1, 2) == 1;
}

@inline function scratchOf(thread: i32): usize {
  return load<usize>(SCRATCH) + <usize>thread * THREAD_BYTES;
}

/** Starts a task whose chunks write columns [0, columns) of C (M rows, ldc apart; also D, with C's layout,
 *  unless d = 0) in chunks of `width`: writes the pool's header and returns TASK, for the body's own fields
 *  from TASK_BODY on. While it is written, SEQ is odd: a late worker copying it gives up. */
export function openTask(m: i32, columns: i32, width: i32, c: usize, ldc: i32, d: usize, accumulate: bool): usize {
  if (ASC_FEATURE_THREADS) atomic.store<u32>(SEQ, atomic.load<u32>(SEQ) | 1);
  store<i32>(TASK + TASK_M, m);
  store<i32>(TASK + TASK_COLUMNS, columns);
  store<i32>(TASK + TASK_WIDTH, width);
  store<usize>(TASK + TASK_C, c);
  store<i32>(TASK + TASK_LDC, ldc);
  store<usize>(TASK + TASK_D, d);
  store<i32>(TASK + TASK_ACCUMULATE, accumulate ? 1 : 0);
  store<i32>(TASK + TASK_PRIVATE, m * (width + 8) <= PRIVATE_FLOATS ? 1 : 0);
  return TASK;
}

@inline function average(mean: f64, sample: f64): f64 {
  return mean == 0 ? sample : mean + (sample - mean) * RATE_WEIGHT;
}

/** The table slot of the product in TASK, of inner dimension k (a new or recycled one, zeroed, when it has
 *  none). */
function shapeSlot(k: i32): usize {
  const body = load<i32>(TASK + TASK_FN), m = load<i32>(TASK + TASK_M), n = load<i32>(TASK + TASK_COLUMNS);
  for (let i = 0; i < SHAPES; i++) {
    const key = SHAPE_KEYS + (<usize>i << 4);
    if (load<i32>(key) == body && load<i32>(key, 4) == m && load<i32>(key, 8) == n && load<i32>(key, 12) == k) return <usize>i;
  }
  const i = <usize>nextShape;
  nextShape = (nextShape + 1) % SHAPES;
  const key = SHAPE_KEYS + (i << 4);
  store<i32>(key, body);
  store<i32>(key, m, 4);
  store<i32>(key, n, 8);
  store<i32>(key, k, 12);
  store<f64>(SHAPE_ALONE + (i << 3), 0);
  store<i32>(SHAPE_TASKS + (i << 2), 0);
  startWindow(i);
  store<f64>(SHAPE_UNTIL + (i << 3), 0);
  store<f64>(SHAPE_BACKOFF + (i << 3), 0);
  return i;
}

/** Tests: how many products the pool keeps timings for (slots in use, at most SHAPES). */
export function poolJudgedProducts(): i32 {
  let used = 0;
  for (let i = 0; i < SHAPES; i++) if (load<i32>(SHAPE_KEYS + (<usize>i << 4), 4) != 0) used++; // M ≥ 1 in a used slot
  return used;
}

/** Runs the task in TASK (a product of inner dimension k) split in chunks 0..chunks−1 of `body` on the pool,
 *  or `whole` (the same product in one call: the same bits) on the caller when the pool does not pay. */
export function runParallel(body: ChunkBody, whole: (task: usize) => void, chunks: i32, k: i32): void {
  if (!ASC_FEATURE_THREADS || poolThreads() == 1) {
    whole(TASK);
    return;
  }
  store<usize>(TASK + TASK_FN, changetype<usize>(body));
  const seq = (atomic.load<u32>(SEQ) | 1) + 1; // even: the task is written
  atomic.store<u32>(SEQ, seq);
  const start = now();
  checkWorkers(start);
  const slot = shapeSlot(k);
  const tasks = load<i32>(SHAPE_TASKS + (slot << 2));
  store<i32>(SHAPE_TASKS + (slot << 2), tasks + 1);
  const alone = load<f64>(SHAPE_ALONE + (slot << 3));
  if (adaptive && (alone == 0 || tasks % CONTROL_EVERY == 0 || start < load<f64>(SHAPE_UNTIL + (slot << 3)))) {
    whole(TASK);
    store<f64>(SHAPE_ALONE + (slot << 3), average(alone, now() - start));
    atomic.add<i32>(STATS, 1);
    return;
  }
  atomic.store<i32>(PARK, 0);
  const open = (seq << 1) | OPEN;
  for (let c = 0; c < chunks; c++) store<u32>(STATES + (<usize>c << 2), open);
  const gen = <i32>(seq >>> 1) & 0xffff;
  store<i32>(CHUNKS, chunks);
  atomic.store<i32>(DONE, 0);
  atomic.store<i32>(CLAIM, gen << 16);
  atomic.store<i32>(GEN, gen);
  atomic.notify(GEN, threads);
  runChunks(gen, seq);
  waitAndHelp(chunks, seq);
  atomic.add<i32>(STATS + 4, 1);
  const time = now() - start;
  const sum = load<f64>(SHAPE_POOL_SUM + (slot << 3)) + time, slowest = max(load<f64>(SHAPE_POOL_MAX + (slot << 3)), time);
  const samples = load<i32>(SHAPE_POOLED + (slot << 2)) + 1;
  if (samples < SAMPLES_TO_JUDGE) {
    store<f64>(SHAPE_POOL_SUM + (slot << 3), sum);
    store<f64>(SHAPE_POOL_MAX + (slot << 3), slowest);
    store<i32>(SHAPE_POOLED + (slot << 2), samples);
    return;
  }
  startWindow(slot);
  judge(slot, (sum - slowest) / <f64>(samples - 1), alone);
}

/** Empties the slot's window of pooled times. */
function startWindow(slot: usize): void {
  store<f64>(SHAPE_POOL_SUM + (slot << 3), 0);
  store<f64>(SHAPE_POOL_MAX + (slot << 3), 0);
  store<i32>(SHAPE_POOLED + (slot << 2), 0);
}

/** Keeps the pool for this product while it beats one thread (`pooled`: the window's trimmed mean), else sends
 *  the product to one thread for a while. (Demanding a clear win — 0.7 to 0.85 of the time alone, tried with
 *  the moving average — gained nothing separable from the noise on a busy core, and at some settings sent
 *  quiet W2's products to one thread.) */
function judge(slot: usize, pooled: f64, alone: f64): void {
  const backoff = SHAPE_BACKOFF + (slot << 3);
  if (pooled <= alone) {
    store<f64>(backoff, 0);
    return;
  }
  const ms = load<f64>(backoff) == 0 ? BACKOFF_MIN_MS : min(BACKOFF_MAX_MS, load<f64>(backoff) * 4);
  store<f64>(backoff, ms);
  store<f64>(SHAPE_UNTIL + (slot << 3), now() + ms);
  atomic.store<i32>(PARK, 1); // the workers sleep at once: their spinning would take the caller's core
}

/** Moves chunk `c` of task `seq` from open to committing: true for the one thread that may write it. */
@inline function commit(c: i32, seq: u32): bool {
  const open = (seq << 1) | OPEN;
  return atomic.cmpxchg<u32>(STATES + (<usize>c << 2), open, (seq << 1) | COMMITTING) == open;
}

@inline function finish(c: i32, seq: u32, chunks: i32): void {
  atomic.store<u32>(STATES + (<usize>c << 2), (seq << 1) | FINISHED);
  if (atomic.add<i32>(DONE, 1) + 1 == chunks) atomic.notify(DONE, 1); // wake a waiting caller
}

/** The caller's claims: each chunk committed first, then computed in place. */
function runChunks(gen: i32, seq: u32): void {
  const chunks = load<i32>(CHUNKS);
  const body = changetype<ChunkBody>(load<usize>(TASK + TASK_FN));
  const scratch = scratchOf(0);
  let ran = 0;
  const started = now();
  while (true) {
    const claim = atomic.load<i32>(CLAIM);
    if ((claim & 0xffff) >= chunks) break;
    if (atomic.cmpxchg<i32>(CLAIM, claim, claim + 1) != claim) continue;
    const c = claim & 0xffff;
    if (!commit(c, seq)) continue;
    body(TASK, c, scratch, scratch + GEMM_SCRATCH_PANELS_BYTES, 0, 0, 0);
    finish(c, seq, chunks);
    ran++;
  }
  if (ran > 0) chunkMs = average(chunkMs, (now() - started) / <f64>ran);
}

/** Rows × columns [j0, j1) between C (ldc) and a private buffer (ld). */
function copyColumns(m: i32, from: usize, ldFrom: i32, to: usize, ldTo: i32, columns: i32): void {
  const bytes = <usize>columns << 2;
  for (let i = 0; i < m; i++) memory.copy(to + ((<usize>(i * ldTo)) << 2), from + ((<usize>(i * ldFrom)) << 2), bytes);
}

/** A worker's chunk of the task copied in `task`: into its private buffers, copied out if it commits first;
 *  in place after committing when the chunk does not fit the private buffers. */
function workerChunk(task: usize, c: i32, seq: u32, chunks: i32, scratch: usize): void {
  const body = changetype<ChunkBody>(load<usize>(task + TASK_FN));
  const panels = scratch,
    tiles = scratch + GEMM_SCRATCH_PANELS_BYTES;
  if (!load<i32>(task + TASK_PRIVATE)) {
    if (!commit(c, seq)) return;
    body(task, c, panels, tiles, 0, 0, 0);
    finish(c, seq, chunks);
    return;
  }
  const m = load<i32>(task + TASK_M),
    width = load<i32>(task + TASK_WIDTH),
    ldc = load<i32>(task + TASK_LDC);
  const j0 = c * width,
    j1 = c == chunks - 1 ? load<i32>(task + TASK_COLUMNS) : j0 + width;
  const ld = width + 8;
  const out = scratch + SCRATCH_BYTES,
    d = load<usize>(task + TASK_D);
  const outD = d ? out + PRIVATE_BYTES : out;
  const c0 = load<usize>(task + TASK_C) + (<usize>j0 << 2);
  if (load<i32>(task + TASK_ACCUMULATE)) copyColumns(m, c0, ldc, out, ld, j1 - j0);
  body(task, c, panels, tiles, out, outD, ld);
  if (!commit(c, seq)) { // the caller computed it meanwhile: ours is dropped
    atomic.add<i32>(STATS + 12, 1);
    return;
  }
  copyColumns(m, out, ld, c0, ldc, j1 - j0);
  if (d) copyColumns(m, outD, ld, d + (<usize>j0 << 2), ldc, j1 - j0);
  finish(c, seq, chunks);
}

/** A worker's claims for generation `gen`: copies the task (a seqlock: abandoned if the caller rewrote it,
 *  i.e. the task is over), then computes each claimed chunk. Returns −1 when a test made it die. */
function workerChunks(gen: i32): i32 {
  const scratch = scratchOf(threadIndex);
  const task = scratch + SCRATCH_BYTES + 2 * PRIVATE_BYTES;
  const held = HELD + (<usize>threadIndex << 3);
  let copied = false;
  let seq: u32 = 0;
  while (true) {
    const claim = atomic.load<i32>(CLAIM);
    const chunks = load<i32>(CHUNKS);
    if (claim >>> 16 != gen || (claim & 0xffff) >= chunks) return 0;
    if (atomic.cmpxchg<i32>(CLAIM, claim, claim + 1) != claim) continue;
    atomic.store<i64>(held, <i64>(now() * 1000) + 1); // µs (+1: never 0)
    if (atomic.load<i32>(DIE_ON_CHUNK)) {
      atomic.store<i32>(DIE_ON_CHUNK, 0);
      return -1; // tests: this worker dies holding a claimed chunk
    }
    if (!copied) {
      seq = atomic.load<u32>(SEQ);
      let current = (seq & 1) == 0 && (<i32>(seq >>> 1) & 0xffff) == gen;
      if (current) {
        memory.copy(task, TASK, TASK_BYTES);
        current = atomic.load<u32>(SEQ) == seq;
      }
      if (!current) {
        atomic.store<i64>(held, 0); // the task is over: its chunks were computed without us
        return 0;
      }
      copied = true;
    }
    workerChunk(task, claim & 0xffff, seq, chunks, scratch);
    atomic.store<i64>(held, 0);
  }
}

/** A worker that has held a chunk for failAfterMs has died: mark the pool failed. */
function checkWorkers(time: f64): void {
  for (let t = 1; t < threads; t++) {
    const since = atomic.load<i64>(HELD + (<usize>t << 3));
    if (since > 0 && time - <f64>since / 1000 > failAfterMs) {
      atomic.cmpxchg<i32>(FAILED, 0, 1);
      return;
    }
  }
}

/** The caller's wait for the other threads' chunks. A chunk still open (claimed, not committed) a chunk's
 *  time after the last progress: the caller commits and computes it itself (its worker is descheduled, or
 *  dead). Spins, then sleeps in 1 ms slices where it may. A chunk committing for failAfterMs (a worker died
 *  writing it in place): the pool is marked failed and the caller stops waiting. */
function waitAndHelp(chunks: i32, seq: u32): void {
  const body = changetype<ChunkBody>(load<usize>(TASK + TASK_FN));
  const scratch = scratchOf(0);
  let spins = 0;
  let last = atomic.load<i32>(DONE);
  let since = now();
  while (last < chunks) {
    if (spins < 2048 || !callerMayWait) spins++;
    else memory.atomic.wait32(DONE, last, 200_000);
    const done = atomic.load<i32>(DONE);
    if (done != last) {
      last = done;
      since = now();
      continue;
    }
    if ((spins & 255) != 0 && spins < 2048) continue;
    const time = now();
    if (time - since > chunkMs) {
      for (let c = 0; c < chunks; c++) {
        if (!commit(c, seq)) continue;
        body(TASK, c, scratch, scratch + GEMM_SCRATCH_PANELS_BYTES, 0, 0, 0);
        finish(c, seq, chunks);
        atomic.add<i32>(STATS + 8, 1);
      }
      since = now();
    }
    checkWorkers(time);
    if (time - since > failAfterMs || atomic.load<i32>(FAILED)) {
      atomic.cmpxchg<i32>(FAILED, 0, 1);
      return;
    }
    last = atomic.load<i32>(DONE);
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
      if (spins < spinLimit && !atomic.load<i32>(PARK)) spins++;
      else memory.atomic.wait32(GEN, seen, -1);
      gen = atomic.load<i32>(GEN);
    }
    seen = gen;
    if (atomic.load<i32>(QUIT)) return 0;
    if (workerChunks(gen) < 0) return -1;
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

/** Marks the pool failed (the embedder saw a worker end): the next step reports WORKER_FAILED. */
export function poolMarkFailed(): void {
  if (ASC_FEATURE_THREADS) atomic.cmpxchg<i32>(FAILED, 0, 1);
}

/** Counters since the start: 0 tasks alone, 1 tasks on the pool, 2 chunks the caller took over, 3 chunks a
 *  worker computed too late (bench/threads-gemm.mjs prints them). */
export function poolStats(which: i32): i32 {
  if (!ASC_FEATURE_THREADS) return 0;
  return atomic.load<i32>(STATS + (<usize>which << 2));
}

/** Tests: false runs every task that is split on the pool (no measuring, no back-off). */
export function poolSetAdaptive(on: bool): void {
  adaptive = on;
}

/** Tests: the next worker to claim a chunk dies holding it. */
export function poolDieOnNextChunk(): void {
  if (!ASC_FEATURE_THREADS) return;
  atomic.store<i32>(DIE_ON_CHUNK, 1);
}
