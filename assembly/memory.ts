// Raw blocks of linear memory for the TypeScript facade, and the address arithmetic every kernel uses.
// Every block handed out here has one owner on the JS side that frees it; nothing in the kernels allocates.

/** The address of element `index` of an array of 4-byte values at `base`. */
@inline export function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

/** The first `count` (1–4) floats at `ptr` in the low lanes, zeros above; no byte after them is read. */
@inline export function loadPart(ptr: usize, count: i32): v128 {
  if (count >= 4) return v128.load(ptr);
  if (count == 1) return v128.load32_zero(ptr);
  const low = v128.load64_zero(ptr);
  return count == 2 ? low : v128.load32_lane(ptr, low, 2, 8);
}

/** Stores the low `count` (1–4) lanes of v at `ptr`. */
@inline export function storePart(ptr: usize, v: v128, count: i32): void {
  if (count >= 4) v128.store(ptr, v);
  else if (count == 1) v128.store32_lane(ptr, v, 0);
  else {
    v128.store64_lane(ptr, v, 0);
    if (count == 3) v128.store32_lane(ptr, v, 2, 8);
  }
}

/** A block of `bytes` zeroed bytes. Traps when the memory cannot grow to hold it; the allocator changes
 *  nothing before that point, so the facade reports OUT_OF_MEMORY and every other block stays valid. */
export function alloc(bytes: usize): usize {
  const ptr = heap.alloc(bytes);
  memory.fill(ptr, 0, bytes);
  return ptr;
}

export function free(ptr: usize): void {
  heap.free(ptr);
}

export function zeroF32(ptr: usize, count: i32): void {
  memory.fill(ptr, 0, <usize>count << 2);
}

export function fillF32(ptr: usize, count: i32, value: f32): void {
  for (let i = 0; i < count; i++) store<f32>(at(ptr, i), value);
}

export function copyF32(dst: usize, src: usize, count: i32): void {
  memory.copy(dst, src, <usize>count << 2);
}

/** Index of the first NaN or ±Infinity in `count` floats at `ptr`, or -1 when all are finite. */
export function firstNonFiniteF32(ptr: usize, count: i32): i32 {
  // x - x is 0 for finite x and NaN for NaN/Infinity, so one comparison per lane finds both.
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const v = v128.load(at(ptr, i));
    const d = f32x4.sub(v, v);
    if (v128.any_true(f32x4.ne(d, d))) break;
  }
  for (; i < count; i++) {
    const x = load<f32>(at(ptr, i));
    if (x - x != 0) return i;
  }
  return -1;
}

/** Index of the first of `count` floats that is not in [low, high] (NaN included), or -1. */
export function firstOutsideF32(ptr: usize, count: i32, low: f32, high: f32): i32 {
  for (let i = 0; i < count; i++) {
    const x = load<f32>(at(ptr, i));
    if (!(x >= low && x <= high)) return i;
  }
  return -1;
}
