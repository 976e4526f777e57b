// Memory safety and lifetimes: no call reads freed memory, wraps a size, or leaves the library unusable.
// One test per case of the issue that found them (numbered as there), each reproducing it as a user would.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  Adam,
  BackpropError,
  CrossEntropyLoss,
  Linear,
  MSELoss,
  Network,
  ReLU,
  RMSprop,
  SGD,
  Adagrad,
  AdamW,
  Sigmoid,
  createTrainer,
  init,
  manualSeed,
  memoryStats,
} from '../src/index';

await init();

const root = resolve(__dirname, '..');
const dist = JSON.stringify(resolve(root, 'dist/index.js'));
const x = [
  [0, 0],
  [0, 1],
  [1, 0],
  [1, 1],
];
const y = [[0], [1], [1], [0]];
const xor = (seed = 1) => new Network([new Linear(2, 8), new ReLU(), new Linear(8, 1)], { seed });
const weights = (net: Network) => net.parameters().map((p) => Array.from(p.data));

function expectCode(call: () => unknown, code: string, message?: RegExp) {
  let thrown: unknown;
  try {
    call();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'expected a BackpropError').toBeInstanceOf(BackpropError);
  expect((thrown as BackpropError).code).toBe(code);
  if (message) expect((thrown as Error).message).toMatch(message);
}

/** Runs an ES module in a fresh Node process; returns its stdout (throws with stderr on failure). */
function runModule(code: string, flags: string[] = [], timeout = 120_000): string {
  const result = spawnSync(process.execPath, [...flags, '--input-type=module', '-e', code], { encoding: 'utf8', timeout });
  if (result.status !== 0) throw new Error(`exit ${result.status} ${result.signal ?? ''}: ${result.stderr}`);
  return result.stdout;
}

describe('1. a layer of a live network cannot be disposed alone', () => {
  it('dispose() is refused with BAD_STATE, and every method of the network keeps computing with the layer', () => {
    const net = xor();
    const opt = new SGD(net.parameters(), { lr: 0.1 });
    const before = net.forward(x);
    expectCode(() => net.layers[0].dispose(), 'BAD_STATE', /belongs to a Network.*net\.dispose\(\)/);
    // another Linear allocated now cannot take the layer's block
    const other = new Linear(2, 8);
    other.weight.fill(100);
    expect(net.forward(x)).toEqual(before);
    expect(net.predict(x)).toEqual(before);
    net.zeroGrad();
    net.forward(x);
    net.backward(new Float32Array(4).fill(1));
    expect(Array.from((net.layers[0] as Linear).weightGrad).some((g) => g !== 0)).toBe(true);
    expect(Array.from(other.weightGrad).every((g) => g === 0)).toBe(true);
    expect(Number.isFinite(net.trainStep(x, y, new MSELoss(), opt))).toBe(true);
    expect(Number.isFinite(net.evaluate(x, y, new MSELoss()).loss)).toBe(true);
    expect(net.trace(x, y, new MSELoss()).layers).toHaveLength(2);
    other.dispose();
    net.dispose();
    // once the network is gone, its layers are too
    expect((net.layers[0] as Linear).disposed).toBe(true);
    expect(() => net.layers[0].dispose()).not.toThrow();
  });
});

describe('2. sizes that a 32-bit WASM memory cannot hold are refused before anything is allocated', () => {
  it('new Linear(65536, 8192) (4,295,032,832 bytes, which wraps to 65,536 in 32 bits) is OUT_OF_MEMORY', () => {
    const before = memoryStats();
    expectCode(
      () => new Linear(65536, 8192),
      'OUT_OF_MEMORY',
      /Linear\(in_features=65536, out_features=8192.*would take 4\.00 GiB/,
    );
    expect(memoryStats().liveBytes).toBe(before.liveBytes);
    // and everything still works: a new network trains
    const net = xor();
    const opt = new SGD(net.parameters(), { lr: 0.1 });
    expect(Number.isFinite(net.trainStep(x, y, new MSELoss(), opt))).toBe(true);
    net.dispose();
  });

  it('batch buffers that would wrap (Linear(1, 4096) → ReLU → Linear(4096, 1), 65,517 rows) are OUT_OF_MEMORY, not a crash', () => {
    const net = new Network([new Linear(1, 4096), new ReLU(), new Linear(4096, 1)], { seed: 2 });
    const opt = new SGD(net.parameters(), { lr: 0.01 });
    const rows = new Float32Array(65517).fill(0.5);
    const w = weights(net);
    expectCode(() => net.forward(rows), 'OUT_OF_MEMORY', /batch buffers for 65517 rows would take 4\.00 GiB/);
    expectCode(() => net.trainStep(rows, rows, new MSELoss(), opt), 'OUT_OF_MEMORY');
    expectCode(() => net.predict(rows, { batchSize: 65517 }), 'OUT_OF_MEMORY');
    expect(weights(net)).toEqual(w);
    // the same network still runs batches it can hold
    expect(net.predict(rows.subarray(0, 1000))).toHaveLength(1000);
    expect(Number.isFinite(net.trainStep(rows.subarray(0, 64), rows.subarray(0, 64), new MSELoss(), opt))).toBe(true);
    net.dispose();
  });
});

describe('3. memory past 2 GiB', () => {
  it('pointers stay unsigned: a network allocated above 2 GiB trains exactly as one below, and a full memory is OUT_OF_MEMORY', () => {
    // the child fills 2.16 GB of WASM memory first; V8's --wasm-max-mem-pages caps the memory at 2.6 GB so
    // that running out of it is quick to reach
    const train = `
      import { init, Network, Linear, Tanh, MSELoss, SGD, BackpropError } from ${dist};
      await init();
      const fill = process.argv.includes('--fill');
      const big = fill ? [new Linear(16000, 8192, { init: 'zeros' }), new Linear(16000, 8192, { init: 'zeros' }), new Linear(4096, 2048, { init: 'zeros' })] : [];
      const net = new Network([new Linear(3, 64), new Tanh(), new Linear(64, 2)], { seed: 5 });
      const opt = new SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
      const x = Float32Array.from({ length: 60 }, (_, i) => Math.sin(i)), y = Float32Array.from({ length: 40 }, (_, i) => Math.cos(i));
      for (let i = 0; i < 200; i++) net.trainStep(x, y, new MSELoss(), opt);
      let refused = null;
      if (fill) {
        try { big.push(new Linear(16000, 8192, { init: 'zeros' })); } catch (e) { refused = e instanceof BackpropError ? e.code : String(e); }
        net.trainStep(x, y, new MSELoss(), opt);
      }
      const out = Array.from(net.predict(x));
      if (!fill) net.trainStep(x, y, new MSELoss(), opt); // the same steps as the filled run, after its refusal
      console.log(JSON.stringify({ above2GiB: net.parameters()[0].dataPtr >= 2 ** 31, refused, out, after: Array.from(net.predict(x)) }));
    `;
    const run = (args: string[]) => {
      const result = spawnSync(
        process.execPath,
        ['--wasm-max-mem-pages=40000', '--input-type=module', '-e', train, '--', ...args],
        {
          encoding: 'utf8',
          timeout: 180_000,
        },
      );
      if (result.status !== 0) throw new Error(result.stderr);
      return JSON.parse(result.stdout);
    };
    const low = run([]),
      high = run(['--fill']);
    expect(low.above2GiB).toBe(false);
    expect(high.above2GiB).toBe(true);
    expect(high.refused).toBe('OUT_OF_MEMORY');
    expect(high.after).toEqual(low.after);
  }, 240_000);
});

describe('4. disposing a network releases the optimizer state kept for its parameters', () => {
  it('optimizers over a disposed network are disposed with it (DISPOSED after), and hold no memory', () => {
    const warm = xor();
    warm.trainStep(x, y, new MSELoss(), new Adam(warm.parameters()));
    warm.dispose();
    const base = memoryStats();
    const kinds = [
      (p: ReturnType<Network['parameters']>) => new SGD(p, { lr: 0.1, momentum: 0.9 }),
      (p: ReturnType<Network['parameters']>) => new Adam(p),
      (p: ReturnType<Network['parameters']>) => new AdamW(p, { amsgrad: true }),
      (p: ReturnType<Network['parameters']>) => new RMSprop(p, { centered: true, momentum: 0.5 }),
      (p: ReturnType<Network['parameters']>) => new Adagrad(p),
    ];
    for (let i = 0; i < 500; i++) {
      const net = xor(i);
      const opt = kinds[i % kinds.length](net.parameters());
      net.trainStep(x, y, new MSELoss(), opt);
      net.dispose();
      expect(opt.disposed).toBe(true);
      expectCode(() => opt.step(), 'DISPOSED');
    }
    const after = memoryStats();
    expect(after.liveBytes).toBe(base.liveBytes);
    expect(after.liveObjects).toBe(base.liveObjects);
  });

  // trainStep() and fit() check only the optimizer itself before the core reads its parameter table: they rely
  // on this (every parameter's owner disposes the optimizer when it goes), so it must hold for every owner
  it('an optimizer over several owners is disposed by whichever goes first: a network, or a bare layer', () => {
    const [a, b] = [xor(1), xor(2)];
    const bare = new Linear(2, 3);
    const opt = new SGD([...a.parameters(), ...b.parameters(), ...bare.parameters()], { lr: 0.1 });
    a.trainStep(x, y, new MSELoss(), opt);
    bare.dispose();
    expect(opt.disposed).toBe(true);
    expectCode(() => a.trainStep(x, y, new MSELoss(), opt), 'DISPOSED');
    const other = new SGD([...a.parameters(), ...b.parameters()], { lr: 0.1 });
    b.dispose();
    expect(other.disposed).toBe(true);
    const before = a.parameters().map((p) => p.data.slice());
    expectCode(() => a.trainStep(Float32Array.of(0, 1), Float32Array.of(1), new MSELoss(), other), 'DISPOSED');
    expect(a.parameters().map((p) => p.data.slice())).toEqual(before);
    a.dispose();
  });

  it('memory stays flat over 10,000 networks, each trained one Adam step and dropped with its optimizer undisposed', () => {
    const warm = xor(0);
    warm.trainStep(x, y, new MSELoss(), new Adam(warm.parameters()));
    warm.dispose();
    const before = memoryStats();
    for (let i = 0; i < 10_000; i++) {
      const net = xor(i);
      net.trainStep(x, y, new MSELoss(), new Adam(net.parameters(), { lr: 0.01 }));
      net.dispose();
    }
    const after = memoryStats();
    console.log(
      `10,000 networks with undisposed Adam: WASM memory ${before.wasmBytes} → ${after.wasmBytes} bytes, live ${before.liveBytes} → ${after.liveBytes}`,
    );
    expect(after.wasmBytes).toBe(before.wasmBytes);
    expect(after.liveBytes).toBe(before.liveBytes);
  });
});

describe('5. an idle trainer does not keep Node alive', () => {
  it('a process that awaits trainer.fit() without terminate() exits', () => {
    const out = runModule(
      `import { init, Network, Linear, ReLU, createTrainer } from ${dist};
       await init();
       const net = new Network([new Linear(2, 4), new ReLU(), new Linear(4, 1)], { seed: 1 });
       const history = await createTrainer(net).fit([[0, 0], [1, 1]], [[0], [1]], { loss: { type: 'MSELoss' }, optimizer: { type: 'SGD', lr: 0.1 }, epochs: 3 });
       console.log(history.epochs.length);`,
      [],
      30_000,
    );
    expect(out.trim()).toBe('3');
  });
});

describe('6. the Node versions the package says it runs on', () => {
  it('engines names Node 20.16, the first with process.getBuiltinModule (which createTrainer needs)', () => {
    const { engines } = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));
    expect(engines.node).toBe('>=20.16');
    expect(typeof process.getBuiltinModule).toBe('function');
  });
});

describe('7. fit without a seed shuffles differently on every call, reproducibly under manualSeed', () => {
  it('epoch-at-a-time loops do not repeat one permutation', async () => {
    const data = Float32Array.from({ length: 64 }, (_, i) => (i % 7) / 7),
      target = Float32Array.from({ length: 32 }, (_, i) => i % 2);
    const run = async () => {
      manualSeed(11);
      const net = new Network([new Linear(2, 4), new Sigmoid(), new Linear(4, 1)], { seed: 3 });
      const opt = new SGD(net.parameters(), { lr: 0.5 });
      const losses: number[] = [];
      for (let e = 0; e < 4; e++)
        losses.push((await net.fit(data, target, { loss: new MSELoss(), optimizer: opt, batchSize: 4 })).loss[0]);
      const w = weights(net);
      net.dispose();
      return { losses, w };
    };
    const first = await run(),
      again = await run();
    expect(again).toEqual(first); // reproducible under manualSeed
    // a fixed order would give an identical first batch each call: shuffles differ, so the runs' orders do
    const orders = new Set<string>();
    manualSeed(11);
    const net = new Network([new Linear(2, 1)], { seed: 3 });
    for (let e = 0; e < 4; e++) {
      const seen: number[] = [];
      await net.fit(data, target, {
        loss: new MSELoss(),
        optimizer: new SGD(net.parameters(), { lr: 0 }),
        batchSize: 1,
        onBatchEnd: ({ loss }) => seen.push(loss),
      });
      orders.add(seen.join());
    }
    expect(orders.size).toBe(4);
    net.dispose();
  });
});

describe('8. read-only inference inside fit callbacks', () => {
  it('predict and evaluate are allowed in onEpochEnd and onBatchEnd; changing calls are still refused', async () => {
    const net = xor();
    const opt = new SGD(net.parameters(), { lr: 0.1 });
    const seen: number[] = [];
    await net.fit(x, y, {
      loss: new MSELoss(),
      optimizer: opt,
      epochs: 3,
      batchSize: 2,
      onBatchEnd: () => {
        seen.push(net.predict(x).length);
      },
      onEpochEnd: () => {
        seen.push(net.evaluate(x, y, new MSELoss()).loss);
        expectCode(() => net.trainStep(x, y, new MSELoss(), opt), 'BAD_STATE', /while fit\(\) is training/);
        expectCode(() => net.dispose(), 'BAD_STATE');
      },
    });
    expect(seen).toHaveLength(9);
    net.dispose();
  });
});

describe('9. a learning rate of 0', () => {
  it('every optimizer takes it, and a cosine schedule that ends at 0 finishes its fit', async () => {
    const net = xor();
    for (const make of [
      () => new SGD(net.parameters(), { lr: 0 }),
      () => new Adam(net.parameters(), { lr: 0 }),
      () => new AdamW(net.parameters(), { lr: 0 }),
      () => new RMSprop(net.parameters(), { lr: 0 }),
      () => new Adagrad(net.parameters(), { lr: 0 }),
    ]) {
      const opt = make();
      const w = weights(net);
      net.trainStep(x, y, new MSELoss(), opt);
      expect(weights(net)).toEqual(w);
      opt.dispose();
    }
    const opt = new SGD(net.parameters(), { lr: 0.1 });
    const epochs = 5;
    const history = await net.fit(x, y, {
      loss: new MSELoss(),
      optimizer: opt,
      epochs,
      onEpochEnd: ({ epoch }) => {
        opt.lr = 0.05 * (1 + Math.cos((Math.PI * epoch) / epochs));
      },
    });
    expect(opt.lr).toBe(0);
    expect(history.epochs).toHaveLength(epochs);
    net.dispose();
  });
});

describe('10. init() is idempotent after init({ simd: "relaxed" })', () => {
  it('resolves instead of throwing, and keeps the relaxed core', () => {
    const out = runModule(
      `import { init } from ${dist};
       await init({ simd: 'relaxed' });
       await init();
       await init({});
       let refused = '';
       try { await init({ simd: 'plain' }); } catch (e) { refused = e.code; }
       console.log(refused);`,
      ['--experimental-wasm-relaxed-simd'],
    );
    expect(out.trim()).toBe('BAD_STATE');
  });
});

describe('11. the trainer', () => {
  it('resolves at once for an already-aborted signal, and removes its abort listener when a fit ends', async () => {
    const net = xor();
    const trainer = createTrainer(net);
    const w = weights(net);
    const aborted = new AbortController();
    aborted.abort();
    const options = { loss: { type: 'MSELoss' as const }, optimizer: { type: 'SGD' as const, lr: 0.1 }, epochs: 3 };
    const history = await trainer.fit(x, y, { ...options, signal: aborted.signal });
    expect(history.stopReason).toBe('aborted');
    expect(history.epochs).toEqual([]);
    expect(weights(net)).toEqual(w);
    // a signal used for one fit and aborted after it does not stop the next
    const reused = new AbortController();
    await trainer.fit(x, y, { ...options, signal: reused.signal });
    reused.abort();
    const next = await trainer.fit(x, y, { ...options, epochs: 20 });
    expect(next.stopReason).toBe('completed');
    expect(next.epochs).toHaveLength(20);
    trainer.terminate();
    net.dispose();
  });

  it('refuses a disposed network at once, a bad optimizer spec cleanly, and main-thread training while it runs', async () => {
    const gone = xor();
    gone.dispose();
    expectCode(() => createTrainer(gone), 'DISPOSED');
    const net = xor();
    const trainer = createTrainer(net);
    await expect(
      trainer.fit(x, y, { loss: { type: 'MSELoss' }, optimizer: { type: 'SGD', lr: -1 } as never, epochs: 2 }),
    ).rejects.toMatchObject({ code: 'BAD_OPTION' });
    const running = trainer.fit(x, y, { loss: { type: 'MSELoss' }, optimizer: { type: 'SGD', lr: 0.1 }, epochs: 50 });
    expectCode(() => net.trainStep(x, y, new MSELoss(), new SGD(net.parameters(), { lr: 0.1 })), 'BAD_STATE', /Trainer fit\(\)/);
    expectCode(() => net.dispose(), 'BAD_STATE');
    expect((await running).epochs).toHaveLength(50);
    trainer.terminate();
    net.dispose();
  });
});

describe('12. messages that name the problem in a line', () => {
  it('new Linear(2), a class instead of an instance, float class labels', () => {
    expectCode(
      () => new Linear(2, undefined as never),
      'BAD_OPTION',
      /outFeatures to be a positive integer, got nothing \(usage: new Linear/,
    );
    let message = '';
    try {
      new Network([Linear as never]);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/got the class Linear itself \(create one with new Linear/);
    expect(message.length).toBeLessThan(200);
    const net = new Network([new Linear(2, 3)], { seed: 1 });
    expectCode(
      () =>
        net.trainStep(
          [
            [1, 2],
            [3, 4],
          ],
          Float32Array.of(0, 2),
          new CrossEntropyLoss(),
          new SGD(net.parameters()),
        ),
      'SHAPE_MISMATCH',
      /class labels must be integers/,
    );
    net.dispose();
  });
});

describe('13. the package', () => {
  it('README figures: the size of the .wasm the README states is the built one', () => {
    const readme = readFileSync(resolve(root, 'README.md'), 'utf8');
    const stated = /release module \(about (\d+) KB/.exec(readme);
    expect(stated, 'README states the .wasm size').not.toBeNull();
    const actual = readFileSync(resolve(root, 'build/backprop.wasm')).length / 1024;
    expect(Math.abs(actual - Number(stated![1]))).toBeLessThan(3);
    expect(execFileSync('git', ['check-ignore', 'src/generated/core-wasm.ts'], { cwd: root, encoding: 'utf8' }).trim()).toBe(
      'src/generated/core-wasm.ts',
    );
  });

  it('README figures: the gzipped size of the main module the README states is the built one', () => {
    const readme = readFileSync(resolve(root, 'README.md'), 'utf8');
    const stated = /is one (\d+) KB \(gzipped\) module/.exec(readme);
    expect(stated, 'README states the gzipped module size').not.toBeNull();
    const actual = gzipSync(readFileSync(resolve(root, 'dist/index.js'))).length / 1024;
    expect(Math.abs(actual - Number(stated![1])) / actual).toBeLessThan(0.1);
  });
});
