// The pool's judge (assembly/pool.ts) times each split product apart, pooled against alone, to choose where
// it runs. Its own file: the table of judged products is per process, and the other thread suites fill it.
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as lib from '../src/index';
import { getCore } from '../src/core';

const core = () => getCore() as unknown as { poolJudgedProducts(): number; poolStats(which: number): number };

let net: lib.Network, optimizer: lib.SGD;
beforeAll(async () => {
  await lib.init({ threads: 2 });
  net = new lib.Network(
    [new lib.Linear(256, 512), new lib.ReLU(), new lib.Linear(512, 512), new lib.ReLU(), new lib.Linear(512, 10)],
    { seed: 7 },
  );
  optimizer = new lib.SGD(net.parameters(), { lr: 0.01 });
});
afterAll(() => {
  net.dispose();
  optimizer.dispose();
});

it('judges a layer forward, dX and dW apart although their flops are equal', () => {
  expect(core().poolJudgedProducts()).toBe(0);
  const x = Float32Array.from({ length: 128 * 256 }, (_, i) => Math.sin(i * 0.37));
  const y = Int32Array.from({ length: 128 }, (_, i) => i % 10);
  for (let i = 0; i < 3; i++) net.trainStep(x, y, new lib.CrossEntropyLoss(), optimizer);
  // At batch 128 five products are big enough to split: the first layer's forward and dW (2·128·512·256 flops
  // each; its dX is not needed) and the second layer's forward, dX and dW (2·128·512·512 each). The third
  // layer's (1.3 MFLOP each) stay whole. Keyed by flops, the table held two.
  expect(core().poolJudgedProducts()).toBe(5);
  expect(core().poolStats(0) + core().poolStats(1)).toBe(15); // every split product of the three steps was judged
});
