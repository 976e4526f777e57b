// Seeded pseudo-random numbers: xoshiro128** seeded by splitmix32, so a seed gives the same stream in
// every engine. The 16-byte state lives in linear memory, owned by a Generator on the JS side.

function splitmix32(x: u32): u32 {
  x += 0x9e3779b9;
  x = (x ^ (x >>> 16)) * 0x85ebca6b;
  x = (x ^ (x >>> 13)) * 0xc2b2ae35;
  return x ^ (x >>> 16);
}

export function rngSeed(state: usize, seed: u32): void {
  let s = seed;
  for (let k: usize = 0; k < 4; k++) {
    s = splitmix32(s + <u32>k);
    store<u32>(state + (k << 2), s == 0 ? 1 : s);
  }
}

function nextU32(state: usize): u32 {
  const s0 = load<u32>(state), s1 = load<u32>(state, 4), s2 = load<u32>(state, 8), s3 = load<u32>(state, 12);
  const result = rotl<u32>(s1 * 5, 7) * 9;
  const t = s1 << 9;
  let n2 = s2 ^ s0;
  let n3 = s3 ^ s1;
  const n1 = s1 ^ n2;
  const n0 = s0 ^ n3;
  n2 ^= t;
  n3 = rotl<u32>(n3, 11);
  store<u32>(state, n0);
  store<u32>(state, n1, 4);
  store<u32>(state, n2, 8);
  store<u32>(state, n3, 12);
  return result;
}

/** Uniform in [0, 1) with 24 random bits: every value is exactly representable as f32. */
export function rngUnit(state: usize): f32 {
  return <f32>(nextU32(state) >>> 8) * (1.0 / 16777216.0);
}

export function rngUniformF32(state: usize, out: usize, count: i32, low: f32, high: f32): void {
  const width = high - low;
  for (let i = 0; i < count; i++) {
    store<f32>(out + (<usize>i << 2), low + width * rngUnit(state));
  }
}

/** Standard normal by Box–Muller (two uniforms per pair of outputs), scaled to mean and std. */
export function rngNormalF32(state: usize, out: usize, count: i32, mean: f32, std: f32): void {
  for (let i = 0; i < count; i += 2) {
    const u1 = 1.0 - <f64>rngUnit(state); // in (0, 1]: log is finite
    const u2 = <f64>rngUnit(state);
    const radius = Math.sqrt(-2.0 * Math.log(u1));
    const angle = 2.0 * Math.PI * u2;
    store<f32>(out + (<usize>i << 2), mean + std * <f32>(radius * Math.cos(angle)));
    if (i + 1 < count) store<f32>(out + (<usize>(i + 1) << 2), mean + std * <f32>(radius * Math.sin(angle)));
  }
}

/** Uniform integer in [0, bound) for bound ≥ 1 (Lemire's multiply-shift, bias ≤ bound / 2^32). */
export function rngBelow(state: usize, bound: u32): u32 {
  return <u32>((<u64>nextU32(state) * <u64>bound) >>> 32);
}

/** Fisher–Yates shuffle of `count` i32 values in place. */
export function rngShuffleI32(state: usize, values: usize, count: i32): void {
  for (let i = count - 1; i > 0; i--) {
    const j = <i32>rngBelow(state, <u32>(i + 1));
    const a = values + (<usize>i << 2), b = values + (<usize>j << 2);
    const t = load<i32>(a);
    store<i32>(a, load<i32>(b));
    store<i32>(b, t);
  }
}
