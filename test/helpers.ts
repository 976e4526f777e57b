// The kernel suites run the library on the test build of the core (build/backprop-test.wasm: the release
// exports plus the kernels that only tests call), so they can call kernels directly and still use the
// library's own ABI writers.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { WasmBlock, getCore, initWithModule, readF32, writeF32 } from '../src/core';
import type { TestCoreExports } from '../src/generated/core-exports';
import { layerKernelId, layerParamBytes, writeLayerParams } from '../src/kernel';
import type { Layer } from '../src/layers';

initWithModule(new WebAssembly.Module(readFileSync(resolve(__dirname, '../build/backprop-test.wasm'))));

export const core = getCore() as TestCoreExports;

/** Copies arrays into fresh WASM blocks; returns their pointers and a function that frees them all. */
export function inWasm(...arrays: ArrayLike<number>[]): { ptrs: number[]; free: () => void } {
  const blocks = arrays.map((a) => new WasmBlock(Math.max(4, a.length * 4)));
  blocks.forEach((block, k) => writeF32(block.ptr, arrays[k]));
  return { ptrs: blocks.map((b) => b.ptr), free: () => blocks.forEach((b) => b.free()) };
}

export { readF32 };

/** Shapes that exercise SIMD bodies and scalar tails: 1, 3, 4, 5, 7, 8, 33, … */
export const RAGGED = [1, 2, 3, 4, 5, 7, 8, 9, 16, 33];

/** An activation layer's kernel id and its parameter block in WASM memory, to call its kernels directly. */
export function stageActivation(layer: Layer): { kernel: number; params: number; free: () => void } {
  const entry = layer.planEntry();
  const block = new WasmBlock(Math.max(16, layerParamBytes(entry.kernel)));
  writeLayerParams(entry.kernel, block.ptr, entry.params ?? {});
  return { kernel: layerKernelId(entry.kernel), params: block.ptr, free: () => block.free() };
}
