// The SIMD GEMM microkernels against the scalar reference kernels beside them (assembly/gemm-reference.ts)
// over many shapes, ragged edges included, as XNNPACK tests its microkernels.
import { describe, expect, it } from 'vitest';
import { core, inWasm, readF32, stageActivation } from './helpers';
import { activationTypes, layerClass, sampleOptions } from './kinds';
import * as ref from './reference';

const random = ref.testRandom(31);
const SIZES = [1, 3, 4, 5, 7, 8, 9, 16, 33, 127];

function compare(simd: Float32Array, scalar: Float32Array) {
  // different summation orders: equal to float32 rounding of the accumulated products
  expect(ref.maxRelativeError(simd, scalar, 1)).toBeLessThan(1e-5);
}

describe('gemmNT (forward: C = A·Bᵀ + bias) against its scalar reference', () => {
  for (const m of [1, 2, 3, 4, 5, 9]) {
    for (const n of SIZES) {
      it(`M ${m}, N ${n}, K ∈ {1, 3, 4, 5, 7, 33, 127}, with and without bias`, () => {
        for (const k of [1, 3, 4, 5, 7, 33, 127]) {
          const a = ref.randomArray(random, m * k),
            b = ref.randomArray(random, n * k),
            bias = ref.randomArray(random, n);
          const mem = inWasm(a, b, bias, new Float32Array(m * n), new Float32Array(m * n));
          const [pa, pb, pbias, pc, pr] = mem.ptrs;
          for (const withBias of [pbias, 0]) {
            core.gemmNT(m, n, k, pa, k, pb, k, pc, n, withBias);
            core.gemmNTReference(m, n, k, pa, k, pb, k, pr, n, withBias);
            compare(readF32(pc, m * n), readF32(pr, m * n));
          }
          mem.free();
        }
      });
    }
  }
});

describe('gemmNN (backward: C (+)= A·B, A strided) against its scalar reference', () => {
  for (const m of [1, 2, 3, 4, 5, 7, 9]) {
    for (const n of SIZES) {
      it(`M ${m}, N ${n}, K ∈ {1, 2, 5, 8, 33, 127}, A row- and column-strided, overwrite and accumulate`, () => {
        for (const k of [1, 2, 5, 8, 33, 127]) {
          const a = ref.randomArray(random, m * k),
            b = ref.randomArray(random, k * n),
            start = ref.randomArray(random, m * n);
          const mem = inWasm(a, b, start, start);
          const [pa, pb, pc, pr] = mem.ptrs;
          for (const [rs, cs] of [
            [k, 1],
            [1, m],
          ]) {
            for (const accumulate of [0, 1]) {
              core.gemmNN(m, n, k, pa, rs, cs, pb, n, pc, n, accumulate);
              core.gemmNNReference(m, n, k, pa, rs, cs, pb, n, pr, n, accumulate);
              compare(readF32(pc, m * n), readF32(pr, m * n));
            }
          }
          mem.free();
        }
      });
    }
  }

  it('writes nothing outside C (guard values around it survive)', () => {
    for (const [m, n, k] of [
      [5, 9, 3],
      [3, 13, 7],
      [7, 8, 1],
    ]) {
      const guard = 12345.5;
      const c = new Float32Array(m * n + 8).fill(guard);
      const mem = inWasm(ref.randomArray(random, m * k), ref.randomArray(random, k * n), c);
      const [pa, pb, pc] = mem.ptrs;
      core.gemmNN(m, n, k, pa, k, 1, pb, n, pc + 16, n, 0);
      const after = readF32(pc, m * n + 8);
      expect(Array.from(after.subarray(0, 4))).toEqual([guard, guard, guard, guard]);
      expect(Array.from(after.subarray(4 + m * n))).toEqual([guard, guard, guard, guard]);
      core.gemmNT(m, n, k, pa, k, pb, k, pc + 16, n, 0);
      const again = readF32(pc, m * n + 8);
      expect(Array.from(again.subarray(0, 4))).toEqual([guard, guard, guard, guard]);
      expect(Array.from(again.subarray(4 + m * n))).toEqual([guard, guard, guard, guard]);
      mem.free();
    }
  });
});

describe('gemmNTActivated (forward with the bias-and-activation epilogue fused)', () => {
  for (const type of activationTypes) {
    it(`${type}: C = A·Bᵀ + bias and D = σ(C) over ragged shapes, K short and long`, () => {
      for (const options of sampleOptions(layerClass(type), random, 1)) {
        const layer = new (layerClass(type))(options);
        const act = ref.activationRef(type, { ...layer.options });
        const staged = stageActivation(layer);
        for (const [m, n, k] of [
          [1, 1, 1],
          [5, 3, 2],
          [7, 9, 3],
          [9, 8, 4],
          [6, 13, 33],
          [3, 1, 127],
        ]) {
          const a = ref.randomArray(random, m * k),
            b = ref.randomArray(random, n * k),
            bias = ref.randomArray(random, n);
          const mem = inWasm(a, b, bias, new Float32Array(m * n), new Float32Array(m * n), new Float32Array(m * n));
          const [pa, pb, pbias, pc, pd, pr] = mem.ptrs;
          core.gemmNTActivated(m, n, k, pa, k, pb, k, pc, n, pbias, staged.kernel, staged.params, pd);
          core.gemmNTReference(m, n, k, pa, k, pb, k, pr, n, pbias);
          const z = readF32(pr, m * n);
          compare(readF32(pc, m * n), z);
          expect(ref.maxRelativeError(readF32(pd, m * n), ref.activate(act, z, n), 1)).toBeLessThan(1e-5);
          mem.free();
        }
        staged.free();
      }
    });
  }
});
