// Each WASM kernel against the float64 reference, over ragged sizes (SIMD body and scalar tail).
import { describe, expect, it } from 'vitest';
import { RAGGED, getCore, inWasm, readF32 } from './helpers';
import * as ref from './reference';

const core = getCore();
const random = ref.testRandom(7);
const ACTIVATIONS: [ref.RefActivation, number][] = [
  ['identity', 1], ['relu', 2], ['leaky', 3], ['sigmoid', 4], ['tanh', 5],
];

describe('linear kernels', () => {
  for (const batch of [1, 3, 5]) {
    for (const inF of RAGGED) {
      for (const outF of [1, 4, 7, 33]) {
        it(`forward and backward, batch ${batch}, ${inF} → ${outF}`, () => {
          const x = ref.randomArray(random, batch * inF);
          const w = ref.randomArray(random, outF * inF);
          const b = ref.randomArray(random, outF);
          const gz = ref.randomArray(random, batch * outF);
          const gwStart = ref.randomArray(random, outF * inF);
          const gbStart = ref.randomArray(random, outF);
          const mem = inWasm(x, w, b, new Float32Array(batch * outF), gz, new Float32Array(batch * inF), gwStart, gbStart);
          const [px, pw, pb, pz, pgz, pgx, pgw, pgb] = mem.ptrs;

          core.linearForward(px, pw, pb, pz, batch, inF, outF);
          const z = ref.linearForward(x, w, b, batch, inF, outF);
          expect(ref.maxRelativeError(readF32(pz, batch * outF), z)).toBeLessThan(1e-6);

          core.linearBackwardInput(pgz, pw, pgx, batch, inF, outF);
          core.linearBackwardParams(pgz, px, pgw, pgb, batch, inF, outF);
          const layer: ref.RefLayer = { kind: 'linear', inF, outF, weight: Float64Array.from(w), bias: Float64Array.from(b) };
          const grads = ref.backward([layer], [Float64Array.from(x)], gz, batch);
          expect(ref.maxRelativeError(readF32(pgx, batch * inF), grads.input)).toBeLessThan(1e-6);
          // parameter gradients accumulate onto what was there
          expect(ref.maxRelativeError(readF32(pgw, outF * inF), grads.weight[0]!.map((g, i) => g + gwStart[i]))).toBeLessThan(1e-6);
          expect(ref.maxRelativeError(readF32(pgb, outF), grads.bias[0]!.map((g, i) => g + gbStart[i]))).toBeLessThan(1e-6);
          mem.free();
        });
      }
    }
  }

  it('forward without bias (null pointer) adds nothing', () => {
    const x = ref.randomArray(random, 6), w = ref.randomArray(random, 6);
    const mem = inWasm(x, w, new Float32Array(2));
    core.linearForward(mem.ptrs[0], mem.ptrs[1], 0, mem.ptrs[2], 2, 3, 2);
    expect(ref.maxRelativeError(readF32(mem.ptrs[2], 4), ref.linearForward(x, w, null, 2, 3, 2))).toBeLessThan(1e-6);
    mem.free();
  });
});

describe('activation kernels', () => {
  for (const [name, kind] of ACTIVATIONS) {
    for (const n of [...RAGGED, 37]) {
      it(`${name} forward and backward, n = ${n}`, () => {
        const slope = 0.2;
        const z = ref.randomArray(random, n, 4);
        if (n > 2) z[1] = 0; // the kink: PyTorch's ReLU gradient is 0 there
        const ga = ref.randomArray(random, n);
        const mem = inWasm(z, new Float32Array(n), ga, new Float32Array(n));
        const [pz, pa, pga, pgz] = mem.ptrs;
        core.activationForward(kind, slope, pz, pa, 1, n);
        const a = Array.from(z, (v) => ref.activate(name, v, slope));
        expect(ref.maxRelativeError(readF32(pa, n), a)).toBeLessThan(2e-6);
        core.activationBackward(kind, slope, pz, pa, pga, pgz, 1, n);
        const gz = Array.from(z, (v, i) => ga[i] * ref.activationDerivative(name, v, slope));
        // σ' from the output (1 − a², a(1 − a)) cancels near saturation: its error scales with |∂L/∂a|
        const gradScale = Math.max(...Array.from(ga, Math.abs));
        expect(ref.maxRelativeError(readF32(pgz, n), gz, gradScale)).toBeLessThan(2e-6);
        mem.free();
      });
    }
  }

  it('sigmoid and tanh saturate without NaN at ±100', () => {
    const z = Float32Array.of(-100, 100, -100, 100, 0);
    for (const [name, kind] of ACTIVATIONS.filter(([n]) => n === 'sigmoid' || n === 'tanh')) {
      const mem = inWasm(z, new Float32Array(5));
      core.activationForward(kind, 0, mem.ptrs[0], mem.ptrs[1], 1, 5);
      expect(Array.from(readF32(mem.ptrs[1], 5))).toEqual(Array.from(z, (v) => Math.fround(ref.activate(name, v))));
      mem.free();
    }
  });
});

describe('MSE kernels', () => {
  for (const n of [...RAGGED, 100]) {
    for (const reduction of ['mean', 'sum'] as const) {
      it(`loss and gradient, n = ${n}, ${reduction}`, () => {
        const pred = ref.randomArray(random, n, 3), target = ref.randomArray(random, n, 3);
        const mem = inWasm(pred, target, new Float32Array(n));
        const code = reduction === 'mean' ? 0 : 1;
        const loss = core.lossForward(1, code, 0, mem.ptrs[0], mem.ptrs[1], n, 1);
        expect(Math.abs(loss - ref.mse(pred, target, reduction)) / ref.mse(pred, target, reduction)).toBeLessThan(1e-6);
        core.lossBackward(1, code, 0, mem.ptrs[0], mem.ptrs[1], mem.ptrs[2], n, 1);
        expect(ref.maxRelativeError(readF32(mem.ptrs[2], n), ref.mseGrad(pred, target, reduction))).toBeLessThan(1e-6);
        mem.free();
      });
    }
  }
});

describe('finiteness check', () => {
  for (const n of [1, 4, 5, 9, 33]) {
    for (const bad of [NaN, Infinity, -Infinity]) {
      it(`finds ${bad} at every position of ${n} floats`, () => {
        for (let at = 0; at < n; at++) {
          const values = ref.randomArray(random, n);
          values[at] = bad;
          if (at + 1 < n) values[n - 1] = NaN; // only the first one is reported
          const mem = inWasm(values);
          expect(core.firstNonFiniteF32(mem.ptrs[0], n)).toBe(at);
          mem.free();
        }
      });
    }
    it(`reports -1 for ${n} finite floats, extremes included`, () => {
      const values = ref.randomArray(random, n);
      values[0] = 3.4028234663852886e38;
      values[n - 1] = -1e-45;
      const mem = inWasm(values);
      expect(core.firstNonFiniteF32(mem.ptrs[0], n)).toBe(-1);
      mem.free();
    });
  }
});

describe('random numbers', () => {
  it('uniform values stay in [low, high) and have the right mean; normals have mean 0 and std 1', () => {
    const state = inWasm(new Float32Array(4));
    core.rngSeed(state.ptrs[0], 42);
    const n = 20000;
    const out = inWasm(new Float32Array(n));
    core.rngUniformF32(state.ptrs[0], out.ptrs[0], n, -2, 3);
    const u = readF32(out.ptrs[0], n);
    expect(Math.min(...u)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...u)).toBeLessThan(3);
    expect(Math.abs(u.reduce((a, b) => a + b, 0) / n - 0.5)).toBeLessThan(0.05);
    core.rngNormalF32(state.ptrs[0], out.ptrs[0], n, 0, 1);
    const g = readF32(out.ptrs[0], n);
    const mean = g.reduce((a, b) => a + b, 0) / n;
    const std = Math.sqrt(g.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(std - 1)).toBeLessThan(0.03);
    state.free();
    out.free();
  });
});
