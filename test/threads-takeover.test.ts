// A chunk whose worker stops holding it is taken over by the caller (computed in place after the caller
// commits it first): the step goes on, with the bits of one thread. Its own file: the worker stays dead.
import { runModule } from './node-child';
import { resolve } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import * as lib from '../src/index';
import { getCore } from '../src/core';
import { fingerprint } from './threads/suite.mjs';

const dist = JSON.stringify(resolve(__dirname, '../dist/index.js'));
const suite = JSON.stringify(resolve(__dirname, 'threads/suite.mjs'));
const steps = `
  const net = new lib.Network([new lib.Linear(300, 600), new lib.Tanh(), new lib.Linear(600, 600), new lib.ReLU(), new lib.Linear(600, 4)], { seed: 5 });
  const x = Float32Array.from({ length: 100 * 300 }, (_, i) => Math.cos(i * 0.3));
  const y = Float32Array.from({ length: 100 * 4 }, (_, i) => Math.sin(i));
  const opt = new lib.Adam(net.parameters(), { lr: 1e-3 });
  for (let i = 0; i < 8; i++) {
    if (i === 2) die();
    net.trainStep(x, y, new lib.MSELoss(), opt);
  }`;

beforeAll(() => lib.init({ threads: 2 }));

it('a chunk its worker abandoned is computed by the caller: the same bits as one thread', () => {
  const hooks = getCore() as unknown as {
    poolSetAdaptive(on: boolean): void;
    poolDieOnNextChunk(): void;
    poolStats(i: number): number;
  };
  hooks.poolSetAdaptive(false); // every product on the pool, so the worker claims a chunk at once
  const helped = hooks.poolStats(2);
  const die = () => hooks.poolDieOnNextChunk();
  const run = new Function('lib', 'die', `${steps}; return net;`) as (l: typeof lib, d: () => void) => lib.Network;
  const net = run(lib, die);
  expect(hooks.poolStats(2)).toBeGreaterThan(helped); // the caller did take a chunk over
  const script = `import * as lib from ${dist}; import { fingerprint } from ${suite}; await lib.init(); const die = () => {};
    ${steps}; console.log(fingerprint(net.parameters().map((p) => p.data)));`;
  const expected = runModule(script);
  expect(fingerprint(net.parameters().map((p) => p.data))).toBe(expected);
}, 60_000);
