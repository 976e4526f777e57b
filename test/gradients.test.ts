// Whole-network gradients against central finite differences in float64 and the float64 reference, over
// random networks that use every activation of the registry (options sampled from its declaration).
import { describe, expect, it } from 'vitest';
import { MSELoss, Linear, init } from '../src/index';
import * as ref from './reference';
import { activationTypes, layerClass, randomNetwork, referenceOf, sampleOptions } from './kinds';

await init();
const random = ref.testRandom(2024);
const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];
const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));

type Act = { type: string; options: Record<string, unknown> };
interface Case {
  widths: number[];
  activations: Act[];
  batch: number;
  bias: boolean;
}

// depth 1–4, widths 1–64 (ragged), batch 1–33, every activation at every position over the cases
const cases: Case[] = [];
for (let c = 0; c < 3 * activationTypes.length; c++) {
  const depth = 1 + (c % 4);
  const widths = Array.from({ length: depth + 1 }, () => pick([1, 2, 3, 5, 7, 8, 13, 17, 33, 64]));
  const activations = Array.from({ length: depth }, (_, k) => {
    const type = activationTypes[(c + k) % activationTypes.length];
    return { type, options: pick(sampleOptions(layerClass(type), random, 2)) };
  });
  cases.push({ widths, activations, batch: pick([1, 2, 3, 5, 7, 16, 33]), bias: c % 7 !== 3 });
}

describe('network gradients', () => {
  for (const { widths, activations, batch, bias } of cases) {
    it(`${widths.join('→')} [${activations.map((a) => a.type).join(', ')}] batch ${batch}${bias ? '' : ' no bias'}`, () => {
      const net = randomNetwork(widths, activations, int(0, 1e6), bias);
      const x = ref.randomArray(random, batch * widths[0], 2);
      const target = ref.randomArray(random, batch * widths.at(-1)!, 2);
      const mse = new MSELoss();

      net.zeroGrad();
      const y = net.forward(x);
      const loss = mse.forward(y, target);
      const gradX = net.backward(mse.backward());

      const layers = referenceOf(net);
      const refLoss = () => ref.mse(ref.forward(layers, x, batch).at(-1)!, target);
      const acts = ref.forward(layers, x, batch);
      const refGrads = ref.backward(layers, acts, ref.mseGrad(acts.at(-1)!, target), batch);
      expect(Math.abs(loss - refLoss())).toBeLessThan(1e-5 * Math.max(1, refLoss()));
      expect(ref.maxRelativeError(y, acts.at(-1)!)).toBeLessThan(1e-5);

      // the reference's backward against finite differences (checks the reference itself) ...
      const linears = net.layers.map((l, k) => [l, k] as const).filter(([l]) => l instanceof Linear);
      for (const [, k] of linears) {
        const layer = layers[k] as Extract<ref.RefLayer, { kind: 'linear' }>;
        for (const i of sampleIndices(layer.weight.length, 12)) {
          const fd = ref.finiteDifference(refLoss, layer.weight, i);
          expect(Math.abs(fd - refGrads.weight[k]![i])).toBeLessThan(1e-5 * Math.max(1, Math.abs(fd)));
        }
      }
      // ... and ours against both
      for (const [layer, k] of linears) {
        const lin = layer as Linear;
        expect(ref.maxRelativeError(lin.weightGrad, refGrads.weight[k]!)).toBeLessThan(1e-4);
        if (lin.biasGrad) expect(ref.maxRelativeError(lin.biasGrad, refGrads.bias[k]!)).toBeLessThan(1e-4);
        const refLayer = layers[k] as Extract<ref.RefLayer, { kind: 'linear' }>;
        for (const i of sampleIndices(refLayer.weight.length, 6)) {
          const fd = ref.finiteDifference(refLoss, refLayer.weight, i);
          expect(Math.abs(lin.weightGrad[i] - fd)).toBeLessThan(1e-4 * Math.max(1e-2, maxAbs(refGrads.weight[k]!)));
        }
      }
      const xs = Float64Array.from(x);
      const lossOfX = () => ref.mse(ref.forward(layers, xs, batch).at(-1)!, target);
      for (const i of sampleIndices(xs.length, 6)) {
        const fd = ref.finiteDifference(lossOfX, xs, i);
        expect(Math.abs(gradX[i] - fd)).toBeLessThan(1e-4 * Math.max(1e-2, maxAbs(refGrads.input)));
      }
      net.dispose();
    });
  }
});

function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]));
  return m;
}

function sampleIndices(length: number, count: number): number[] {
  if (length <= count) return Array.from({ length }, (_, i) => i);
  return Array.from({ length: count }, () => Math.floor(random() * length));
}
