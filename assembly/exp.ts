// e^x in four lanes for x ≤ 0 (Sigmoid's e^−|z|): Cephes' expf — x = n·ln 2 + r with |r| ≤ ln 2 / 2, a
// degree-7 polynomial for e^r, then 2^n in the exponent bits — within 2 ulp of the scalar Mathf.exp (the
// scalar reference, which every lane below −87 falls back to, where 2^n would leave the normal range).
// test/exp.test.ts compares them over a sweep of float32 values.

import { loadPart, storePart } from "./memory";

const LOG2E: f32 = 1.44269504088896341;
const ROUNDER: f32 = 12582912.0;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
/** Below this, 2^n is subnormal: the lanes go through the scalar exp. */
const NORMAL_LIMIT: f32 = -87.0;

/** e^x per lane, for lanes ≤ 0 (or NaN). */
@inline export function expNonPositiveX4(x: v128): v128 {
  if (v128.any_true(f32x4.lt(x, f32x4.splat(NORMAL_LIMIT)))) return expX4Scalar(x);
  // n = round(x·log2 e) by adding 1.5·2^23 (its integer then sits in the low mantissa bits)
  const shifted = f32x4.add(f32x4.mul(x, f32x4.splat(LOG2E)), f32x4.splat(ROUNDER));
  const n = f32x4.sub(shifted, f32x4.splat(ROUNDER));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(LN2_LO)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(p, f32x4.mul(r, r)), r), f32x4.splat(1));
  const scale = i32x4.shl(i32x4.add(i32x4.sub(shifted, f32x4.splat(ROUNDER)), i32x4.splat(127)), 23);
  return f32x4.mul(p, scale);
}

/** The scalar reference, lane by lane. */
function expX4Scalar(x: v128): v128 {
  let out = f32x4.splat(0);
  out = f32x4.replace_lane(out, 0, Mathf.exp(f32x4.extract_lane(x, 0)));
  out = f32x4.replace_lane(out, 1, Mathf.exp(f32x4.extract_lane(x, 1)));
  out = f32x4.replace_lane(out, 2, Mathf.exp(f32x4.extract_lane(x, 2)));
  out = f32x4.replace_lane(out, 3, Mathf.exp(f32x4.extract_lane(x, 3)));
  return out;
}

/** e^x for `count` floats ≤ 0 at `src` into `dst`, four at a time (the tail padded): for the tests. */
export function expNonPositiveF32(src: usize, dst: usize, count: i32): void {
  for (let i = 0; i < count; i += 4) {
    const left = count - i;
    const v = left >= 4 ? v128.load(src + (<usize>i << 2)) : loadPart(src + (<usize>i << 2), left);
    const e = expNonPositiveX4(v);
    if (left >= 4) v128.store(dst + (<usize>i << 2), e);
    else storePart(dst + (<usize>i << 2), e, left);
  }
}
