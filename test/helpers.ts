import { WasmBlock, getCore, initSync, readF32, writeF32 } from '../src/core';

initSync();

/** Copies arrays into fresh WASM blocks; returns their pointers and a function that frees them all. */
export function inWasm(...arrays: ArrayLike<number>[]): { ptrs: number[]; free: () => void } {
  const blocks = arrays.map((a) => new WasmBlock(Math.max(4, a.length * 4)));
  blocks.forEach((block, k) => writeF32(block.ptr, arrays[k]));
  return { ptrs: blocks.map((b) => b.ptr), free: () => blocks.forEach((b) => b.free()) };
}

export { getCore, readF32 };

/** Shapes that exercise SIMD bodies and scalar tails: 1, 3, 4, 5, 7, 8, 33, … */
export const RAGGED = [1, 2, 3, 4, 5, 7, 8, 9, 16, 33];
