// init({ threads }): results bit-identical to the single-thread core for any thread count and any split of
// the products; bad options; a pool worker that dies mid-call (WORKER_FAILED, nothing changed, the library
// still usable on one thread); memory that stays flat over many threaded steps.
import { runModule } from './node-child';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as lib from '../src/index';
import { getCore } from '../src/core';
import { setFailAfterMs } from '../src/threads';
import { runSuite } from './threads/suite.mjs';

const THREADS = 3; // more than this machine's 2 cores: chunks interleave unevenly, which must not matter
const dist = resolve(__dirname, '../dist/index.js');
const suite = resolve(__dirname, 'threads/suite.mjs');

/** The suite in a Node process of its own on the built package, with these init options. */
function suiteInChild(options: object): { results: Record<string, string>; info: lib.ThreadsInfo } {
  const script = `
    import * as lib from ${JSON.stringify(dist)};
    import { runSuite } from ${JSON.stringify(suite)};
    await lib.init(${JSON.stringify(options)});
    console.log(JSON.stringify(await runSuite(lib)));`;
  return JSON.parse(runModule(script));
}

type Chunking = [minFlops: number, minColumns: number, perThread: number];
const chunkings: Record<string, Chunking> = {
  default: [2e6, 64, 4],
  'every product, 8-column chunks': [0, 8, 64],
  'every product, one chunk per thread': [0, 8, 1],
};
type PoolHooks = {
  poolSetChunking(a: number, b: number, c: number): void;
  poolSetAdaptive(on: boolean): void;
  poolStats(which: number): number;
};
/** Splits products as `chunking` says, every split product on the pool (no measuring whether it pays). */
function setChunking([minFlops, minColumns, perThread]: Chunking, adaptive = false) {
  const core = getCore() as unknown as PoolHooks;
  core.poolSetChunking(minFlops, minColumns, perThread);
  core.poolSetAdaptive(adaptive);
}

let reference: Record<string, string>;

beforeAll(async () => {
  await lib.init({ threads: THREADS });
  reference = suiteInChild({}).results; // the plain single-thread core
}, 120_000);

describe('threads: bit-identical to one thread', () => {
  it('runs a pool of the threads asked for', () => {
    expect(lib.threadsInfo()).toEqual({ requested: THREADS, active: THREADS, reason: null });
  });

  for (const [name, chunking] of Object.entries(chunkings)) {
    it(`${THREADS} threads, ${name}: every float of every case as on one thread`, async () => {
      setChunking(chunking);
      const pooled = () => (getCore() as unknown as PoolHooks).poolStats(1);
      try {
        const before = pooled();
        const { results } = await runSuite(lib);
        expect(pooled() - before).toBeGreaterThan(50); // the products did run on the pool
        expect(Object.keys(results).length).toBe(Object.keys(reference).length);
        for (const [test, print] of Object.entries(results)) expect([test, print]).toEqual([test, reference[test]]);
      } finally {
        setChunking(chunkings.default, true);
      }
    }, 120_000);
  }

  it('2 threads and the threads build on 1 thread, each in its own process', () => {
    const two = suiteInChild({ threads: 2 });
    expect(two.info).toEqual({ requested: 2, active: 2, reason: null });
    expect(two.results).toEqual(reference);
    expect(suiteInChild({ threads: 1 }).results).toEqual(reference);
  }, 120_000);
});

describe('threads: options', () => {
  it.each([0, -1, 1.5, NaN, Infinity, '2', 'all', null, 257])('refuses threads: %s with BAD_OPTION', async (threads) => {
    await expect(lib.init({ threads } as never)).rejects.toMatchObject({
      code: 'BAD_OPTION',
      message: expect.stringContaining("expected init option threads to be an integer from 1 to 256 or 'auto'"),
    });
  });

  it('refuses a different thread count once initialised (BAD_STATE), accepts the same one', async () => {
    await expect(lib.init({ threads: 2 })).rejects.toMatchObject({ code: 'BAD_STATE' });
    await expect(lib.init({ threads: THREADS })).resolves.toBeUndefined();
  });

  it("'auto' asks for the machine's hardware concurrency", () => {
    const script = `
      import * as lib from ${JSON.stringify(dist)};
      import { availableParallelism } from 'node:os';
      await lib.init({ threads: 'auto' });
      console.log(JSON.stringify({ info: lib.threadsInfo(), cores: availableParallelism() }));`;
    const { info, cores } = JSON.parse(runModule(script));
    expect(info).toEqual({ requested: cores, active: cores, reason: null });
  });
});

/** A network big enough for the pool, with an optimizer that has state, and a batch. */
function bigNetwork() {
  const net = new lib.Network(
    [new lib.Linear(256, 512), new lib.ReLU(), new lib.Linear(512, 512), new lib.ReLU(), new lib.Linear(512, 10)],
    {
      seed: 3,
    },
  );
  const optimizer = new lib.Adam(net.parameters(), { lr: 1e-3 });
  const x = Float32Array.from({ length: 128 * 256 }, (_, i) => Math.sin(i * 0.7));
  const y = Int32Array.from({ length: 128 }, (_, i) => i % 10);
  return { net, optimizer, x, y, loss: new lib.CrossEntropyLoss() };
}

const state = (net: lib.Network, optimizer: lib.Optimizer) => ({
  parameters: net.parameters().map((p) => p.data.slice()),
  step: optimizer.stepCount,
  lr: optimizer.lr,
  optimizer: optimizer.stateBuffers(),
});

describe('threads: long runs', () => {
  it('keeps memory flat over 1000 threaded steps', () => {
    const { net, optimizer, x, y, loss } = bigNetwork();
    try {
      for (let i = 0; i < 100; i++) net.trainStep(x.subarray(0, 64 * 256), y.subarray(0, 64), loss, optimizer);
      const before = lib.memoryStats();
      for (let i = 0; i < 1000; i++) net.trainStep(x.subarray(0, 64 * 256), y.subarray(0, 64), loss, optimizer);
      expect(lib.memoryStats()).toEqual(before);
      expect(lib.threadsInfo().active).toBe(THREADS);
    } finally {
      net.dispose();
      optimizer.dispose();
    }
  }, 120_000);
});

// Last: a dead worker leaves the core on one thread for the rest of this file.
describe('threads: a pool worker that dies', () => {
  const die = () => (getCore() as unknown as { poolDieOnNextChunk(): void }).poolDieOnNextChunk();

  it('rejects fit() with WORKER_FAILED and leaves the network and optimizer as they were before the call', async () => {
    const { net, optimizer, x, y, loss } = bigNetwork();
    try {
      net.trainStep(x, y, loss, optimizer); // some optimizer state to keep
      const before = state(net, optimizer);
      setFailAfterMs(100);
      // a worker dies holding a chunk after the first epoch; the caller takes the chunk over and, once the
      // worker has held it for 100 ms, the pool counts it dead: fit() rejects, the epochs before undone
      let epochs = 0;
      const fit = net.fit(x, y, {
        loss,
        optimizer,
        batchSize: 32,
        epochs: 2000,
        onEpochEnd: () => {
          if (++epochs === 1) die();
        },
      });
      await expect(fit).rejects.toMatchObject({ code: 'WORKER_FAILED', message: expect.stringContaining('nothing was updated') });
      expect(state(net, optimizer)).toEqual(before);
      expect(lib.threadsInfo()).toMatchObject({ requested: THREADS, active: 1, reason: expect.stringContaining('pool worker') });
      // still usable, now on one thread: the same step as the single-thread core takes from the same state
      const after = net.trainStep(x, y, loss, optimizer);
      expect(Number.isFinite(after)).toBe(true);
      expect(optimizer.stepCount).toBe(before.step + 1);
    } finally {
      setFailAfterMs(5000);
      net.dispose();
      optimizer.dispose();
    }
  }, 60_000);

  it('later calls run on one thread, bit-identical to the single-thread core', async () => {
    const { results, info } = await runSuite(lib);
    expect(info.active).toBe(1);
    expect(results).toEqual(reference);
  }, 120_000);
});
