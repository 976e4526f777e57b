// Classification losses and Softmax against the float64 reference and finite differences.
import { describe, expect, it } from 'vitest';
import {
  BCELoss,
  BCEWithLogitsLoss,
  BackpropError,
  CrossEntropyLoss,
  Linear,
  MSELoss,
  Network,
  SGD,
  Softmax,
  Tanh,
  init,
} from '../src/index';
import * as ref from './reference';

await init();
const random = ref.testRandom(99);

function fdCheck(lossOf: (z: Float64Array) => number, z: ArrayLike<number>, grad: ArrayLike<number>, tolerance = 2e-4) {
  const zs = Float64Array.from(z);
  let scale = 1e-3;
  for (let i = 0; i < grad.length; i++) scale = Math.max(scale, Math.abs(grad[i]));
  for (let i = 0; i < zs.length; i++) {
    const fd = ref.finiteDifference(() => lossOf(zs), zs, i);
    expect(Math.abs(grad[i] - fd) / scale).toBeLessThan(tolerance);
  }
}

describe('CrossEntropyLoss', () => {
  for (const [rows, width] of [
    [1, 2],
    [3, 5],
    [7, 10],
    [33, 3],
  ]) {
    for (const smoothing of [0, 0.1]) {
      for (const reduction of ['mean', 'sum'] as const) {
        it(`class indices, ${rows}×${width}, smoothing ${smoothing}, ${reduction}`, () => {
          const z = ref.randomArray(random, rows * width, 4);
          const labels = Array.from({ length: rows }, () => Math.floor(random() * width));
          const ce = new CrossEntropyLoss({ labelSmoothing: smoothing, reduction });
          const loss = ce.forward(z, Int32Array.from(labels));
          const grad = ce.backward();
          const q = ref.smoothedTargets(labels, true, rows, width, smoothing);
          const expected = ref.crossEntropy(z, q, rows, width, reduction);
          expect(Math.abs(loss - expected.loss) / Math.max(1, expected.loss)).toBeLessThan(1e-5);
          expect(ref.maxRelativeError(grad, expected.grad)).toBeLessThan(1e-5);
          fdCheck((zs) => ref.crossEntropy(zs, q, rows, width, reduction).loss, z, grad);
          // number[] labels give the same as Int32Array
          expect(ce.forward(z, labels)).toBe(loss);
        });
      }
      it(`class probabilities, ${rows}×${width}, smoothing ${smoothing}`, () => {
        const z = ref.randomArray(random, rows * width, 3);
        const probs = ref.softmaxRows(ref.randomArray(random, rows * width, 2), rows, width);
        const target = Array.from({ length: rows }, (_, r) => Array.from(probs.subarray(r * width, (r + 1) * width)));
        const ce = new CrossEntropyLoss({ labelSmoothing: smoothing });
        const loss = ce.forward(z, target);
        const q = ref.smoothedTargets(probs, false, rows, width, smoothing);
        const expected = ref.crossEntropy(z, q, rows, width, 'mean');
        expect(Math.abs(loss - expected.loss) / Math.max(1, expected.loss)).toBeLessThan(1e-5);
        expect(ref.maxRelativeError(ce.backward(), expected.grad)).toBeLessThan(1e-5);
      });
    }
  }

  it('is stable for huge logits', () => {
    const ce = new CrossEntropyLoss();
    const loss = ce.forward(
      [
        [1000, -1000, 0],
        [-5000, 5000, 0],
      ],
      [0, 0],
    );
    expect(loss).toBeCloseTo(5000, 2);
    expect(Array.from(ce.backward()).every(Number.isFinite)).toBe(true);
  });

  it('rejects labels out of range or not integers, and ambiguous flat probabilities', () => {
    const ce = new CrossEntropyLoss();
    expect(() => ce.forward([[1, 2, 3]], [3])).toThrow(/target\[0\] to be a class index in \[0, 2\].*, got 3/);
    expect(() => ce.forward([[1, 2, 3]], [-1])).toThrow(expect.objectContaining({ code: 'OUT_OF_RANGE' }));
    expect(() => ce.forward([[1, 2, 3]], [1.5])).toThrow(/got 1.5/);
    expect(() => ce.forward(Float32Array.of(1, 2, 3, 4), Float32Array.of(0, 1, 0, 1))).toThrow(/number of classes/);
    expect(ce.forward(Float32Array.of(1, 2, 3, 4), Float32Array.of(0, 1, 0, 1), 2)).toBeGreaterThan(0);
    expect(() => new CrossEntropyLoss({ labelSmoothing: 2 })).toThrow(/labelSmoothing/);
  });
});

describe('BCELoss and BCEWithLogitsLoss', () => {
  for (const n of [1, 5, 33]) {
    for (const reduction of ['mean', 'sum'] as const) {
      it(`BCE on probabilities, n = ${n}, ${reduction}`, () => {
        const p = Float32Array.from({ length: n }, () => 0.05 + 0.9 * random());
        const t = Float32Array.from({ length: n }, () => random());
        const bce = new BCELoss({ reduction });
        const loss = bce.forward(p, t);
        const expected = ref.bce(p, t, reduction);
        expect(Math.abs(loss - expected.loss) / Math.max(1, expected.loss)).toBeLessThan(1e-5);
        expect(ref.maxRelativeError(bce.backward(), expected.grad)).toBeLessThan(1e-5);
        fdCheck((ps) => ref.bce(ps, t, reduction).loss, p, bce.backward(), 1e-3);
      });
      it(`BCE with logits, n = ${n}, ${reduction}`, () => {
        const z = ref.randomArray(random, n, 6);
        const t = Float32Array.from({ length: n }, () => (random() > 0.5 ? 1 : 0));
        const loss = new BCEWithLogitsLoss({ reduction });
        const value = loss.forward(z, t);
        const expected = ref.bceWithLogits(z, t, reduction);
        expect(Math.abs(value - expected.loss) / Math.max(1, expected.loss)).toBeLessThan(1e-5);
        expect(ref.maxRelativeError(loss.backward(), expected.grad)).toBeLessThan(1e-5);
        fdCheck((zs) => ref.bceWithLogits(zs, t, reduction).loss, z, loss.backward());
      });
    }
  }

  it('BCE clamps log(0) at −100 as PyTorch; BCE with logits stays finite at ±100', () => {
    expect(new BCELoss().forward([0, 1], [1, 0])).toBeCloseTo(100, 5);
    const withLogits = new BCEWithLogitsLoss();
    expect(withLogits.forward([100, -100], [0, 1])).toBeCloseTo(100, 4);
    expect(Array.from(withLogits.backward())).toEqual([0.5, -0.5]);
  });

  it('BCE rejects probabilities outside [0, 1] in pred or target', () => {
    expect(() => new BCELoss().forward([0.5, 1.2], [0, 1])).toThrow(
      /BCELoss expects pred values in \[0, 1\], got 1.2\d* at pred\[1\]/,
    );
    expect(() => new BCELoss().forward([0.5, 0.2], [0, -1])).toThrow(/expects target values in \[0, 1\], got -1 at target\[1\]/);
    expect(() => new BCEWithLogitsLoss().forward([3, -2], [0, 2])).toThrow(expect.objectContaining({ code: 'OUT_OF_RANGE' }));
  });

  it('training a network that does not end in [0, 1] with BCE fails cleanly', () => {
    const net = new Network([new Linear(2, 1)], { seed: 1 });
    const opt = new SGD(net.parameters(), { lr: 0.1 });
    const before = net.parameters().map((p) => Array.from(p.data));
    net.layers[0].parameters()[1].data[0] = 5; // the bias pushes outputs above 1
    const after = net.parameters().map((p) => Array.from(p.data));
    expect(() => net.trainStep([[0, 0]], [[1]], new BCELoss(), opt)).toThrow(/outputs in \[0, 1\].*Sigmoid/);
    expect(net.parameters().map((p) => Array.from(p.data))).toEqual(after);
    expect(after).not.toEqual(before);
    expect(opt.stepCount).toBe(0);
  });
});

describe('Softmax layer and cross-entropy in a network', () => {
  it('Softmax + MSE network gradients match finite differences', () => {
    const net = new Network([new Linear(4, 6), new Tanh(), new Linear(6, 5), new Softmax()], { seed: 4 });
    const x = ref.randomArray(random, 3 * 4, 2),
      target = ref.randomArray(random, 15);
    const mse = new MSELoss();
    net.zeroGrad();
    mse.forward(net.forward(x), target);
    net.backward(mse.backward());
    const lin = net.layers[2] as Linear;
    const layers = net.layers.map((l) =>
      l instanceof Linear
        ? { weight: Float64Array.from(l.weight), bias: Float64Array.from(l.bias!), inF: l.inFeatures, outF: l.outFeatures }
        : null,
    );
    const lossOf = () => {
      const h = ref.linearForward(x, layers[0]!.weight, layers[0]!.bias, 3, 4, 6).map(Math.tanh);
      const z = ref.linearForward(h, layers[2]!.weight, layers[2]!.bias, 3, 6, 5);
      return ref.mse(ref.softmaxRows(z, 3, 5), target);
    };
    let scale = 1e-3;
    lin.weightGrad.forEach((g) => {
      scale = Math.max(scale, Math.abs(g));
    });
    for (let i = 0; i < layers[2]!.weight.length; i++) {
      const fd = ref.finiteDifference(lossOf, layers[2]!.weight, i);
      expect(Math.abs(lin.weightGrad[i] - fd) / scale).toBeLessThan(1e-4);
    }
    const sums = net.forward(x);
    for (let r = 0; r < 3; r++) expect(sums.subarray(r * 5, r * 5 + 5).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
  });

  it('trainStep with cross-entropy gives the loss and gradients of loss.forward + backward', () => {
    const build = () => new Network([new Linear(3, 8), new Tanh(), new Linear(8, 4)], { seed: 12 });
    const fused = build(),
      manual = build();
    const x = ref.randomArray(random, 5 * 3),
      labels = Int32Array.of(0, 3, 1, 2, 3);
    const ce = new CrossEntropyLoss({ labelSmoothing: 0.05 });
    const optA = new SGD(fused.parameters(), { lr: 0.1 }),
      optB = new SGD(manual.parameters(), { lr: 0.1 });
    for (let step = 0; step < 3; step++) {
      const a = fused.trainStep(x, labels, ce, optA);
      manual.zeroGrad();
      const b = ce.forward(manual.forward(x), labels, 4);
      manual.backward(ce.backward());
      optB.step();
      expect(a).toBe(b);
      expect(fused.parameters().map((p) => Array.from(p.data))).toEqual(manual.parameters().map((p) => Array.from(p.data)));
    }
    expect(() => fused.trainStep(x, Int32Array.of(0, 4, 1, 2, 3), ce, optA)).toThrow(BackpropError);
  });
});
