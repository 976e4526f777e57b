// The vector exp of Sigmoid (assembly/exp.ts) against float64 Math.exp,
// and the Sigmoid kernel built on it against its scalar reference, over a sweep of float32 values.
import { describe, expect, it } from 'vitest';
import { Sigmoid } from '../src/index';
import { core, inWasm, readF32, stageActivation } from './helpers';

/** Distance in units in the last place between two positive float32 values. */
function ulps(a: number, b: number): number {
  const bits = new Int32Array(new Float32Array([a, b]).buffer);
  return Math.abs(bits[0] - bits[1]);
}

/** Non-positive float32 values from 0 to −104 (e^x underflows to 0 below about −103.9), dense near 0, with
 *  the normal/subnormal boundary of e^x (x ≈ −87.3) and an odd count (a padded tail). */
const SWEEP = Float32Array.from([
  ...Array.from({ length: 20001 }, (_, i) => -i * 0.0052),
  ...Array.from({ length: 2001 }, (_, i) => -i * 1e-6),
  -87.0,
  -87.3,
  -87.34,
  -88,
  -100,
  -103.9,
  -200,
  -0,
]);

describe('vector exp', () => {
  it('is within 2 ulp of float64 Math.exp (rounded to float32) for x ≤ 0, subnormal results included', () => {
    const { ptrs, free } = inWasm(SWEEP, new Float32Array(SWEEP.length));
    core.expNonPositiveF32(ptrs[0], ptrs[1], SWEEP.length);
    const out = readF32(ptrs[1], SWEEP.length);
    free();
    let worst = 0;
    for (let i = 0; i < SWEEP.length; i++) worst = Math.max(worst, ulps(out[i], Math.fround(Math.exp(SWEEP[i]))));
    expect(worst).toBeLessThanOrEqual(2);
  });
});

describe('Sigmoid on the vector exp', () => {
  it('is within 2 ulp of its scalar reference, in the vector body and the padded tail', () => {
    const z = Float32Array.from([...SWEEP, ...SWEEP.map((v) => -v), NaN]);
    const { ptrs, free } = inWasm(z, new Float32Array(z.length), new Float32Array(z.length));
    const sigmoid = stageActivation(new Sigmoid());
    for (const n of [z.length, 1, 2, 3, 5]) {
      core.activationForward(sigmoid.kernel, sigmoid.params, ptrs[0], ptrs[1], 1, n);
      core.sigmoidForwardScalar(ptrs[0], ptrs[2], n);
      const [vector, scalar] = [readF32(ptrs[1], n), readF32(ptrs[2], n)];
      for (let i = 0; i < n; i++) {
        if (Number.isNaN(scalar[i])) expect(vector[i]).toBeNaN();
        else expect(ulps(vector[i], scalar[i]), `sigmoid(${z[i]}): ${vector[i]} vs ${scalar[i]}`).toBeLessThanOrEqual(2);
      }
    }
    sigmoid.free();
    free();
  });
});
