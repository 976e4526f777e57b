// The small-network path of a training step (assembly/small.ts) against the GEMM path: a network trained with
// trainStep (the small path for these shapes) and its clone trained with forward, loss.forward/backward,
// backward and optimizer.step (always the GEMM path) must hold bit-identical parameters after every step.
import { describe, expect, it } from 'vitest';
import { BackpropError, type Layer, Generator, Linear, MSELoss, Network, ReLU, SGD, Sigmoid, Tanh, init } from '../src/index';

await init();

/** [inFeatures, hidden widths…, outFeatures, batch] — short K (< 4) and dot-product K, odd widths, batch 1
 *  and larger, the widest layer the small path takes (16 × 16). */
const SHAPES: number[][] = [
  [2, 8, 1, 1],
  [1, 10, 1, 100],
  [3, 5, 2, 7],
  [4, 4, 4, 4],
  [7, 13, 3, 9],
  [16, 16, 16, 3],
  [5, 1, 6, 2],
  [8, 3, 9, 11],
];
const ACTIVATIONS = [() => new Sigmoid(), () => new ReLU(), () => new Tanh()];

function layersFor(widths: number[], k: number): Layer[] {
  const layers: Layer[] = [];
  for (let i = 0; i + 1 < widths.length; i++) {
    layers.push(new Linear(widths[i], widths[i + 1], { bias: i !== 1 || k !== 2 }));
    layers.push(ACTIVATIONS[(i + k) % ACTIVATIONS.length]());
  }
  return layers;
}

function bits(net: Network): Uint32Array[] {
  return net.parameters().map((p) => new Uint32Array(Float32Array.from(p.data).buffer));
}

describe('small-network training steps', () => {
  SHAPES.forEach((shape, k) => {
    const widths = shape.slice(0, -1);
    const batch = shape[shape.length - 1];
    it(`${widths.join(' → ')}, batch ${batch}: bit-identical to the GEMM path`, () => {
      const small = new Network(layersFor(widths, k), { seed: 10 + k });
      const gemm = small.clone();
      const g = new Generator(k + 1);
      const x = g.normal(batch * widths[0]);
      const y = g.uniform(batch * widths[widths.length - 1]);
      g.dispose();
      const loss = new MSELoss();
      const smallOpt = new SGD(small.parameters(), { lr: 0.3, momentum: 0.5 });
      const gemmOpt = new SGD(gemm.parameters(), { lr: 0.3, momentum: 0.5 });
      for (let step = 0; step < 5; step++) {
        const smallLoss = small.trainStep(x, y, loss, smallOpt);
        gemmOpt.zeroGrad();
        const pred = gemm.forward(x);
        const gemmLoss = loss.forward(pred, y, widths[widths.length - 1]);
        gemm.backward(loss.backward());
        gemmOpt.step();
        expect(smallLoss).toBe(gemmLoss);
        expect(bits(small)).toEqual(bits(gemm));
      }
      for (const n of [small, gemm]) n.dispose();
    });
  });
});

describe("trainStep's Float32Array path", () => {
  const cases: [string, Float32Array, Float32Array, string][] = [
    ['NaN in x', Float32Array.of(0, NaN), Float32Array.of(1), 'NON_FINITE'],
    ['Infinity in the target', Float32Array.of(0, 1), Float32Array.of(Infinity), 'NON_FINITE'],
    [
      '−Infinity in x past its first four values',
      Float32Array.of(0, 1, 2, 3, 4, -Infinity, 6, 7),
      new Float32Array(4),
      'NON_FINITE',
    ],
    ['NaN in the target past its first four values', new Float32Array(10), Float32Array.of(0, 1, 2, 3, NaN), 'NON_FINITE'],
    ['x not whole rows', Float32Array.of(0, 1, 2), Float32Array.of(1), 'SHAPE_MISMATCH'],
    ['a target of the wrong length', Float32Array.of(0, 1), Float32Array.of(1, 0), 'SHAPE_MISMATCH'],
    ['an empty x', new Float32Array(0), new Float32Array(0), 'SHAPE_MISMATCH'],
  ];
  for (const [what, x, y, code] of cases) {
    it(`refuses ${what} with ${code}, changing nothing`, () => {
      const net = new Network([new Linear(2, 8), new Sigmoid(), new Linear(8, 1), new Sigmoid()], { seed: 4 });
      const opt = new SGD(net.parameters(), { lr: 0.5, momentum: 0.9 });
      const loss = new MSELoss();
      net.trainStep(Float32Array.of(1, 0), Float32Array.of(1), loss, opt);
      const before = bits(net);
      const state = opt.snapshot();
      let error: unknown;
      try {
        net.trainStep(x, y, loss, opt);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(BackpropError);
      expect((error as BackpropError).code).toBe(code);
      // named at the input (a NaN that reached the core would surface as a non-finite loss instead)
      if (code === 'NON_FINITE') expect((error as Error).message).toMatch(/expected finite numbers in (x|target), got/);
      expect(bits(net)).toEqual(before);
      expect(opt.snapshot()).toEqual(state);
      net.dispose();
    });
  }

  it('gives the loss and parameters of the general path (number[] rows)', () => {
    const a = new Network([new Linear(2, 8), new Sigmoid(), new Linear(8, 1), new Sigmoid()], { seed: 5 });
    const b = a.clone();
    const [optA, optB] = [new SGD(a.parameters(), { lr: 0.5 }), new SGD(b.parameters(), { lr: 0.5 })];
    const loss = new MSELoss();
    for (let i = 0; i < 8; i++) {
      const x = [(i >> 1) & 1, i & 1];
      const y = [x[0] ^ x[1]];
      expect(a.trainStep(Float32Array.from(x), Float32Array.from(y), loss, optA)).toBe(b.trainStep([x], [y], loss, optB));
    }
    expect(bits(a)).toEqual(bits(b));
    for (const n of [a, b]) n.dispose();
  });
});

describe('fit() and the small path', () => {
  it('decides per batch size: full batches that the packed GEMM takes, a last batch that the small path takes', async () => {
    // 16 → 16 at 64 rows packs (the packed kernel sums in another order than the small path); the last 10 rows
    // take the small path. trainStep decides on the first call of each batch size (its config keeps the answer
    // until the size changes): the same batches through it, sizes alternating, are the reference.
    const layers = () => [new Linear(16, 16), new Tanh(), new Linear(16, 1)];
    const viaFit = new Network(layers(), { seed: 21 });
    const viaSteps = viaFit.clone();
    const g = new Generator(22);
    const rows = 2 * 64 + 10;
    const x = g.normal(rows * 16);
    const y = g.normal(rows);
    g.dispose();
    const loss = new MSELoss();
    const fitOpt = new SGD(viaFit.parameters(), { lr: 0.05 });
    const stepOpt = new SGD(viaSteps.parameters(), { lr: 0.05 });
    await viaFit.fit(x, y, { loss, optimizer: fitOpt, batchSize: 64, epochs: 2, shuffle: false });
    for (let epoch = 0; epoch < 2; epoch++) {
      for (let start = 0; start < rows; start += 64) {
        const end = Math.min(rows, start + 64);
        viaSteps.trainStep(x.subarray(start * 16, end * 16), y.subarray(start, end), loss, stepOpt);
      }
    }
    expect(bits(viaFit)).toEqual(bits(viaSteps));
    for (const n of [viaFit, viaSteps]) n.dispose();
  });
});
