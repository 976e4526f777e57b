// A floor for W4's training step (2 → 8 Sigmoid → 1 Sigmoid, MSE, SGD, batch 1): the whole step written by
// hand for this one shape — every value in a register, no loop but the one over rows, no call, no plan — with
// the library's own vector exp (assembly/exp.ts) for the sigmoids and the same float32 operations per value
// as the small path (assembly/small.ts): z = (b + x0·w0) + x1·w1; h = σ(z); z2 = hsum(h·w2) + b2; MSE's
// ∂/∂y = 2(y − t); ∂z = ∂a·((1 − a)·a); dW = 0 + ∂z·x; every gradient checked finite before the update.
// bench/small-floor.mjs times it beside the library's fit() and trainStep() on the same rows: how much of a
// step is the library's generality (plan, loss and optimizer dispatch, per-layer kernels) rather than
// arithmetic.
import { expNonPositiveX4 } from "../../assembly/exp";

const ROWS: i32 = 4096;
const W1 = memory.data(16 << 2, 16); // [8, 2]
const B1 = memory.data(8 << 2, 16);
const W2 = memory.data(8 << 2, 16); // [1, 8]
const B2 = memory.data(16, 16);
const X = memory.data(ROWS << 3, 16); // the XOR rows, as the bench's W4 data
const Y = memory.data(ROWS << 2, 16);

@inline function sigmoidX4(z: v128): v128 {
  const e = expNonPositiveX4(f32x4.neg(f32x4.abs(z)));
  return f32x4.div(v128.bitselect(f32x4.splat(1), e, f32x4.ge(z, f32x4.splat(0))), f32x4.add(f32x4.splat(1), e));
}

@inline function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** Fresh weights (a fixed pattern: the bench times steps, not convergence) and the XOR rows. */
export function reset(): void {
  for (let i = 0; i < 16; i++) store<f32>(W1 + (<usize>i << 2), <f32>Math.sin(<f64>i * 1.3) * 0.7);
  for (let i = 0; i < 8; i++) {
    store<f32>(W2 + (<usize>i << 2), <f32>Math.cos(<f64>i * 0.7) * 0.5);
    store<f32>(B1 + (<usize>i << 2), <f32>i * 0.01);
  }
  store<f32>(B2, 0);
  for (let r = 0; r < ROWS; r++) {
    const a = r & 1, b = (r >> 1) & 1;
    store<f32>(X + (<usize>r << 3), <f32>a);
    store<f32>(X + (<usize>r << 3) + 4, <f32>b);
    store<f32>(Y + (<usize>r << 2), <f32>(a ^ b));
  }
}

/** One pass of one-row SGD steps over the rows; returns the summed squared error (−1 at a non-finite gradient). */
export function epoch(lr: f32): f64 {
  let total: f64 = 0;
  const lrV = f32x4.splat(lr), one = f32x4.splat(1), zero = f32x4.splat(0);
  for (let r = 0; r < ROWS; r++) {
    const row = X + (<usize>r << 3);
    const x0 = v128.load32_splat(row), x1 = v128.load32_splat(row, 4);
    // forward: W1's rows de-interleaved into its two columns, four outputs per vector
    const wa = v128.load(W1), wb = v128.load(W1, 16), wc = v128.load(W1, 32), wd = v128.load(W1, 48);
    const za = f32x4.add(f32x4.add(v128.load(B1), f32x4.mul(x0, v128.shuffle<f32>(wa, wb, 0, 2, 4, 6))), f32x4.mul(x1, v128.shuffle<f32>(wa, wb, 1, 3, 5, 7)));
    const zb = f32x4.add(f32x4.add(v128.load(B1, 16), f32x4.mul(x0, v128.shuffle<f32>(wc, wd, 0, 2, 4, 6))), f32x4.mul(x1, v128.shuffle<f32>(wc, wd, 1, 3, 5, 7)));
    const ha = sigmoidX4(za), hb = sigmoidX4(zb);
    const w2a = v128.load(W2), w2b = v128.load(W2, 16);
    const z2 = hsum(f32x4.add(f32x4.add(zero, f32x4.mul(ha, w2a)), f32x4.mul(hb, w2b))) + load<f32>(B2);
    const y = f32x4.extract_lane(sigmoidX4(f32x4.splat(z2)), 0);
    const d = y - load<f32>(Y + (<usize>r << 2));
    total += <f64>(d * d);
    // backward
    const dz2 = (<f32>2 * d) * ((<f32>1 - y) * y);
    const dz2v = f32x4.splat(dz2);
    const gw2a = f32x4.add(zero, f32x4.mul(dz2v, ha)), gw2b = f32x4.add(zero, f32x4.mul(dz2v, hb));
    const dza = f32x4.mul(f32x4.add(zero, f32x4.mul(dz2v, w2a)), f32x4.mul(f32x4.sub(one, ha), ha));
    const dzb = f32x4.mul(f32x4.add(zero, f32x4.mul(dz2v, w2b)), f32x4.mul(f32x4.sub(one, hb), hb));
    const xs = v128.load64_splat(row); // x0 x1 x0 x1: dW1 in W1's order, two rows per vector
    const g0 = f32x4.add(zero, f32x4.mul(v128.shuffle<f32>(dza, dza, 0, 0, 1, 1), xs));
    const g1 = f32x4.add(zero, f32x4.mul(v128.shuffle<f32>(dza, dza, 2, 2, 3, 3), xs));
    const g2 = f32x4.add(zero, f32x4.mul(v128.shuffle<f32>(dzb, dzb, 0, 0, 1, 1), xs));
    const g3 = f32x4.add(zero, f32x4.mul(v128.shuffle<f32>(dzb, dzb, 2, 2, 3, 3), xs));
    // every gradient finite (x − x is NaN for NaN and ±∞), then the update
    const all = f32x4.add(f32x4.add(f32x4.add(g0, g1), f32x4.add(g2, g3)), f32x4.add(f32x4.add(dza, dzb), f32x4.add(gw2a, gw2b)));
    const check = f32x4.sub(all, all);
    if (v128.any_true(f32x4.ne(check, check)) || dz2 - dz2 != 0) return -1;
    v128.store(W1, f32x4.sub(wa, f32x4.mul(lrV, g0)));
    v128.store(W1, f32x4.sub(wb, f32x4.mul(lrV, g1)), 16);
    v128.store(W1, f32x4.sub(wc, f32x4.mul(lrV, g2)), 32);
    v128.store(W1, f32x4.sub(wd, f32x4.mul(lrV, g3)), 48);
    v128.store(B1, f32x4.sub(v128.load(B1), f32x4.mul(lrV, f32x4.add(zero, dza))));
    v128.store(B1, f32x4.sub(v128.load(B1, 16), f32x4.mul(lrV, f32x4.add(zero, dzb))), 16);
    v128.store(W2, f32x4.sub(w2a, f32x4.mul(lrV, gw2a)));
    v128.store(W2, f32x4.sub(w2b, f32x4.mul(lrV, gw2b)), 16);
    store<f32>(B2, load<f32>(B2) - lr * (<f32>0 + dz2));
  }
  return total;
}

export const STEPS_PER_EPOCH: i32 = ROWS;
