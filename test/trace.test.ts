// net.trace: the lecture's per-layer quantities, from the training kernels, against the float64 reference,
// with no weight or gradient changed.
import { describe, expect, it } from 'vitest';
import { CrossEntropyLoss, Linear, MSELoss, Network, Relu, Sigmoid, Softmax, Tanh, init } from '../src/index';
import * as ref from './reference';
import { referenceOf } from './kinds';

await init();
const random = ref.testRandom(8);

describe('trace', () => {
  it("gives z, a, σ'(z), ∂L/∂a, ∂L/∂z and ∂L/∂W per Linear layer, as the reference computes them", () => {
    const net = new Network([new Linear(3, 5), new Tanh(), new Linear(5, 4), new Relu(), new Linear(4, 2), new Sigmoid()], {
      seed: 6,
    });
    const batch = 4;
    const x = ref.randomArray(random, batch * 3, 2),
      target = ref.randomArray(random, batch * 2);
    net.parameters().forEach((p) => p.grad.set(ref.randomArray(random, p.size))); // gradients to keep
    const before = net.parameters().map((p) => [Array.from(p.data), Array.from(p.grad)]);

    const trace = net.trace(x, target, new MSELoss());

    expect(net.parameters().map((p) => [Array.from(p.data), Array.from(p.grad)])).toEqual(before);
    const layers = referenceOf(net);
    const acts = ref.forward(layers, x, batch);
    const refLoss = ref.mse(acts.at(-1)!, target);
    const grads = ref.backward(layers, acts, ref.mseGrad(acts.at(-1)!, target), batch);
    // ∂L/∂(output of layer k) by the chain rule, for every k
    const upstream: Float64Array[] = [];
    let g = ref.mseGrad(acts.at(-1)!, target);
    for (let k = layers.length - 1; k >= 0; k--) {
      upstream[k + 1] = g;
      g = ref.backward([layers[k]], [acts[k]], g, batch).input;
    }
    upstream[0] = g;
    expect(Math.abs(trace.loss - refLoss)).toBeLessThan(1e-6);
    expect(trace.layers.map((l) => [l.index, l.activation])).toEqual([
      [0, 'Tanh()'],
      [2, 'ReLU()'],
      [4, 'Sigmoid()'],
    ]);
    trace.layers.forEach((layer) => {
      const k = layer.index;
      expect(ref.maxRelativeError(layer.input, acts[k])).toBeLessThan(1e-5);
      expect(ref.maxRelativeError(layer.z, acts[k + 1])).toBeLessThan(1e-5);
      expect(ref.maxRelativeError(layer.a, acts[k + 2])).toBeLessThan(1e-5);
      expect(ref.maxRelativeError(layer.dLda, upstream[k + 2])).toBeLessThan(1e-5);
      expect(ref.maxRelativeError(layer.dLdz, upstream[k + 1])).toBeLessThan(1e-5);
      const act = layers[k + 1] as Extract<ref.RefLayer, { kind: 'activation' }>;
      if (!('elementwise' in act.act)) throw new Error('expected an element-wise activation');
      const df = act.act.elementwise.df;
      expect(
        ref.maxRelativeError(
          layer.sigmaPrime!,
          Array.from(acts[k + 1], (z) => df(z)),
        ),
      ).toBeLessThan(1e-5);
      expect(ref.maxRelativeError(layer.dLdW, grads.weight[k]!)).toBeLessThan(1e-5);
      expect(ref.maxRelativeError(layer.dLdb!, grads.bias[k]!)).toBeLessThan(1e-5);
      // the lecture's identities: ∂L/∂z = σ'(z)·∂L/∂a and ∂L/∂w = Σ x·∂L/∂z
      layer.dLdz.forEach((v, i) => expect(v).toBeCloseTo(layer.sigmaPrime![i] * layer.dLda[i], 6));
    });
    expect(ref.maxRelativeError(trace.dLdx, upstream[0])).toBeLessThan(1e-5);
    expect(trace.output).toEqual(net.forward(x));
  });

  it("works for cross-entropy with class indices, and for Softmax / bare Linear layers (no σ')", () => {
    const net = new Network([new Linear(2, 3), new Linear(3, 3), new Softmax()], { seed: 2 });
    const trace = net.trace(
      [
        [1, 2],
        [3, -1],
      ],
      Int32Array.of(0, 2),
      new CrossEntropyLoss(),
    );
    expect(trace.layers[0].sigmaPrime).toBeNull();
    expect(trace.layers[0].a).toEqual(trace.layers[0].z);
    expect(trace.layers[1].activation).toBe('Softmax(dim=-1)');
    expect(trace.layers[1].sigmaPrime).toBeNull();
    expect(Number.isFinite(trace.loss)).toBe(true);
    expect(() => net.trace([[1, 2]], [5], new CrossEntropyLoss())).toThrow(/class index/);
  });
});
