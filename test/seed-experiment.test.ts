// The seed experiment (npm run demo): the same 50 SGD steps in float64 by the reference, and the demo itself.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Linear, MSELoss, Network, Relu, SGD, init } from '../src/index';
// @ts-expect-error: a plain JS module of the examples
import { makeRegressionLikeSklearn } from '../examples/sklearn-regression.mjs';
import * as ref from './reference';
import { referenceOf } from './kinds';

await init();
const { x, y } = makeRegressionLikeSklearn({ samples: 100, noise: 10, randomState: 3 });

/** Plain float64 gradient descent on the reference layers. */
function referenceTraining(layers: ref.RefLayer[], steps: number, lr: number): number[] {
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const acts = ref.forward(layers, x, 100);
    losses.push(ref.mse(acts.at(-1)!, y));
    const grads = ref.backward(layers, acts, ref.mseGrad(acts.at(-1)!, y), 100);
    layers.forEach((layer, k) => {
      if (layer.kind !== 'linear') return;
      layer.weight.forEach((w, i) => {
        layer.weight[i] = w - lr * grads.weight[k]![i];
      });
      layer.bias?.forEach((b, i) => {
        layer.bias![i] = b - lr * grads.bias[k]![i];
      });
    });
  }
  return losses;
}

describe('seed experiment', () => {
  for (const [name, build] of [
    ['Linear(1,10) → Linear(10,1)', () => [new Linear(1, 10), new Linear(10, 1)]],
    ['Linear(1,10) → ReLU → Linear(10,1)', () => [new Linear(1, 10), new Relu(), new Linear(10, 1)]],
  ] as const) {
    it(`${name}: 50 steps of SGD(lr 0.01) track the float64 reference and the loss falls`, () => {
      const net = new Network([...build()], { seed: 3 });
      const expected = referenceTraining(referenceOf(net), 50, 0.01);
      const mse = new MSELoss();
      const opt = new SGD(net.parameters(), { lr: 0.01 });
      const losses = Array.from({ length: 50 }, () => net.trainStep(x, y, mse, opt));
      expect(ref.maxRelativeError(losses, expected)).toBeLessThan(1e-3);
      expect(losses[49]).toBeLessThan(losses[0] / 5);
      // the noise is N(0, 10²): a good fit ends near 100, not below what the noise allows
      expect(losses[49]).toBeGreaterThan(50);
      expect(losses[49]).toBeLessThan(150);
      net.dispose();
    });
  }

  it('npm run demo prints falling losses for both networks and writes the SVG', () => {
    const root = resolve(__dirname, '..');
    const cwd = mkdtempSync(join(tmpdir(), 'demo-'));
    const out = execFileSync(process.execPath, [join(root, 'examples/regression.mjs')], { cwd, encoding: 'utf8' });
    const summary = [...out.matchAll(/: loss ([\d.]+) → ([\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(summary).toHaveLength(2);
    for (const [first, last] of summary) expect(last).toBeLessThan(first / 5);
    expect(out.match(/^step +\d+ +loss/gm)).toHaveLength(100);
    const svg = readFileSync(join(cwd, 'demo-output/regression.svg'), 'utf8');
    expect(svg.match(/<circle /g)).toHaveLength(100);
    expect(svg.match(/<path /g)).toHaveLength(2);
  });
});
