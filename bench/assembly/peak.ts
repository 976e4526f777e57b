// The machine's WASM-SIMD arithmetic peak for what the GEMM kernels issue — f32x4.mul then f32x4.add, two
// instructions (the plain build has no fused multiply-add) — bounded by throughput, not latency: eight
// independent accumulators c += x·y, with x and y loaded each step from a small L1-resident buffer (so the
// engine cannot hoist the multiplies) and the loop unrolled twice. Each iteration is 8 multiplies and 8 adds on
// 4 lanes = 64 flops.
//
// The first version of this loop chained each accumulator through its own multiply and add (a = a·m + d): that
// is latency-bound (a mul and an add back to back per chain) and measured ~2/3 of this one here (AMD EPYC, Zen 5), so kernels
// showed "90 % of peak" at what is ~75 % of the real throughput bound.
const BUFFER = memory.data(256, 16);

export function peakMulAdd(iterations: i32, seed: f32): f32 {
  for (let i = 0; i < 16; i++) v128.store(BUFFER + (<usize>i << 4), f32x4.splat(seed + <f32>i * 1e-3));
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  let c4 = f32x4.splat(0), c5 = f32x4.splat(0), c6 = f32x4.splat(0), c7 = f32x4.splat(0);
  for (let i = 0; i < iterations; i += 2) {
    const p = BUFFER + ((<usize>i & 6) << 4);
    let x = v128.load(p), y = v128.load(p, 16);
    c0 = f32x4.add(c0, f32x4.mul(x, y)); c1 = f32x4.add(c1, f32x4.mul(y, y));
    c2 = f32x4.add(c2, f32x4.mul(x, x)); c3 = f32x4.add(c3, f32x4.mul(x, c0));
    c4 = f32x4.add(c4, f32x4.mul(y, c1)); c5 = f32x4.add(c5, f32x4.mul(x, c2));
    c6 = f32x4.add(c6, f32x4.mul(y, c3)); c7 = f32x4.add(c7, f32x4.mul(x, c4));
    x = v128.load(p, 32); y = v128.load(p, 48);
    c0 = f32x4.add(c0, f32x4.mul(x, y)); c1 = f32x4.add(c1, f32x4.mul(y, y));
    c2 = f32x4.add(c2, f32x4.mul(x, x)); c3 = f32x4.add(c3, f32x4.mul(x, c0));
    c4 = f32x4.add(c4, f32x4.mul(y, c1)); c5 = f32x4.add(c5, f32x4.mul(x, c2));
    c6 = f32x4.add(c6, f32x4.mul(y, c3)); c7 = f32x4.add(c7, f32x4.mul(x, c4));
  }
  const s = f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)), f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7)));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 3);
}

export const PEAK_FLOPS_PER_ITERATION: i32 = 64;
