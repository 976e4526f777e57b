// The small-network SIMD kernels (assembly/small.ts) against the scalar references beside them, bit for bit,
// over a list of shapes (vector bodies and scalar tails, short and dot-product K, batch 1 and more), as
// XNNPACK tests its microkernels.
import { describe, expect, it } from 'vitest';
import { core, inWasm, readF32 } from './helpers';
import * as ref from './reference';

const random = ref.testRandom(47);
/** [batch, k (inputs), n (outputs)] */
const SHAPES: [number, number, number][] = [];
// widths across one strip of 16 lanes (tails of 1–3 lanes, whole vectors, a second strip), batches long enough
// for every row but the last to be read as whole vectors
for (const batch of [1, 2, 5, 9, 37])
  for (const k of [1, 2, 3, 4, 5, 8, 10, 16, 17, 30]) for (const n of [1, 3, 4, 7, 8, 10, 16, 17, 30]) SHAPES.push([batch, k, n]);

const values = (count: number) => Float32Array.from({ length: count }, () => random() * 2 - 1);

function expectSameBits(simd: Float32Array, scalar: Float32Array, what: string) {
  const a = new Uint32Array(simd.buffer),
    b = new Uint32Array(scalar.buffer);
  const at = a.findIndex((v, i) => v !== b[i]);
  expect(at, `${what}: first differing float at ${at}: ${simd[at]} vs ${scalar[at]}`).toBe(-1);
}

describe('small-network kernels against their scalar references', () => {
  it('forward: short K (< 4) and dot products, with and without a bias', () => {
    for (const [batch, k, n] of SHAPES) {
      for (const withBias of [true, false]) {
        const { ptrs, free } = inWasm(
          values(batch * k),
          values(n * k),
          values(n),
          new Float32Array(batch * n),
          new Float32Array(batch * n),
        );
        const [x, w, bias, simd, scalar] = ptrs;
        const b = withBias ? bias : 0;
        if (k < 4) {
          core.smallLinearForwardShortK(x, w, b, simd, batch, k, n);
          core.smallLinearForwardShortKScalar(x, w, b, scalar, batch, k, n);
        } else {
          core.smallLinearForwardDot(x, w, b, simd, batch, k, n);
          core.smallLinearForwardDotScalar(x, w, b, scalar, batch, k, n);
        }
        expectSameBits(readF32(simd, batch * n), readF32(scalar, batch * n), `forward ${batch}×${k}→${n} bias ${withBias}`);
        free();
      }
    }
  });

  it('backward: dW and dBias overwritten, dX', () => {
    for (const [batch, k, n] of SHAPES) {
      const { ptrs, free } = inWasm(
        values(batch * n),
        values(batch * k),
        values(n * k),
        values(n * k),
        values(n),
        values(n * k),
        values(n),
        new Float32Array(batch * k),
        new Float32Array(batch * k),
      );
      const [dz, x, w, dwSimd, dbSimd, dwScalar, dbScalar, dxSimd, dxScalar] = ptrs;
      core.smallLinearBackwardParams(dz, x, dwSimd, dbSimd, batch, k, n);
      core.smallLinearBackwardParamsScalar(dz, x, dwScalar, dbScalar, batch, k, n);
      core.smallLinearBackwardInput(dz, w, dxSimd, batch, k, n);
      core.smallLinearBackwardInputScalar(dz, w, dxScalar, batch, k, n);
      const what = `backward ${batch}×${k}→${n}`;
      expectSameBits(readF32(dwSimd, n * k), readF32(dwScalar, n * k), `${what} dW`);
      expectSameBits(readF32(dbSimd, n), readF32(dbScalar, n), `${what} dBias`);
      expectSameBits(readF32(dxSimd, batch * k), readF32(dxScalar, batch * k), `${what} dX`);
      free();
    }
  });
});
