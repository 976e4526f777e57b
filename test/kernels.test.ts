// Each WASM kernel against the float64 reference, over ragged sizes (SIMD body and scalar tail): the Linear
// products, then every activation and every loss of the registries, with options sampled from each kind's
// declaration.
import { describe, expect, it } from 'vitest';
import { RAGGED, core, inWasm, readF32, stageActivation } from './helpers';
import { beginStaging } from '../src/core';
import { Loss } from '../src/losses';
import * as ref from './reference';
import { activationTypes, layerClass, lossClass, lossTypes, makeLayer, moduleTypes, referenceOf, sampleOptions } from './kinds';
import { type BatchNorm1d, Linear, Network } from '../src/index';

const random = ref.testRandom(7);

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
          core.linearBackwardParams(pgz, px, pgw, pgb, batch, inF, outF, 1);
          const layer: ref.RefLayer = { kind: 'linear', inF, outF, weight: Float64Array.from(w), bias: Float64Array.from(b) };
          const grads = ref.backward([layer], [Float64Array.from(x)], gz, batch);
          expect(ref.maxRelativeError(readF32(pgx, batch * inF), grads.input)).toBeLessThan(1e-6);
          // parameter gradients accumulate onto what was there
          expect(
            ref.maxRelativeError(
              readF32(pgw, outF * inF),
              grads.weight[0]!.map((g, i) => g + gwStart[i]),
            ),
          ).toBeLessThan(1e-6);
          expect(
            ref.maxRelativeError(
              readF32(pgb, outF),
              grads.bias[0]!.map((g, i) => g + gbStart[i]),
            ),
          ).toBeLessThan(1e-6);
          mem.free();
        });
      }
    }
  }

  it('forward without bias (null pointer) adds nothing', () => {
    const x = ref.randomArray(random, 6),
      w = ref.randomArray(random, 6);
    const mem = inWasm(x, w, new Float32Array(2));
    core.linearForward(mem.ptrs[0], mem.ptrs[1], 0, mem.ptrs[2], 2, 3, 2);
    expect(ref.maxRelativeError(readF32(mem.ptrs[2], 4), ref.linearForward(x, w, null, 2, 3, 2))).toBeLessThan(1e-6);
    mem.free();
  });
});

describe('activation kernels', () => {
  for (const type of activationTypes) {
    it(`${type}: forward and backward against float64, its kinks included, n ∈ ragged sizes`, () => {
      for (const options of sampleOptions(layerClass(type), random, 3)) {
        const layer = new (layerClass(type))(options);
        const act = ref.activationRef(type, { ...layer.options });
        const staged = stageActivation(layer);
        for (const n of [...RAGGED, 37]) {
          const width = 'rowwise' in act ? Math.min(n, 5) : n;
          const rows = Math.floor(n / width),
            count = rows * width;
          const z = ref.randomArray(random, count, 4);
          if ('elementwise' in act)
            act.elementwise.kinks.forEach((kink, i) => {
              if (i + 1 < count) z[i + 1] = kink;
            });
          const ga = ref.randomArray(random, count);
          const mem = inWasm(z, new Float32Array(count), ga, new Float32Array(count));
          const [pz, pa, pga, pgz] = mem.ptrs;
          core.activationForward(staged.kernel, staged.params, pz, pa, rows, width);
          expect(ref.maxRelativeError(readF32(pa, count), ref.activate(act, z, width))).toBeLessThan(2e-6);
          core.activationBackward(staged.kernel, staged.params, pz, pa, pga, pgz, rows, width);
          // σ' from the output (1 − a², a(1 − a)) cancels near saturation: its error scales with |∂L/∂a|
          const gradScale = Math.max(...Array.from(ga, Math.abs));
          expect(ref.maxRelativeError(readF32(pgz, count), ref.activationBackward(act, z, ga, width), gradScale)).toBeLessThan(
            4e-6,
          );
          mem.free();
        }
        staged.free();
      }
    });
  }

  it('saturating activations stay finite at ±100', () => {
    for (const type of activationTypes) {
      const layer = new (layerClass(type))();
      const act = ref.activationRef(type, { ...layer.options });
      const staged = stageActivation(layer);
      const z = Float32Array.of(-100, 100, -100, 100, 0);
      const mem = inWasm(z, new Float32Array(5));
      core.activationForward(staged.kernel, staged.params, mem.ptrs[0], mem.ptrs[1], 1, 5);
      const out = readF32(mem.ptrs[1], 5);
      expect(out.every(Number.isFinite), type).toBe(true);
      expect(ref.maxRelativeError(out, ref.activate(act, z, 5), 1)).toBeLessThan(1e-6);
      mem.free();
      staged.free();
    }
  });
});

describe('kernels of the layers with state (LayerNorm, BatchNorm1d, Dropout)', () => {
  // each behind an identity Linear, so that its input is x and ∂L/∂x is its own input gradient, exactly
  const random = ref.testRandom(13);
  for (const type of moduleTypes) {
    for (const training of [true, false]) {
      it(`${type} in ${training ? 'training' : 'eval'} mode: forward, ∂L/∂x and parameter gradients against float64, ragged sizes`, () => {
        for (const options of sampleOptions(layerClass(type), random, 3)) {
          for (const width of [1, 3, 4, 5, 9, 33]) {
            // BatchNorm1d over 2 rows gives ±1 whatever they are: a gradient of almost nothing, all rounding
            for (const batch of type === 'BatchNorm1d' ? [3, 7, 16] : [2, 3, 7, 16]) {
              const identity = new Linear(width, width);
              const layer = makeLayer(type, width, options);
              const net = new Network([identity, layer], { seed: width * 100 + batch });
              identity.weight.fill(0);
              for (let i = 0; i < width; i++) identity.weight[i * width + i] = 1;
              identity.bias!.fill(0);
              net.train(training);
              // running statistics away from their start, and parameters away from 1 and 0
              for (const b of layer.buffers()) {
                if (b.data instanceof Float32Array)
                  b.data.set(ref.randomArray(random, b.size).map((v) => (b.name === 'running_var' ? 0.5 + Math.abs(v) : v)));
              }
              for (const p of layer.parameters()) p.data.set(ref.randomArray(random, p.size, 2));
              const x = ref.randomArray(random, batch * width, 3);
              const gradOut = ref.randomArray(random, batch * width);
              const before = layer.buffers().map((b) => Array.from(b.data as Float32Array, Number));
              const model = referenceOf(net, 0)[1] as Extract<ref.RefLayer, { kind: 'module' }>; // its state before the pass
              net.zeroGrad();
              const y = net.forward(x);
              const dx = net.backward(gradOut);
              const reference = referenceOf(net, batch)[1] as Extract<ref.RefLayer, { kind: 'module' }>;
              const module = type === 'Dropout' ? reference.module : model.module; // Dropout: with the mask it drew
              const scale = Math.max(1, ...Array.from(gradOut, Math.abs));
              expect(ref.maxRelativeError(y, module.forward(x, batch, width))).toBeLessThan(4e-6);
              const back = module.backward(x, gradOut, batch, width);
              expect(ref.maxRelativeError(dx, back.input, 1e-3 * scale)).toBeLessThan(2e-5);
              for (const p of layer.parameters()) expect(ref.maxRelativeError(p.grad, back.params[p.name])).toBeLessThan(2e-5);
              // running statistics: updated by a training pass (torch's rule), kept in eval mode
              if (layer.buffers().length) {
                const [mean, variance, tracked] = layer.buffers();
                const expectedMean = Float64Array.from(before[0]),
                  expectedVar = Float64Array.from(before[1]);
                if (training) {
                  const momentum = Math.fround((layer as BatchNorm1d).options.momentum);
                  ref.batchNormRunningUpdate(x, batch, width, momentum, expectedMean, expectedVar);
                }
                expect(ref.maxRelativeError(mean.data as Float32Array, expectedMean)).toBeLessThan(1e-6);
                expect(ref.maxRelativeError(variance.data as Float32Array, expectedVar)).toBeLessThan(1e-6);
                expect((tracked.data as BigInt64Array)[0]).toBe(training ? 1n : 0n);
              }
              net.dispose();
            }
          }
        }
      });
    }
  }
});

describe('loss kernels', () => {
  for (const type of lossTypes) {
    const cls = lossClass(type);
    const forms: ref.TargetForm[] = [];
    const kernels = cls.kind.kernels as { classes?: string; values?: string };
    if (kernels.classes) forms.push('classes');
    if (kernels.values) forms.push('values');
    for (const form of forms) {
      it(`${type} with ${form === 'classes' ? 'class indices' : 'value'} targets: loss and ∂L/∂pred against float64, mean and sum`, () => {
        for (const [rows, width] of [
          [1, 1],
          [3, 4],
          [5, 1],
          [8, 7],
          [33, 3],
        ]) {
          if (form === 'classes' && width < 2) continue;
          for (const sampled of sampleOptions(cls, random, 3, { classes: width })) {
            for (const reduction of ['mean', 'sum']) {
              if (form === 'values') delete sampled.ignoreIndex; // for class-index targets only, as in torch
              const loss: Loss = new cls({ ...sampled, reduction });
              checkLossKernel(type, loss, form, rows, width);
            }
          }
        }
      });
    }
  }
});

/** The float64 reference's gradient is the derivative of its loss (central differences), and the kernel
 *  agrees with both. */
function checkLossKernel(type: string, loss: Loss, form: ref.TargetForm, rows: number, width: number) {
  const options = { ...loss.options } as Record<string, unknown>;
  const binary = type.startsWith('BCE');
  const pred =
    binary && type === 'BCELoss'
      ? Float32Array.from({ length: rows * width }, () => 0.02 + 0.96 * random())
      : ref.randomArray(random, rows * width, 3);
  let target: Float32Array | Int32Array;
  if (form === 'classes') {
    target = Int32Array.from({ length: rows }, () => Math.floor(random() * width));
    if (rows > 2) target[1] = options.ignoreIndex as number; // a row that counts for nothing
    if (rows > 2) target[2] = 0 === options.ignoreIndex ? 1 : 0;
  } else if (binary || type === 'CrossEntropyLoss') {
    target = Float32Array.from({ length: rows * width }, () => random());
  } else {
    target = ref.randomArray(random, rows * width, 3);
    if (rows * width > 2) target[2] = pred[2]; // a tie: L1's gradient is 0 there
  }
  const expected = ref.lossRef(type)(pred, target, rows, width, options, form);
  if (Number.isFinite(expected.loss)) {
    const p64 = Float64Array.from(pred);
    for (const i of [0, rows * width - 1]) {
      if (form === 'values' && i === 2) continue;
      const fd = ref.finiteDifference(() => ref.lossRef(type)(p64, target, rows, width, options, form).loss, p64, i, 1e-5);
      expect(Math.abs(fd - expected.grad[i]), `${type} reference gradient at ${i}`).toBeLessThan(
        1e-5 * Math.max(1, Math.abs(fd)),
      );
    }
  }
  const prepared = loss.prepareTarget(target, rows, width);
  const staging = beginStaging();
  const pp = staging.floats(rows * width),
    pt = staging.floats(rows * width),
    pg = staging.floats(rows * width);
  new Float32Array(core.memory.buffer, pp, rows * width).set(pred);
  loss.stageTarget(prepared, pt, width);
  const config = loss.stageConfig(prepared.kernel, (bytes) => staging.alloc(bytes));
  const sum = core.lossSum(config, pp, pt, rows, width),
    count = core.lossCount(config, pt, rows, width);
  const value = loss.reduction === 'mean' ? sum / count : sum;
  if (!Number.isFinite(expected.loss)) {
    expect(Number.isFinite(value)).toBe(false); // e.g. every row ignored: 0/0 as torch
    return;
  }
  expect(Math.abs(value - expected.loss), `${type} loss`).toBeLessThan(1e-5 * Math.max(1, Math.abs(expected.loss)));
  core.lossBackward(config, pp, pt, pg, rows, width, count);
  expect(ref.maxRelativeError(readF32(pg, rows * width), expected.grad, 1e-3), `${type} gradient`).toBeLessThan(1e-5);
}

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
