// Whole-network gradients against central finite differences in float64 and the float64 reference, over
// random networks that use every width-keeping layer of the registry — activations, and the layers with state
// (LayerNorm, BatchNorm1d in training mode, Dropout with the mask it drew) — options sampled from each
// kind's declaration.
import { describe, expect, it } from 'vitest';
import { MSELoss, init } from '../src/index';
import * as ref from './reference';
import { layerClass, randomNetwork, referenceOf, sampleOptions, widthKeepingTypes } from './kinds';

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
for (let c = 0; c < 3 * widthKeepingTypes.length; c++) {
  const depth = 1 + (c % 4);
  const widths = Array.from({ length: depth + 1 }, () => pick([1, 2, 3, 5, 7, 8, 13, 17, 33, 64]));
  const activations = Array.from({ length: depth }, (_, k) => {
    const type = widthKeepingTypes[(c + k) % widthKeepingTypes.length];
    return { type, options: pick(sampleOptions(layerClass(type), random, 2)) };
  });
  // Normalising 2 values gives ±1 whatever they are: LayerNorm over 2 features or BatchNorm1d over 2 rows
  // passes on a gradient of (almost) nothing, which float32 rounding swamps; 3 and more are well-conditioned
  // (BatchNorm1d in training mode needs 2 rows or more, as torch).
  activations.forEach((a, k) => {
    if (a.type === 'LayerNorm' && widths[k + 1] === 2) widths[k + 1] = 3;
  });
  const minBatch = activations.some((a) => a.type === 'BatchNorm1d') ? 3 : 1;
  cases.push({ widths, activations, batch: Math.max(minBatch, pick([1, 2, 3, 5, 7, 16, 33])), bias: c % 7 !== 3 });
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

      const layers = referenceOf(net, batch); // after the forward pass: with the Dropout masks it drew
      const refLoss = () => ref.mse(ref.forward(layers, x, batch).at(-1)!, target);
      const acts = ref.forward(layers, x, batch);
      const refGrads = ref.backward(layers, acts, ref.mseGrad(acts.at(-1)!, target), batch);
      expect(Math.abs(loss - refLoss())).toBeLessThan(1e-5 * Math.max(1, refLoss()));
      expect(ref.maxRelativeError(y, acts.at(-1)!)).toBeLessThan(1e-5);

      // every parameter of every layer (Linear, LayerNorm, BatchNorm1d), as a float64 array the reference reads
      const refParams = (k: number, name: string): Float64Array | null => {
        const layer = layers[k];
        if (layer.kind === 'linear') return name === 'weight' ? layer.weight : layer.bias;
        if (layer.kind === 'module') return layer.module.params[name] ?? null;
        return null;
      };
      const refGrad = (k: number, name: string) => (name === 'weight' ? refGrads.weight[k] : refGrads.bias[k]);
      const params = net.layers.flatMap((layer, k) => layer.parameters().map((p) => ({ k, p })));
      // the reference's backward against finite differences (checks the reference itself) ...
      for (const { k, p } of params) {
        const values = refParams(k, p.name)!;
        for (const i of sampleIndices(values.length, 12)) {
          const fd = ref.finiteDifference(refLoss, values, i);
          expect(Math.abs(fd - refGrad(k, p.name)![i])).toBeLessThan(1e-5 * Math.max(1, Math.abs(fd)));
        }
      }
      // ... and ours against both
      for (const { k, p } of params) {
        const expected = refGrad(k, p.name)!;
        expect(ref.maxRelativeError(p.grad, expected), `layers[${k}].${p.name} grad`).toBeLessThan(1e-4);
        const values = refParams(k, p.name)!;
        for (const i of sampleIndices(values.length, 6)) {
          const fd = ref.finiteDifference(refLoss, values, i);
          expect(Math.abs(p.grad[i] - fd)).toBeLessThan(1e-4 * Math.max(1e-2, maxAbs(expected)));
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
