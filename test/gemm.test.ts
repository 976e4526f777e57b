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

/** Index of the first float whose bits differ, or −1. */
function firstDifference(a: Float32Array, b: Float32Array): number {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length),
    y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  if (x.length !== y.length) return Math.min(x.length, y.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

/** gemmNN computes each output as the scalar reference does — one multiply and one add per step of K, in
 *  order, then the old value of C added — whatever its tiles, packing and blocks: the same bits. */
function expectSameBits(simd: Float32Array, scalar: Float32Array, what: string) {
  const at = firstDifference(simd, scalar);
  expect(at, `${what}: first differing float at ${at}: ${simd[at]} vs ${scalar[at]}`).toBe(-1);
}

/** The forward packs under gemmNTPacks's rule (assembly/gemm.ts): then each output is bias + the products in
 *  order along K, the scalar reference's own sequence (same bits); otherwise 4-lane dot products (float32
 *  rounding of a different order). */
function forwardPacks(m: number, n: number, k: number): boolean {
  const n8 = Math.ceil(n / 8) * 8;
  return m >= 8 && k >= 4 && k <= 4096 && (n8 - n) * 8 <= n8 && m * n * k >= 16384;
}
function compareNT(m: number, n: number, k: number, simd: Float32Array, scalar: Float32Array) {
  if (forwardPacks(m, n, k)) expectSameBits(simd, scalar, `M ${m} N ${n} K ${k}`);
  else compare(simd, scalar);
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
            compareNT(m, n, k, readF32(pc, m * n), readF32(pr, m * n));
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
              expectSameBits(readF32(pc, m * n), readF32(pr, m * n), `rs ${rs} cs ${cs} accumulate ${accumulate}`);
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

// Wide layers: shapes that cross gemmNN's column blocks (B panels packed per block of columns, ~62 panels at
// K = 64, 16 per block of K), its row blocks (A tiles packed per 16 KiB), its blocks of K when it overwrites
// C (none up to K = 384, then equal blocks of at most 256: 385 = 2 × 193, 513 = 3 × 171, 4096 = 16 × 256,
// the chains resumed from C), the K limit of packing (4096) and ragged edges (a last tile of 1, 2 or 3
// rows; gemmNNColumns's few-rows path); A as dX has it (rows along K), as dW has it (dZᵀ) and with other strides; B and C inside wider
// matrices (ldb, ldc > N).
const WIDE: [number, number, number][] = [
  [2048, 256, 64],
  [10, 2048, 64],
  [64, 2048, 10],
  [64, 256, 2048],
  [61, 2047, 67],
  [2045, 13, 33],
  [7, 1029, 2049],
  [129, 517, 1023],
  [6, 9, 4097],
  [5, 2048, 1],
  [64, 24, 384],
  [5, 24, 385],
  [6, 17, 513],
  [7, 33, 512],
  [66, 40, 769],
  [13, 31, 1025],
  [9, 8, 4096],
  [64, 256, 1024],
  // few rows with A's rows adjacent (dW of a narrow layer): B read in place while ldb ≤ 256, packed beyond;
  // tiles of 4, 2 and 1 rows
  [10, 250, 64],
  [16, 253, 33],
  [13, 37, 5],
  [15, 120, 1],
  [10, 254, 64],
  [14, 2048, 64],
];

describe('gemmNN on wide shapes (cache-blocked paths) against its scalar reference, bit for bit', () => {
  for (const [m, n, k] of WIDE) {
    it(`M ${m}, N ${n}, K ${k}: A rows along K, A = a transpose, A strided both ways; overwrite and accumulate`, () => {
      const ldb = n + 3,
        ldc = n + 5;
      const a = ref.randomArray(random, 2 * m * (k + 1)),
        b = ref.randomArray(random, k * ldb),
        start = ref.randomArray(random, m * ldc);
      const mem = inWasm(a, b, start, start);
      const [pa, pb, pc, pr] = mem.ptrs;
      for (const [rs, cs] of [
        [k, 1],
        [1, m],
        [2 * (k + 1), 2],
      ]) {
        for (const accumulate of [0, 1]) {
          core.gemmNN(m, n, k, pa, rs, cs, pb, ldb, pc, ldc, accumulate);
          core.gemmNNReference(m, n, k, pa, rs, cs, pb, ldb, pr, ldc, accumulate);
          expectSameBits(readF32(pc, m * ldc), readF32(pr, m * ldc), `rs ${rs} cs ${cs} accumulate ${accumulate}`);
        }
      }
      mem.free();
    });
  }
});

describe('gemmNT on wide shapes against its scalar reference, with a ReLU epilogue', () => {
  // column blocks of transposed W panels (16 columns at K = 2048), ragged N and K, the dot path (M ≤ 4, K > 4096)
  const relu = stageActivation(new (layerClass('ReLU'))());
  for (const [m, n, k] of [
    [64, 2048, 256],
    [64, 10, 2048],
    [5, 2047, 2049],
    [67, 1031, 1023],
    [2, 4096, 3],
    [9, 13, 4097],
    [3, 515, 515],
    [8, 64, 32],
    [13, 57, 65],
    [33, 24, 21],
    [129, 127, 4],
    [16, 8, 4096],
  ]) {
    it(`M ${m}, N ${n}, K ${k}`, () => {
      const a = ref.randomArray(random, m * k),
        b = ref.randomArray(random, n * k),
        bias = ref.randomArray(random, n);
      const mem = inWasm(a, b, bias, new Float32Array(m * n), new Float32Array(m * n), new Float32Array(m * n));
      const [pa, pb, pbias, pc, pd, pr] = mem.ptrs;
      core.gemmNTActivated(m, n, k, pa, k, pb, k, pc, n, pbias, relu.kernel, relu.params, pd);
      core.gemmNTReference(m, n, k, pa, k, pb, k, pr, n, pbias);
      const z = readF32(pr, m * n);
      compareNT(m, n, k, readF32(pc, m * n), z);
      expect(
        ref.maxRelativeError(
          readF32(pd, m * n),
          Array.from(z, (v) => Math.max(v, 0)),
          1,
        ),
      ).toBeLessThan(1e-5);
      mem.free();
    });
  }
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
          [17, 31, 40],
          [12, 64, 64],
        ]) {
          const a = ref.randomArray(random, m * k),
            b = ref.randomArray(random, n * k),
            bias = ref.randomArray(random, n);
          const mem = inWasm(a, b, bias, new Float32Array(m * n), new Float32Array(m * n), new Float32Array(m * n));
          const [pa, pb, pbias, pc, pd, pr] = mem.ptrs;
          core.gemmNTActivated(m, n, k, pa, k, pb, k, pc, n, pbias, staged.kernel, staged.params, pd);
          core.gemmNTReference(m, n, k, pa, k, pb, k, pr, n, pbias);
          const z = readF32(pr, m * n);
          compareNT(m, n, k, readF32(pc, m * n), z);
          expect(ref.maxRelativeError(readF32(pd, m * n), ref.activate(act, z, n), 1)).toBeLessThan(1e-5);
          mem.free();
        }
        staged.free();
      }
    });
  }
});
