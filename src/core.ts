// Loads the WASM core and owns its linear memory: blocks with one owner each, views that survive growth,
// and one scratch area for data staged within a single call.
import { coreWasmBase64 } from './generated/core-wasm.js';
import { BackpropError, describeValue } from './errors.js';

type Ptr = number;

/** The exports of assembly/index.ts. */
export interface CoreExports {
  memory: WebAssembly.Memory;
  alloc(bytes: number): Ptr;
  free(ptr: Ptr): void;
  zeroF32(ptr: Ptr, count: number): void;
  copyF32(dst: Ptr, src: Ptr, count: number): void;
  firstNonFiniteF32(ptr: Ptr, count: number): number;
  firstOutsideF32(ptr: Ptr, count: number, low: number, high: number): number;
  rngSeed(state: Ptr, seed: number): void;
  rngUniformF32(state: Ptr, out: Ptr, count: number, low: number, high: number): void;
  rngNormalF32(state: Ptr, out: Ptr, count: number, mean: number, std: number): void;
  rngBelow(state: Ptr, bound: number): number;
  linearForward(x: Ptr, weight: Ptr, bias: Ptr, z: Ptr, batch: number, inF: number, outF: number): void;
  linearBackwardInput(gradZ: Ptr, weight: Ptr, gradX: Ptr, batch: number, inF: number, outF: number): void;
  linearBackwardParams(
    gradZ: Ptr, x: Ptr, gradWeight: Ptr, gradBias: Ptr, batch: number, inF: number, outF: number,
  ): void;
  gemmNT(m: number, n: number, k: number, a: Ptr, lda: number, b: Ptr, ldb: number, c: Ptr, ldc: number, bias: Ptr): void;
  gemmNTActivated(
    m: number, n: number, k: number, a: Ptr, lda: number, b: Ptr, ldb: number, c: Ptr, ldc: number, bias: Ptr,
    activation: number, param: number, d: Ptr,
  ): void;
  linearForwardActivated(
    x: Ptr, weight: Ptr, bias: Ptr, z: Ptr, a: Ptr, batch: number, inF: number, outF: number, activation: number, param: number,
  ): void;
  gemmNN(
    m: number, n: number, k: number, a: Ptr, rsA: number, csA: number, b: Ptr, ldb: number, c: Ptr, ldc: number, accumulate: number,
  ): void;
  gemmNTReference(m: number, n: number, k: number, a: Ptr, lda: number, b: Ptr, ldb: number, c: Ptr, ldc: number, bias: Ptr): void;
  gemmNNReference(
    m: number, n: number, k: number, a: Ptr, rsA: number, csA: number, b: Ptr, ldb: number, c: Ptr, ldc: number, accumulate: number,
  ): void;
  activationForward(kind: number, param: number, z: Ptr, a: Ptr, rows: number, width: number): void;
  activationBackward(
    kind: number, param: number, z: Ptr, a: Ptr, gradA: Ptr, gradZ: Ptr, rows: number, width: number,
  ): void;
  lossForward(
    kind: number, reduction: number, smoothing: number, pred: Ptr, target: Ptr, rows: number, width: number,
  ): number;
  lossBackward(
    kind: number, reduction: number, smoothing: number, pred: Ptr, target: Ptr, grad: Ptr, rows: number, width: number,
  ): void;
  lossFirstInvalidInput(kind: number, pred: Ptr, rows: number, width: number): number;
  countCorrect(kind: number, pred: Ptr, target: Ptr, rows: number, width: number): number;
  optimizerStep(block: Ptr): void;
  optimizerZeroGrad(block: Ptr): void;
  networkForward(plan: Ptr, layers: number, batch: number): void;
  networkBackward(plan: Ptr, layers: number, batch: number, needInputGrad: number): void;
  networkZeroGrad(plan: Ptr, layers: number): void;
  networkTrainStep(
    plan: Ptr, layers: number, batch: number, lossKind: number, reduction: number, smoothing: number, target: Ptr,
    optimizer: Ptr,
  ): number;
  networkTrainEpoch(
    plan: Ptr, layers: number, inputs: Ptr, inputRowBytes: number, targets: Ptr, targetRowBytes: number,
    indices: Ptr, count: number, batchSize: number, lossKind: number, reduction: number, smoothing: number,
    targetBuffer: Ptr, optimizer: Ptr, batchLosses: Ptr,
  ): number;
  gatherRows(src: Ptr, indices: Ptr, start: number, count: number, rowBytes: number, dst: Ptr): void;
  rngShuffleI32(state: Ptr, values: Ptr, count: number): void;
  resultPtr(): Ptr;
}

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
  simd?: SimdFlavour;
}

function decodeBase64(base64: string): Uint8Array<ArrayBuffer> {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

function checkInitOptions(options: unknown): SimdFlavour {
  if (options === null || typeof options !== 'object') {
    throw new BackpropError('BAD_OPTION', `expected init options { simd }, got ${describeValue(options)}`);
  }
  const { simd = 'plain', ...rest } = options as InitOptions;
  const unknown = Object.keys(rest);
  if (unknown.length) throw new BackpropError('BAD_OPTION', `unknown init option "${unknown[0]}"; expected simd`);
  if (simd !== 'plain' && simd !== 'relaxed') {
    throw new BackpropError('BAD_OPTION', `expected init option simd to be 'plain' or 'relaxed', got ${describeValue(simd)}`);
  }
  if (loadedSimd !== null && simd !== loadedSimd) {
    throw new BackpropError('BAD_STATE', `backprop-wasm is already initialised with ${loadedSimd} SIMD; every object shares that core`);
  }
  return simd;
}

async function coreBytes(simd: SimdFlavour): Promise<Uint8Array<ArrayBuffer>> {
  if (simd === 'plain') return decodeBase64(coreWasmBase64);
  const { coreWasmRelaxedBase64 } = await import('./generated/core-wasm-relaxed.js');
  const bytes = decodeBase64(coreWasmRelaxedBase64);
  if (!WebAssembly.validate(bytes)) {
    throw new BackpropError(
      'BAD_OPTION',
      'this engine does not run relaxed SIMD (Node 20 needs --experimental-wasm-relaxed-simd; Chromium runs it): ' +
        "use init() or init({ simd: 'plain' })",
    );
  }
  return bytes;
}

/** Loads the WASM core. Idempotent: later calls return the same promise. */
export function init(options: InitOptions = {}): Promise<void> {
  let simd: SimdFlavour;
  try {
    simd = checkInitOptions(options);
  } catch (error) {
    return Promise.reject(error);
  }
  if (core) return Promise.resolve();
  loading ??= coreBytes(simd).then((bytes) => WebAssembly.instantiate(bytes, {})).then(
    ({ module, instance }) => {
      compiled = module;
      loadedSimd = simd;
      core = instance.exports as unknown as CoreExports;
    },
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

/** Loads the (plain SIMD) WASM core synchronously (Node, workers; browsers may refuse on the main thread). */
export function initSync(): void {
  if (core) return;
  checkInitOptions({});
  initWithModule(new WebAssembly.Module(decodeBase64(coreWasmBase64)));
}

/** @internal Instantiates an already compiled core (a worker gets the module from its parent thread). */
export function initWithModule(module: WebAssembly.Module): void {
  if (core) return;
  compiled = module;
  loadedSimd ??= 'plain';
  core = new WebAssembly.Instance(module, {}).exports as unknown as CoreExports;
}

/** @internal The compiled core, to hand to a worker. */
export function compiledCore(): WebAssembly.Module {
  getCore();
  return compiled!;
}

export function getCore(): CoreExports {
  if (!core) {
    throw new BackpropError('NOT_INITIALIZED', 'backprop-wasm is not initialised: call `await init()` first.');
  }
  return core;
}

let heapCache: Float32Array | null = null;

/** A Float32Array over all of linear memory, re-created after the memory has grown. */
export function heapF32(): Float32Array {
  const buffer = getCore().memory.buffer;
  if (heapCache === null || heapCache.buffer !== buffer) heapCache = new Float32Array(buffer);
  return heapCache;
}

export function writeF32(ptr: Ptr, values: ArrayLike<number>): void {
  heapF32().set(values, ptr >>> 2);
}

export function readF32(ptr: Ptr, length: number): Float32Array {
  return heapF32().slice(ptr >>> 2, (ptr >>> 2) + length);
}

export function writeI32(ptr: Ptr, values: ArrayLike<number>): void {
  new Int32Array(getCore().memory.buffer, ptr, values.length).set(values);
}

let resultViews: { loss: Float64Array; ints: Int32Array } | null = null;

/** The loss and the position that the last training call wrote to the core's result area. */
export function readResult(): { loss: number; where: number; batch: number } {
  const core = getCore();
  if (resultViews === null || resultViews.loss.buffer !== core.memory.buffer) {
    const ptr = core.resultPtr();
    resultViews = { loss: new Float64Array(core.memory.buffer, ptr, 1), ints: new Int32Array(core.memory.buffer, ptr + 8, 2) };
  }
  return { loss: resultViews.loss[0], where: resultViews.ints[0], batch: resultViews.ints[1] };
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
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
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

function allocate(bytes: number): Ptr {
  const core = getCore();
  try {
    return core.alloc(bytes);
  } catch (error) {
    throw new BackpropError('OUT_OF_MEMORY', `could not allocate ${bytes} bytes of WASM memory (${String(error)})`);
  }
}

/** Sizes of the WASM memory and of what backprop-wasm objects own in it. */
export function memoryStats(): { wasmBytes: number; liveBytes: number; liveObjects: number } {
  return { wasmBytes: getCore().memory.buffer.byteLength, ...stats };
}

let scratch: WasmBlock | null = null;

/** Scratch memory for data staged within one call; the next call to scratchF32 may reuse it. */
export function scratchF32(floats: number): Ptr {
  const bytes = floats * 4;
  if (scratch === null || scratch.bytes < bytes) {
    scratch?.free();
    scratch = null;
    scratch = new WasmBlock(Math.max(bytes, 4096));
  }
  return scratch.ptr;
}

/** Rounds a float count up so that an array placed after it starts 16-byte aligned. */
export function alignFloats(count: number): number {
  return Math.ceil(count / 4) * 4;
}
