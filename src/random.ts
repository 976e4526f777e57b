// Seeded random numbers from the WASM core (xoshiro128**): the same seed gives the same numbers in Node and
// in every browser.
import { WasmBlock, beginStaging, getCore, readF32 } from './core.js';
import { BackpropError, describeValue } from './errors.js';
import { requireFiniteNumber } from './input.js';

function checkSeed(seed: unknown): number {
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new BackpropError('BAD_OPTION', `expected seed to be an integer in [0, 2^32), got ${describeValue(seed)}`);
  }
  return seed;
}

function checkCount(count: unknown): number {
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) {
    throw new BackpropError('BAD_OPTION', `expected count to be a non-negative integer, got ${describeValue(count)}`);
  }
  return count;
}

/** A seeded stream of random numbers. Its 16-byte state lives in WASM memory: dispose() frees it. */
export class Generator {
  private state: WasmBlock | null;

  constructor(seed = 0) {
    checkSeed(seed);
    this.state = new WasmBlock(16, this);
    getCore().rngSeed(this.state.ptr, seed);
  }

  /** @internal The address of the generator's state in WASM memory. */
  get statePtr(): number {
    if (!this.state) throw new BackpropError('DISPOSED', 'this Generator has been disposed');
    return this.state.ptr;
  }

  /** `count` floats uniform in [low, high). */
  uniform(count: number, low = 0, high = 1): Float32Array {
    checkCount(count);
    requireFiniteNumber(low, 'low', () => true, '');
    requireFiniteNumber(high, 'high', (h) => h >= low, '≥ low');
    const ptr = beginStaging().floats(count, 'the random numbers');
    this.fillUniform(ptr, count, low, high);
    return readF32(ptr, count);
  }

  /** `count` floats from a normal distribution. */
  normal(count: number, mean = 0, std = 1): Float32Array {
    checkCount(count);
    requireFiniteNumber(mean, 'mean', () => true, '');
    requireFiniteNumber(std, 'std', (s) => s >= 0, '≥ 0');
    const ptr = beginStaging().floats(count, 'the random numbers');
    this.fillNormal(ptr, count, mean, std);
    return readF32(ptr, count);
  }

  /** An integer uniform in [0, bound). */
  below(bound: number): number {
    if (!Number.isInteger(bound) || bound < 1 || bound > 0xffffffff) {
      throw new BackpropError('BAD_OPTION', `expected bound to be an integer in [1, 2^32), got ${describeValue(bound)}`);
    }
    return getCore().rngBelow(this.statePtr, bound) >>> 0;
  }

  /** @internal Fills `count` floats at `ptr` in WASM memory. */
  fillUniform(ptr: number, count: number, low: number, high: number): void {
    getCore().rngUniformF32(this.statePtr, ptr, count, low, high);
  }

  /** @internal Fills `count` floats at `ptr` in WASM memory. */
  fillNormal(ptr: number, count: number, mean: number, std: number): void {
    getCore().rngNormalF32(this.statePtr, ptr, count, mean, std);
  }

  /** @internal Shuffles `count` i32 values at `ptr` in WASM memory. */
  shuffleI32(ptr: number, count: number): void {
    getCore().rngShuffleI32(this.statePtr, ptr, count);
  }

  dispose(): void {
    this.state?.free();
    this.state = null;
  }
}

let defaultGenerator: Generator | null = null;

/** The generator layers draw their initial weights from when no seed or generator is given. */
export function defaultGen(): Generator {
  defaultGenerator ??= new Generator(0);
  return defaultGenerator;
}

/** Re-seeds the default generator, like torch.manual_seed. */
export function manualSeed(seed: number): void {
  checkSeed(seed);
  defaultGenerator?.dispose();
  defaultGenerator = new Generator(seed);
}
