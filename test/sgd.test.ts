// SGD against PyTorch's update written out here in float32 arithmetic (Math.fround after every operation).
import { describe, expect, it } from 'vitest';
import { BackpropError, Linear, Network, SGD, init } from '../src/index';
import * as ref from './reference';

await init();
const f = Math.fround;

interface Options {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
}

/** torch.optim.SGD's step for one parameter in float32; Python-float scalars are rounded to float32 where
 *  they meet a tensor (1 − dampening is formed in float64 first, as in Python). */
function torchSgdStep(p: Float32Array, grad: Float32Array, buf: Float32Array | null, o: Options, first: boolean): void {
  const [lr, momentum, keep, decay] = [f(o.lr), f(o.momentum), f(1 - o.dampening), f(o.weightDecay)];
  for (let i = 0; i < p.length; i++) {
    let g = grad[i];
    if (o.weightDecay !== 0) g = f(g + f(decay * p[i]));
    if (o.momentum !== 0) {
      buf![i] = first ? g : f(f(momentum * buf![i]) + f(keep * g));
      g = o.nesterov ? f(g + f(momentum * buf![i])) : buf![i];
    }
    p[i] = f(p[i] - f(lr * g));
  }
}

const grid: Options[] = [];
for (const momentum of [0, 0.9])
  for (const dampening of [0, 0.3, 0.1])
    for (const nesterov of [false, true])
      for (const weightDecay of [0, 0.01]) {
        if (nesterov && (momentum === 0 || dampening !== 0)) continue;
        grid.push({ lr: 0.05, momentum, dampening, nesterov, weightDecay });
      }

describe('SGD matches torch.optim.SGD', () => {
  for (const options of grid) {
    it(JSON.stringify(options), () => {
      const random = ref.testRandom(11);
      const net = new Network([new Linear(7, 5), new Linear(5, 3)], { seed: 1 });
      const params = net.parameters();
      const sgd = new SGD(params, options);
      const expected = params.map((p) => Float32Array.from(p.data));
      const bufs = params.map((p) => (options.momentum ? new Float32Array(p.size) : null));
      for (let step = 0; step < 6; step++) {
        params.forEach((p, k) => {
          p.grad.set(ref.randomArray(random, p.size));
          torchSgdStep(expected[k], p.grad, bufs[k], options, step === 0);
        });
        sgd.step();
        params.forEach((p, k) => expect(Array.from(p.data)).toEqual(Array.from(expected[k])));
      }
      expect(sgd.stepCount).toBe(6);
      net.dispose();
      sgd.dispose();
    });
  }

  it('a new learning rate applies from the next step', () => {
    const net = new Network([new Linear(2, 2)], { seed: 2 });
    const [w] = net.parameters();
    const sgd = new SGD(net.parameters(), { lr: 0.1 });
    w.grad.fill(1);
    const before = Float32Array.from(w.data);
    sgd.lr = 0.5;
    sgd.step();
    expect(Array.from(w.data)).toEqual(Array.from(before, (v) => f(v - 0.5)));
    expect(() => {
      sgd.lr = -1;
    }).toThrow(/lr/);
    expect(sgd.lr).toBe(0.5);
    net.dispose();
  });

  it('zeroGrad clears the gradients of its parameters only', () => {
    const a = new Network([new Linear(3, 2)], { seed: 3 });
    const b = new Network([new Linear(3, 2)], { seed: 3 });
    for (const p of [...a.parameters(), ...b.parameters()]) p.grad.fill(2);
    new SGD(a.parameters(), { lr: 0.1 }).zeroGrad();
    expect(a.parameters().every((p) => p.grad.every((g) => g === 0))).toBe(true);
    expect(b.parameters().every((p) => p.grad.every((g) => g === 2))).toBe(true);
  });

  it('rejects bad hyper-parameters with a message naming what came', () => {
    const net = new Network([new Linear(2, 1)]);
    const params = net.parameters();
    const bad: [object, RegExp][] = [
      [{ lr: -0.1 }, /lr.*≥ 0.*got -0.1/],
      [{ lr: NaN }, /lr.*got NaN/],
      [{ lr: Infinity }, /lr.*got Infinity/],
      [{ lr: '0.1' }, /lr.*got the string "0.1"/],
      [{ momentum: -1 }, /momentum/],
      [{ dampening: 2 }, /dampening/],
      [{ nesterov: true }, /Nesterov.*momentum > 0/],
      [{ nesterov: true, momentum: 0.9, dampening: 0.1 }, /dampening 0/],
      [{ weightDecay: -1 }, /weightDecay/],
      [{ learningRate: 0.1 }, /unknown SGD option "learningRate"/],
    ];
    for (const [options, message] of bad) {
      expect(() => new SGD(params, options as never)).toThrow(message);
      expect(() => new SGD(params, options as never)).toThrow(BackpropError);
    }
    expect(() => new SGD([], { lr: 0.1 })).toThrow(/non-empty array of parameters/);
    expect(() => new SGD([params[0], params[0]], { lr: 0.1 })).toThrow(/more than once/);
    expect(() => new SGD([{ data: new Float32Array(2) }] as never, { lr: 0.1 })).toThrow(/Parameter/);
    net.dispose();
    expect(() => new SGD(params, { lr: 0.1 })).toThrow(/disposed/);
  });

  it('takes a learning rate of 0, as torch (a schedule may end there): the step leaves the weights', () => {
    const net = new Network([new Linear(3, 2)], { seed: 4 });
    const sgd = new SGD(net.parameters(), { lr: 0, momentum: 0.9 });
    const before = net.parameters().map((p) => Array.from(p.data));
    net.parameters().forEach((p) => p.grad.fill(3));
    sgd.step();
    expect(net.parameters().map((p) => Array.from(p.data))).toEqual(before);
    sgd.lr = 0.1;
    sgd.lr = 0;
    expect(sgd.lr).toBe(0);
    net.dispose();
    sgd.dispose();
  });
});
