// The small-network path of a training step (assembly/small.ts) against the GEMM path: a network trained with
// trainStep (the small path for these shapes) and its clone trained with forward, loss.forward/backward,
// backward and optimizer.step (always the GEMM path) must hold bit-identical parameters after every step.
import { describe, expect, it } from 'vitest';
import {
  BackpropError,
  type Layer,
  Generator,
  Identity,
  LeakyReLU,
  Linear,
  MSELoss,
  Network,
  ReLU,
  SGD,
  Sigmoid,
  Tanh,
  init,
} from '../src/index';

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
function gradBits(net: Network): Uint32Array[] {
  return net.parameters().map((p) => new Uint32Array(Float32Array.from(p.grad).buffer));
}

/** Rows of x (normal) and a target (uniform) for `net`, drawn from Generator(seed). */
function randomRows(net: Network, rows: number, seed: number): { x: Float32Array; y: Float32Array } {
  const g = new Generator(seed);
  const x = g.normal(rows * net.inFeatures);
  const y = g.uniform(rows * net.outFeatures);
  g.dispose();
  return { x, y };
}

/** Trains `net` and a clone of it for `steps` steps on batches of `batch` rows of x, y (taken in turn, from the
 *  start again after the last), the first by trainStep (whatever path the core takes for that batch), the
 *  clone by forward, loss.forward/backward, backward and optimizer.step (always the GEMM path), and expects the
 *  same loss, parameter bits and gradient bits after every step. */
function expectSameAsGemmPath(net: Network, data: { x: Float32Array; y: Float32Array }, batch: number, steps: number) {
  const gemm = net.clone();
  const [inF, outF] = [net.inFeatures, net.outFeatures];
  const rows = data.y.length / outF;
  const loss = new MSELoss();
  const opt = new SGD(net.parameters(), { lr: 0.3, momentum: 0.5 });
  const gemmOpt = new SGD(gemm.parameters(), { lr: 0.3, momentum: 0.5 });
  for (let step = 0; step < steps; step++) {
    const start = (step * batch) % rows;
    const x = data.x.subarray(start * inF, (start + batch) * inF);
    const y = data.y.subarray(start * outF, (start + batch) * outF);
    const stepLoss = net.trainStep(x, y, loss, opt);
    gemmOpt.zeroGrad();
    const pred = gemm.forward(x);
    const gemmLoss = loss.forward(pred, y, outF);
    gemm.backward(loss.backward());
    gemmOpt.step();
    expect(stepLoss).toBe(gemmLoss);
    expect(bits(net)).toEqual(bits(gemm));
    expect(gradBits(net), 'the gradients').toEqual(gradBits(gemm));
  }
  gemm.dispose();
}

describe('small-network training steps', () => {
  SHAPES.forEach((shape, k) => {
    const widths = shape.slice(0, -1);
    const batch = shape[shape.length - 1];
    it(`${widths.join(' → ')}, batch ${batch}: bit-identical to the GEMM path`, () => {
      const small = new Network(layersFor(widths, k), { seed: 10 + k });
      expectSameAsGemmPath(small, randomRows(small, batch, k + 1), batch, 5);
      small.dispose();
    });
  });
});

// The one-row step (assembly/one-row.ts: batch 1, every Linear at most 16 wide each way, activations held in
// registers) over its cases: short K (1–3, its column gathers) and dot-product K with each K % 4 tail, outputs
// in whole and partial vectors, with and without a bias, each activation it takes, an activation with no
// Linear before it and two in a row, and the widest layer it takes next to one it leaves to the small path.
describe('one-row training steps, against the GEMM path', () => {
  const activations = [() => new Sigmoid(), () => new ReLU(), () => new Tanh(), () => new LeakyReLU(0.1), () => new Identity()];
  const cases: [string, () => Layer[]][] = [];
  let c = 0;
  for (const k of [1, 2, 3, 4, 5, 7, 8, 13, 16]) {
    for (const n of [1, 3, 4, 6, 8, 16]) {
      const act = activations[c % activations.length];
      const bias = c % 3 !== 2;
      const out = [1, 2, 5][c % 3];
      cases.push([
        `${k} → ${n} (${act().constructor.name}${bias ? '' : ', no bias'}) → ${out}`,
        () => [new Linear(k, n, { bias }), act(), new Linear(n, out)],
      ]);
      c++;
    }
  }
  cases.push(
    ['an activation first, then two in a row', () => [new Tanh(), new Linear(3, 5), new Sigmoid(), new ReLU(), new Linear(5, 2)]],
    ['16 → 16 → 16 (the widest it takes)', () => [new Linear(16, 16), new Sigmoid(), new Linear(16, 16), new Tanh()]],
    ['17 → 4 → 1 (wider: the small path)', () => [new Linear(17, 4), new Sigmoid(), new Linear(4, 1)]],
  );
  cases.forEach(([name, layers], i) => {
    it(name, () => {
      const net = new Network(layers(), { seed: 40 + i });
      expectSameAsGemmPath(net, randomRows(net, 4, 100 + i), 1, 4);
      net.dispose();
    });
  });

  it('a saturated sigmoid (σ′ = 0: signed zeros in dZ, which the gradients turn to +0 as the GEMM path does)', () => {
    const net = new Network([new Linear(1, 4), new Sigmoid(), new Linear(4, 1)], { seed: 3 });
    net.parameters()[0].data.set([60, -60, 45, -45]); // |z| > 20 for |x| > 0.5: σ(z) is 0 or 1 in float32
    expectSameAsGemmPath(net, randomRows(net, 6, 7), 1, 6);
    net.dispose();
  });

  it('refuses a step whose gradient overflows (the loss finite), naming the layer and changing nothing', () => {
    // z = 3e38·w0 − 3e38·w1 = 0 with w0 = w1 = 1: the loss (0 − 1)² is finite, dW = −2·(±3e38) is not
    for (const batch of [1, 2]) {
      const net = new Network([new Identity(), new Linear(2, 1, { bias: false })], { seed: 1 });
      net.parameters()[0].data.set([1, 1]);
      const opt = new SGD(net.parameters(), { lr: 0.1 });
      const before = bits(net);
      const x = Float32Array.from({ length: 2 * batch }, (_, i) => (i % 2 ? -3e38 : 3e38));
      let error: unknown;
      try {
        net.trainStep(
          x,
          Float32Array.from({ length: batch }, () => 1),
          new MSELoss(),
          opt,
        );
      } catch (e) {
        error = e;
      }
      expect(error, `batch ${batch}`).toBeInstanceOf(BackpropError);
      expect((error as Error).message).toMatch(/a gradient of layers\[1\] became NaN or Infinity/);
      expect(bits(net)).toEqual(before);
      net.dispose();
    }
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
