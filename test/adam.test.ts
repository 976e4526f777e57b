// Adam and AdamW against torch.optim's update written out here in float32 arithmetic, over 20 steps.
import { describe, expect, it } from 'vitest';
import { Adam, AdamW, Linear, Network, init } from '../src/index';
import * as ref from './reference';

await init();
const f = Math.fround;

interface Options {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

/** One step of torch.optim.Adam / AdamW (single-tensor path) for one parameter; t counts from 1. Python
 *  scalars are formed in float64 and rounded to float32 where they meet a tensor. */
function torchAdamStep(
  p: Float32Array,
  grad: Float32Array,
  m: Float32Array,
  v: Float32Array,
  o: Options,
  t: number,
  decoupled: boolean,
) {
  const [beta1, beta2] = o.betas;
  const stepSize = o.lr / (1 - beta1 ** t);
  const correction2Sqrt = Math.sqrt(1 - beta2 ** t);
  const w1 = f(1 - beta1);
  for (let i = 0; i < p.length; i++) {
    let g = grad[i];
    if (decoupled) p[i] = f(p[i] * f(1 - o.lr * o.weightDecay));
    else if (o.weightDecay !== 0) g = f(g + f(f(o.weightDecay) * p[i]));
    m[i] = w1 < 0.5 ? f(m[i] + f(w1 * f(g - m[i]))) : f(g - f(f(g - m[i]) * f(1 - w1)));
    v[i] = f(f(v[i] * f(beta2)) + f(f(f(1 - beta2) * g) * g));
    const denom = f(f(f(Math.sqrt(v[i])) / f(correction2Sqrt)) + f(o.eps));
    p[i] = f(p[i] + f(f(-stepSize) * f(m[i] / denom)));
  }
}

const cases: [string, Options][] = [
  ['defaults', { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 }],
  ['large lr, weight decay', { lr: 0.05, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.1 }],
  ['beta1 ≥ 0.5 branch of lerp', { lr: 0.01, betas: [0.3, 0.9], eps: 1e-6, weightDecay: 0.01 }],
];

describe('Adam and AdamW match torch.optim', () => {
  for (const decoupled of [false, true]) {
    for (const [name, options] of cases) {
      it(`${decoupled ? 'AdamW' : 'Adam'}: ${name}`, () => {
        const random = ref.testRandom(21);
        const net = new Network([new Linear(6, 5), new Linear(5, 2)], { seed: 2 });
        const params = net.parameters();
        const opt = decoupled ? new AdamW(params, options) : new Adam(params, options);
        const expected = params.map((p) => Float32Array.from(p.data));
        const m = params.map((p) => new Float32Array(p.size)),
          v = params.map((p) => new Float32Array(p.size));
        for (let t = 1; t <= 20; t++) {
          params.forEach((p, k) => {
            p.grad.set(ref.randomArray(random, p.size, t % 5 === 0 ? 100 : 1));
            torchAdamStep(expected[k], p.grad, m[k], v[k], options, t, decoupled);
          });
          opt.step();
          params.forEach((p, k) => expect(ref.maxRelativeError(p.data, expected[k], 1e-6)).toBeLessThan(1e-6));
        }
        // the moments too
        const state = opt.stateBuffers();
        params.forEach((_, k) => {
          expect(ref.maxRelativeError(state[2 * k], m[k])).toBeLessThan(1e-6);
          expect(ref.maxRelativeError(state[2 * k + 1], v[k])).toBeLessThan(1e-6);
        });
        net.dispose();
        opt.dispose();
      });
    }
  }

  it('AdamW decays by 0.01 by default; Adam by nothing', () => {
    const net = new Network([new Linear(2, 2)]);
    expect(new AdamW(net.parameters()).weightDecay).toBe(0.01);
    expect(new Adam(net.parameters()).weightDecay).toBe(0);
  });

  it('rejects bad hyper-parameters', () => {
    const params = new Network([new Linear(2, 2)]).parameters();
    expect(() => new Adam(params, { betas: [0.9, 1] })).toThrow(/betas\[1\].*in \[0, 1\).*got 1/);
    expect(() => new Adam(params, { betas: [0.9] as never })).toThrow(/\[beta1, beta2\]/);
    expect(() => new Adam(params, { eps: 0 })).toThrow(/eps/);
    expect(() => new AdamW(params, { lr: -1 })).toThrow(/lr/);
    expect(() => new Adam(params, { amsgrad: 'yes' } as never)).toThrow(/expected Adam amsgrad to be a boolean/);
    expect(() => new Adam(params, { amsGrad: true } as never)).toThrow(/unknown Adam option "amsGrad"/);
  });
});
