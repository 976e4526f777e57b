// Loads the WASM core and owns its linear memory: blocks with one owner each, sizes checked before they are
// formed in 32 bits, views that survive growth, and a staging area for what one call copies in.
import { coreWasmBase64 } from './generated/core-wasm.js';
import { type CoreExports, type Ptr, bindCore } from './generated/core-exports.js';
import { BackpropError, describeValue } from './errors.js';
import {
  type ThreadsOption,
  recordSingleThread,
  resolveThreads,
  startThreads,
  threadsInfo,
  threadsUnavailable,
} from './threads.js';

export type { CoreExports, Ptr };

let core: CoreExports | null = null;
let compiled: WebAssembly.Module | null = null;
let loadedSimd: SimdFlavour | null = null;
let loading: Promise<void> | null = null;

/** 'plain' (default): 128-bit SIMD, bit-for-bit deterministic everywhere. 'relaxed': the GEMMs use
 *  f32x4.relaxed_madd (fused multiply-add where the CPU has it): faster (see bench/results/relaxed.md), but
 *  results may differ in the last bits between machines. Chromium runs it; Node 20 needs
 *  --experimental-wasm-relaxed-simd. */
export type SimdFlavour = 'plain' | 'relaxed';

export interface InitOptions {
  /** Which build of the core to load (default 'plain'); see SimdFlavour. */
  simd?: SimdFlavour;
  /** Threads that compute the big matrix products (default 1; 'auto': the hardware concurrency). Needs
   *  worker_threads (Node) or a cross-origin-isolated page (browsers); elsewhere the core runs on one thread
   *  and threadsInfo() says why. Results are bit-identical for any thread count. */
  threads?: ThreadsOption;
}

function decodeBase64(base64: string): Uint8Array<ArrayBuffer> {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/** The SIMD flavour asked for (undefined: "whichever is loaded, plain if none") and the threads. */
function checkInitOptions(options: unknown): { simd: SimdFlavour | undefined; threads: number | undefined } {
  if (options === null || typeof options !== 'object') {
    throw new BackpropError('BAD_OPTION', `expected init options { simd, threads }, got ${describeValue(options)}`);
  }
  const { simd, threads, ...rest } = options as InitOptions;
  const unknown = Object.keys(rest);
  if (unknown.length) throw new BackpropError('BAD_OPTION', `unknown init option "${unknown[0]}"; expected simd or threads`);
  const count = threads === undefined ? undefined : resolveThreads(threads);
  if (simd !== undefined && simd !== 'plain' && simd !== 'relaxed') {
    throw new BackpropError('BAD_OPTION', `expected init option simd to be 'plain' or 'relaxed', got ${describeValue(simd)}`);
  }
  if (loadedSimd !== null && simd !== undefined && simd !== loadedSimd) {
    throw new BackpropError(
      'BAD_STATE',
      `backprop-wasm is already initialised with ${loadedSimd} SIMD; every object shares that core`,
    );
  }
  if (loadedSimd !== null && count !== undefined && count !== threadsInfo().requested) {
    throw new BackpropError(
      'BAD_STATE',
      `backprop-wasm is already initialised with threads: ${threadsInfo().requested}; every object shares that core`,
    );
  }
  return { simd, threads: count };
}

async function coreBytes(simd: SimdFlavour, threaded: boolean): Promise<Uint8Array<ArrayBuffer>> {
  if (simd === 'plain' && !threaded) return decodeBase64(coreWasmBase64);
  const bytes = decodeBase64(
    threaded
      ? simd === 'plain'
        ? (await import('./generated/core-wasm-threads.js')).coreWasmThreadsBase64
        : (await import('./generated/core-wasm-threads-relaxed.js')).coreWasmThreadsRelaxedBase64
      : (await import('./generated/core-wasm-relaxed.js')).coreWasmRelaxedBase64,
  );
  if (!WebAssembly.validate(bytes)) {
    throw new BackpropError(
      'BAD_OPTION',
      simd === 'relaxed'
        ? 'this engine does not run relaxed SIMD (Node 20 needs --experimental-wasm-relaxed-simd; Chromium runs it): ' +
            "use init() or init({ simd: 'plain' })"
        : 'this engine does not run WebAssembly threads (atomics): use init() without threads',
    );
  }
  return bytes;
}

function useInstance(module: WebAssembly.Module, instance: WebAssembly.Instance, simd: SimdFlavour): void {
  compiled = module;
  loadedSimd = simd;
  core = bindCore<CoreExports>(instance.exports);
}

/** Loads the WASM core. Idempotent: once loaded, later calls resolve at once (and init() without options
 *  accepts whichever flavour was loaded). */
export function init(options: InitOptions = {}): Promise<void> {
  let asked: ReturnType<typeof checkInitOptions>;
  try {
    asked = checkInitOptions(options);
  } catch (error) {
    return Promise.reject(error);
  }
  if (core) return Promise.resolve();
  const flavour = asked.simd ?? 'plain';
  loading ??= instantiate(flavour, asked.threads ?? 1).then(
    ({ module, instance }) => useInstance(module, instance, flavour),
    (error: unknown) => {
      loading = null;
      if (error instanceof BackpropError) throw error;
      throw new BackpropError(
        'NOT_INITIALIZED',
        `backprop-wasm could not compile its WebAssembly core: ${String(error)}. ` +
          "A page with a Content-Security-Policy needs 'wasm-unsafe-eval' in script-src.",
      );
    },
  );
  return loading;
}

/** The core on this thread: the threads build with its pool when more than one thread is asked for and the
 *  platform can share memory (else the single-thread build, and threadsInfo() says why). */
async function instantiate(
  simd: SimdFlavour,
  threads: number,
): Promise<{ module: WebAssembly.Module; instance: WebAssembly.Instance }> {
  const unavailable = threads > 1 ? threadsUnavailable() : null;
  if (threads > 1 && unavailable === null) {
    const module = await WebAssembly.compile(await coreBytes(simd, true));
    try {
      return { module, instance: await startThreads(module, threads) };
    } catch (error) {
      recordSingleThread(threads, `the thread pool could not start: ${String(error)}`);
    }
  } else {
    recordSingleThread(threads, unavailable);
  }
  return WebAssembly.instantiate(await coreBytes(simd, false), {});
}

/** @internal A worker's core from its parent's compiled module: the threads build starts its own pool. */
export async function initFromModule(module: WebAssembly.Module, simd: SimdFlavour, threads: number): Promise<void> {
  if (core) return;
  const threadsBuild = WebAssembly.Module.imports(module).some((i) => i.kind === 'memory');
  if (threadsBuild) useInstance(module, await startThreads(module, threads), simd);
  else initWithModule(module, simd);
}

/** Loads the (plain SIMD) WASM core synchronously (Node, workers; browsers may refuse on the main thread). */
export function initSync(): void {
  if (core) return;
  checkInitOptions({ simd: 'plain' });
  recordSingleThread(1, null);
  const module = new WebAssembly.Module(decodeBase64(coreWasmBase64));
  useInstance(module, new WebAssembly.Instance(module, {}), 'plain');
}

/** @internal Instantiates an already compiled core (a worker gets the module from its parent thread). */
export function initWithModule(module: WebAssembly.Module, simd: SimdFlavour = 'plain'): void {
  if (core) return;
  useInstance(module, new WebAssembly.Instance(module, {}), simd);
}

/** @internal The compiled core, its flavour and threads, to hand to a worker. */
export function compiledCore(): { module: WebAssembly.Module; simd: SimdFlavour; threads: number } {
  getCore();
  return { module: compiled!, simd: loadedSimd!, threads: threadsInfo().active };
}

export function getCore(): CoreExports {
  if (!core) {
    throw new BackpropError('NOT_INITIALIZED', 'backprop-wasm is not initialised: call `await init()` first.');
  }
  return core;
}

/** Linear memory grows only inside the core's alloc (nothing else in the core allocates), so views need
 *  re-creating only after an allocation: this counts them, and the cached views compare a number instead
 *  of asking the engine for memory.buffer on every call. */
let allocations = 0;
let bufferCache: { at: number; buffer: ArrayBuffer } | null = null;

/** The linear memory's current ArrayBuffer. */
export function memoryBuffer(): ArrayBuffer {
  if (bufferCache === null || bufferCache.at !== allocations) bufferCache = { at: allocations, buffer: getCore().memory.buffer };
  return bufferCache.buffer;
}

/** A number that changes whenever the memory may have grown (views made before it changed may be stale). */
export function memoryGeneration(): number {
  return allocations;
}

let heapCache: Float32Array | null = null;
let heapAt = -1;

/** A Float32Array over all of linear memory, re-created after the memory has grown. */
export function heapF32(): Float32Array {
  if (heapCache === null || heapAt !== allocations) {
    const buffer = memoryBuffer();
    if (heapCache === null || heapCache.buffer !== buffer) heapCache = new Float32Array(buffer);
    heapAt = allocations;
  }
  return heapCache;
}

export function writeF32(ptr: Ptr, values: ArrayLike<number>): void {
  heapF32().set(values, ptr >>> 2);
}

/** A copy of `length` floats at `ptr` (allocated and filled with set(): cheaper than slice() in Chromium). */
export function readF32(ptr: Ptr, length: number): Float32Array {
  const out = new Float32Array(length);
  out.set(heapF32().subarray(ptr >>> 2, (ptr >>> 2) + length));
  return out;
}

/** Copies `count` floats within linear memory (JS-side memmove: no call into the core). */
export function copyF32(dst: Ptr, src: Ptr, count: number): void {
  const heap = heapF32();
  heap.copyWithin(dst >>> 2, src >>> 2, (src >>> 2) + count);
}

export function writeI32(ptr: Ptr, values: ArrayLike<number>): void {
  new Int32Array(memoryBuffer(), ptr, values.length).set(values);
}

/** The largest block the core's allocator hands out (its TLSF limit, 2^30 bytes less its header). */
export const MAX_BLOCK_BYTES = 2 ** 30 - 64;

/** `count` items of `itemBytes` each, computed in JS numbers (no 32-bit wrap) and refused with
 *  OUT_OF_MEMORY, naming `what`, when one WASM block cannot hold them. */
export function checkedBytes(what: string, count: number, itemBytes = 4): number {
  const bytes = count * itemBytes;
  if (!Number.isFinite(bytes) || bytes > MAX_BLOCK_BYTES) {
    throw new BackpropError(
      'OUT_OF_MEMORY',
      `${what} would take ${formatBytes(bytes)}, more than one block of WASM memory can hold (1 GiB)`,
    );
  }
  return bytes;
}

function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(2)} GiB (${bytes} bytes)`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  return `${bytes} bytes`;
}

const stats = { liveBytes: 0, liveObjects: 0 };

/** Frees the blocks of objects that were garbage-collected without dispose(). */
const forgotten: FinalizationRegistry<WasmBlock> | null =
  typeof FinalizationRegistry === 'function' ? new FinalizationRegistry((block) => block.free()) : null;

/** A block of linear memory with one owner, who calls free() exactly once. With an `owner` object, the
 *  block is also freed when the owner is garbage-collected without having freed it. */
export class WasmBlock {
  readonly ptr: Ptr;
  readonly bytes: number;
  private freed = false;

  constructor(bytes: number, owner?: object) {
    const size = Math.max(16, Math.ceil(checkedBytes('a block', bytes, 1) / 16) * 16);
    this.ptr = allocate(size);
    this.bytes = size;
    stats.liveBytes += size;
    stats.liveObjects += 1;
    if (owner) forgotten?.register(owner, this, this);
  }

  get isFreed(): boolean {
    return this.freed;
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    forgotten?.unregister(this);
    stats.liveBytes -= this.bytes;
    stats.liveObjects -= 1;
    getCore().free(this.ptr);
  }
}

/** Allocates, or throws OUT_OF_MEMORY: the allocator traps before it changes anything when the memory
 *  cannot grow, so every other block stays valid and the library keeps working. */
function allocate(bytes: number): Ptr {
  const core = getCore();
  try {
    return core.alloc(bytes);
  } catch (error) {
    // the memory may have grown before the allocator gave up (counted in finally)
    const total = core.memory.buffer.byteLength;
    throw new BackpropError(
      'OUT_OF_MEMORY',
      `could not allocate ${formatBytes(bytes)} of WASM memory (the memory holds ${formatBytes(total)} and cannot grow ` +
        `enough: ${String(error)})`,
    );
  } finally {
    allocations++;
  }
}

/** Sizes of the WASM memory and of what backprop-wasm objects own in it. */
export function memoryStats(): { wasmBytes: number; liveBytes: number; liveObjects: number } {
  return { wasmBytes: getCore().memory.buffer.byteLength, ...stats };
}

/** Scratch memory for what one public call stages in WASM (inputs, targets, configs): a bump allocator
 *  reset at the start of each call that stages something. It never runs user code, so nothing staged
 *  outlives the call. */
class StagingArea {
  private blocks: WasmBlock[] = [];
  private used = 0;

  /** Starts a call's staging: what earlier calls staged may be overwritten. */
  reset(): this {
    if (this.blocks.length > 1) {
      // the last call needed more than one block: replace them with one that holds it all
      const total = this.blocks.reduce((sum, b) => sum + b.bytes, 0);
      const merged = new WasmBlock(total);
      this.blocks.forEach((b) => b.free());
      this.blocks = [merged];
    }
    this.used = 0;
    return this;
  }

  /** `bytes` of scratch, 16-byte aligned. */
  alloc(bytes: number): Ptr {
    const size = Math.ceil(bytes / 16) * 16;
    let current = this.blocks[this.blocks.length - 1];
    if (!current || this.used + size > current.bytes) {
      current = new WasmBlock(Math.max(size, 4096));
      this.blocks.push(current);
      this.used = 0;
    }
    const ptr = current.ptr + this.used;
    this.used += size;
    return ptr;
  }

  /** Room for `count` floats (or i32s). */
  floats(count: number, what = 'staged data'): Ptr {
    return this.alloc(checkedBytes(what, count));
  }
}

const staging = new StagingArea();

/** The staging area, reset: call once at the start of a public call that copies data into WASM. */
export function beginStaging(): StagingArea {
  getCore();
  return staging.reset();
}

export type { StagingArea };

/** Rounds a float count up so that an array placed after it starts 16-byte aligned. */
export function alignFloats(count: number): number {
  return Math.ceil(count / 4) * 4;
}
