// init({ threads }) beyond the core suite (test/threads.test.ts): trainStep and predict when a pool worker
// dies, createTrainer and relaxed SIMD with threads. Its own file: a dead worker leaves this process's core on
// one thread.
import { runModule } from './node-child';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as lib from '../src/index';
import { getCore } from '../src/core';
import { setFailAfterMs } from '../src/threads';
import { fingerprint } from './threads/suite.mjs';

const dist = resolve(__dirname, '../dist/index.js');
const suite = JSON.stringify(resolve(__dirname, 'threads/suite.mjs'));
const die = () => (getCore() as unknown as { poolDieOnNextChunk(): void }).poolDieOnNextChunk();

beforeAll(() => lib.init({ threads: 2 }));

function wide() {
  const net = new lib.Network(
    [new lib.Linear(300, 600), new lib.Tanh(), new lib.Linear(600, 600), new lib.ReLU(), new lib.Linear(600, 4)],
    {
      seed: 5,
    },
  );
  const x = Float32Array.from({ length: 100 * 300 }, (_, i) => Math.cos(i * 0.3));
  const y = Float32Array.from({ length: 100 * 4 }, (_, i) => Math.sin(i));
  return { net, x, y };
}

/** The trained weights of `steps` trainSteps of wide() with createTrainer-like options, on a core chosen by `init`. */
function trainedInChild(init: object, steps: number, flags: string[] = []): string {
  const script = `
    import * as lib from ${JSON.stringify(dist)};
    import { fingerprint } from ${suite};
    await lib.init(${JSON.stringify(init)});
    const net = new lib.Network([new lib.Linear(300, 600), new lib.Tanh(), new lib.Linear(600, 600), new lib.ReLU(), new lib.Linear(600, 4)], { seed: 5 });
    const x = Float32Array.from({ length: 100 * 300 }, (_, i) => Math.cos(i * 0.3));
    const y = Float32Array.from({ length: 100 * 4 }, (_, i) => Math.sin(i));
    const opt = new lib.Adam(net.parameters(), { lr: 1e-3 });
    for (let i = 0; i < ${steps}; i++) net.trainStep(x, y, new lib.MSELoss(), opt);
    console.log(JSON.stringify({ info: lib.threadsInfo(), bits: fingerprint(net.parameters().map((p) => p.data)) }));`;
  return runModule(script, flags);
}

describe('threads: relaxed SIMD', () => {
  it('the relaxed threads build gives the bits of the relaxed single-thread build', () => {
    const flags = ['--experimental-wasm-relaxed-simd'];
    const one = JSON.parse(trainedInChild({ simd: 'relaxed' }, 5, flags));
    const two = JSON.parse(trainedInChild({ simd: 'relaxed', threads: 2 }, 5, flags));
    expect(two.info).toEqual({ requested: 2, active: 2, reason: null });
    expect(two.bits).toBe(one.bits);
  }, 60_000);
});

describe('threads: createTrainer', () => {
  it('trains in a worker with a pool of its own, to the bits of one thread', async () => {
    const { net, x, y } = wide();
    const trainer = lib.createTrainer(net);
    try {
      await trainer.fit(x, y, {
        loss: { type: 'MSELoss' },
        optimizer: { type: 'Adam', lr: 1e-3 },
        batchSize: 32,
        epochs: 2,
        shuffle: false,
      });
    } finally {
      trainer.terminate();
    }
    const script = `
      import * as lib from ${JSON.stringify(dist)};
      import { fingerprint } from ${suite};
      await lib.init();
      const net = new lib.Network([new lib.Linear(300, 600), new lib.Tanh(), new lib.Linear(600, 600), new lib.ReLU(), new lib.Linear(600, 4)], { seed: 5 });
      const x = Float32Array.from({ length: 100 * 300 }, (_, i) => Math.cos(i * 0.3));
      const y = Float32Array.from({ length: 100 * 4 }, (_, i) => Math.sin(i));
      const opt = new lib.Adam(net.parameters(), { lr: 1e-3 });
      await net.fit(x, y, { loss: new lib.MSELoss(), optimizer: opt, batchSize: 32, epochs: 2, shuffle: false });
      console.log(fingerprint(net.parameters().map((p) => p.data)));`;
    const expected = runModule(script);
    expect(fingerprint(net.parameters().map((p) => p.data))).toBe(expected);
    net.dispose();
  }, 60_000);
});

describe('threads: a pool worker that dies during trainStep', () => {
  it('throws WORKER_FAILED, takes no step, then trains on one thread like the single-thread core', () => {
    const { net, x, y } = wide();
    const optimizer = new lib.Adam(net.parameters(), { lr: 1e-3 });
    const loss = new lib.MSELoss();
    try {
      net.trainStep(x, y, loss, optimizer);
      setFailAfterMs(100);
      die();
      // a worker dies holding a chunk; the caller takes it over, and once the worker has held it for 100 ms
      // the pool counts it dead: the step running then throws (within seconds of steps)
      let error: unknown = null;
      const started = performance.now();
      while (error === null && performance.now() - started < 20_000) {
        const before = {
          parameters: net.parameters().map((p) => p.data.slice()),
          step: optimizer.stepCount,
          state: optimizer.stateBuffers(),
        };
        try {
          net.trainStep(x, y, loss, optimizer);
        } catch (e) {
          error = e;
          expect({
            parameters: net.parameters().map((p) => p.data.slice()),
            step: optimizer.stepCount,
            state: optimizer.stateBuffers(),
          }).toEqual(before);
        }
      }
      expect(error).toMatchObject({ code: 'WORKER_FAILED', message: expect.stringContaining('nothing was updated') });
      expect(lib.threadsInfo()).toMatchObject({ requested: 2, active: 1 });
      expect(Number.isFinite(net.trainStep(x, y, loss, optimizer))).toBe(true);
      // predict still works, now on one thread
      expect(net.predict(x).length).toBe(100 * 4);
    } finally {
      setFailAfterMs(5000);
      net.dispose();
      optimizer.dispose();
    }
  }, 60_000);
});
