// Reliability: random call sequences against a float64 model of the state (fast-check), fuzzed files,
// flat memory over long runs, forgotten objects freed by the GC, determinism across processes, clipping.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Adam,
  BackpropError,
  Linear,
  MSELoss,
  Network,
  Relu,
  SGD,
  Tanh,
  createTrainer,
  init,
  memoryStats,
  type Optimizer,
} from '../src/index';
import { optimizerClass, optimizerTypes } from './kinds';
import * as ref from './reference';
import { referenceOf } from './kinds';
import { nodeDigest } from './determinism';

await init();

const IN = 3,
  OUT = 2;
const finite = fc.float({ min: -4, max: 4, noNaN: true, noDefaultInfinity: true });
const rowsOf = (width: number) =>
  fc.integer({ min: 1, max: 5 }).chain((batch) => fc.array(finite, { minLength: batch * width, maxLength: batch * width }));

type Op =
  | { kind: 'train'; x: number[]; y: number[]; typed: boolean }
  | { kind: 'forward'; x: number[] }
  | { kind: 'zeroGrad' }
  | { kind: 'step' }
  | { kind: 'setLr'; lr: number }
  | { kind: 'bad'; call: number; value: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  rowsOf(IN).chain((x) =>
    fc
      .tuple(fc.array(finite, { minLength: (x.length / IN) * OUT, maxLength: (x.length / IN) * OUT }), fc.boolean())
      .map(([y, typed]) => ({ kind: 'train' as const, x, y, typed })),
  ),
  rowsOf(IN).map((x) => ({ kind: 'forward' as const, x })),
  fc.constant({ kind: 'zeroGrad' as const }),
  fc.constant({ kind: 'step' as const }),
  fc.double({ min: 1e-4, max: 0.2, noNaN: true }).map((lr) => ({ kind: 'setLr' as const, lr })),
  fc.record({
    kind: fc.constant('bad' as const),
    call: fc.integer({ min: 0, max: 10 }),
    value: fc.constantFrom(NaN, Infinity, -Infinity, 1e39),
  }),
);

/** Every byte that training can change. */
function stateBytes(net: Network, opt: SGD): number[] {
  return [
    ...net.parameters().flatMap((p) => [...p.data, ...p.grad]),
    opt.stepCount,
    ...opt.stateBuffers().flatMap((b) => [...b]),
  ];
}

/** Bad calls: each must throw our error and change nothing (`mse`: the loss of the sequence's typed steps). */
function badCall(net: Network, opt: SGD, call: number, value: number, mse: MSELoss): () => unknown {
  const x = [0.5, value, 1],
    y = [1, 2];
  return [
    () => net.trainStep(x, y, mse, opt),
    () => net.trainStep([0.5, 1, 1], [value, 2], mse, opt),
    () => net.trainStep([0.5, 1], y, mse, opt),
    () => net.trainStep([0.5, 1, 1, 2, 3, 4], y, mse, opt),
    () => net.forward(x),
    () => net.trainStep([['a', 1, 2]] as never, y, mse, opt),
    () => {
      opt.lr = Number.isFinite(value) ? -value : value;
    },
    () => net.trainStep([0.5, 1, 1], y, {} as never, opt),
    () => net.fit([0.5, 1, 1], [value, 1], { loss: mse, optimizer: opt }),
    () => net.loadWeights(new Uint8Array([1, 2, 3])),
    () => net.trainStep(Float32Array.of(0.5, value, 1), Float32Array.of(1, 2), mse, opt),
  ][call];
}

describe('random API call sequences against a float64 model', () => {
  it('every call either matches the model or throws BackpropError and changes nothing (1,000 sequences)', async () => {
    const counts = { sequences: 0, calls: 0, invalid: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), fc.boolean(), async (ops, withMomentum) => {
        counts.sequences++;
        const net = new Network([new Linear(IN, 4), new Tanh(), new Linear(4, OUT)], { seed: 1 });
        const options = { lr: 0.05, momentum: withMomentum ? 0.9 : 0, weightDecay: withMomentum ? 0.01 : 0 };
        const opt = new SGD(net.parameters(), options);
        const mse = new MSELoss();
        let lr = options.lr;
        try {
          for (const op of ops) {
            counts.calls++;
            // the model starts from the network's exact current state
            const params = net.parameters();
            const before = params.map((p) => ({ data: Float64Array.from(p.data), grad: Float64Array.from(p.grad) }));
            const buffers = opt.stateBuffers().map((b) => Float64Array.from(b));
            /** torch.optim.SGD's update (dampening 0) from the state before the call, in float64. */
            const applySgd = (grads: Float64Array[]) =>
              before.map((b, k) => {
                const g = grads[k].map((v, i) => v + options.weightDecay * b.data[i]);
                if (!options.momentum) return b.data.map((p, i) => p - lr * g[i]);
                const buf = opt.stepCount === 0 ? g : buffers[k].map((m, i) => options.momentum * m + g[i]);
                return b.data.map((p, i) => p - lr * buf[i]);
              });
            const expectClose = (actual: Float32Array[], expected: Float64Array[]) => {
              actual.forEach((a, k) => expect(ref.maxRelativeError(a, expected[k], 1e-2)).toBeLessThan(1e-4));
            };
            if (op.kind === 'train') {
              const layers = referenceOf(net);
              const batch = op.x.length / IN;
              const acts = ref.forward(layers, op.x, batch);
              const grads = ref.backward(layers, acts, ref.mseGrad(acts.at(-1)!, op.y), batch);
              const flatGrads = [grads.weight[0]!, grads.bias[0]!, grads.weight[2]!, grads.bias[2]!];
              const expected = applySgd(flatGrads);
              // Float32Arrays with the sequence's one loss take the plain step and its repeats; arrays, the general path
              const loss = op.typed
                ? net.trainStep(Float32Array.from(op.x), Float32Array.from(op.y), mse, opt)
                : net.trainStep(op.x, op.y, new MSELoss(), opt);
              expect(Math.abs(loss - ref.mse(acts.at(-1)!, op.y))).toBeLessThan(1e-4 * Math.max(1, loss));
              expectClose(
                net.parameters().map((p) => p.data),
                expected,
              );
              expectClose(
                net.parameters().map((p) => p.grad),
                flatGrads,
              );
            } else if (op.kind === 'step') {
              const expected = applySgd(before.map((b) => b.grad));
              opt.step();
              expectClose(
                net.parameters().map((p) => p.data),
                expected,
              );
            } else if (op.kind === 'forward') {
              const out = net.forward(op.x);
              expect(ref.maxRelativeError(out, ref.forward(referenceOf(net), op.x, op.x.length / IN).at(-1)!)).toBeLessThan(1e-5);
            } else if (op.kind === 'zeroGrad') {
              net.zeroGrad();
              expect(net.parameters().every((p) => p.grad.every((g) => g === 0))).toBe(true);
            } else if (op.kind === 'setLr') {
              opt.lr = op.lr;
              lr = op.lr;
            } else {
              counts.invalid++;
              const snapshot = stateBytes(net, opt);
              let error: unknown = null;
              try {
                await badCall(net, opt, op.call, op.value, mse)();
              } catch (e) {
                error = e;
              }
              expect(error).toBeInstanceOf(BackpropError);
              expect(stateBytes(net, opt)).toEqual(snapshot);
              expect(opt.lr).toBe(lr);
            }
          }
        } finally {
          net.dispose();
          opt.dispose();
        }
      }),
      { numRuns: 1000, seed: 20261123 },
    );
    expect(counts.sequences).toBe(1000);
    expect(counts.invalid).toBeGreaterThan(500);
    console.log(`property test: ${counts.sequences} sequences, ${counts.calls} calls, ${counts.invalid} invalid calls`);
  });
});

// ---- lifecycles: objects created and disposed in random orders, oversized requests, calls on the dead ----

type LifeOp =
  | { kind: 'newLinear'; inF: number; outF: number; huge: boolean }
  | { kind: 'newNetwork'; pick: number; width: number }
  | { kind: 'newOptimizer'; pick: number; type: number }
  | { kind: 'train'; pick: number; rows: number; huge: boolean }
  | { kind: 'disposeLayer'; pick: number }
  | { kind: 'disposeNetwork'; pick: number }
  | { kind: 'disposeOptimizer'; pick: number }
  | { kind: 'trainer'; pick: number };

const lifeOpArb: fc.Arbitrary<LifeOp> = fc.oneof(
  fc.record({
    kind: fc.constant('newLinear' as const),
    inF: fc.integer({ min: 1, max: 6 }),
    outF: fc.integer({ min: 1, max: 6 }),
    huge: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('newNetwork' as const), pick: fc.nat(), width: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ kind: fc.constant('newOptimizer' as const), pick: fc.nat(), type: fc.nat() }),
  fc.record({ kind: fc.constant('train' as const), pick: fc.nat(), rows: fc.integer({ min: 1, max: 5 }), huge: fc.boolean() }),
  fc.record({ kind: fc.constant('disposeLayer' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('disposeNetwork' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('disposeOptimizer' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('trainer' as const), pick: fc.nat() }).filter((op) => op.pick % 10 === 0), // rare: a worker each
);

/** The outcome a call must have: 'ok', or the code of the BackpropError it must throw. */
async function outcome(call: () => unknown): Promise<string> {
  try {
    await call();
    return 'ok';
  } catch (error) {
    if (!(error instanceof BackpropError)) throw error;
    return error.code;
  }
}

describe('random lifecycles: a surviving network never changes because of another object, and memory stays bounded', () => {
  it('300 sequences of creating, training and disposing layers, networks, optimizers and trainers', async () => {
    const probe = Float32Array.from({ length: 6 }, (_, i) => Math.sin(i));
    const survivor = new Network([new Linear(3, 5), new Tanh(), new Linear(5, 2)], { seed: 9 });
    const survivorOpt = new Adam(survivor.parameters(), { lr: 0.01 });
    const expectedOut = Array.from(survivor.forward(probe));
    const expectedWeights = survivor.parameters().map((p) => Array.from(p.data));
    const baseline = memoryStats();
    let counts = { ops: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(lifeOpArb, { minLength: 1, maxLength: 20 }), async (ops) => {
        const layers: { layer: Linear; network: Network | null }[] = [];
        const networks: Network[] = [];
        const optimizers: { opt: Optimizer; network: Network }[] = [];
        const nth = <T>(items: T[], k: number) => (items.length ? items[k % items.length] : undefined);
        for (const op of ops) {
          counts.ops++;
          let expected = 'ok';
          let call: () => unknown;
          switch (op.kind) {
            case 'newLinear':
              if (op.huge) expected = 'OUT_OF_MEMORY';
              call = () => layers.push({ layer: op.huge ? new Linear(65536, 8192) : new Linear(op.inF, op.outF), network: null });
              break;
            case 'newNetwork': {
              const free = layers.filter((l) => l.network === null && !l.layer.disposed);
              const entry = nth(free, op.pick);
              const first = entry?.layer ?? new Linear(op.width, op.width);
              call = () => {
                const net = new Network([first, new Relu(), new Linear(first.outFeatures, 2)]);
                networks.push(net);
                if (entry) entry.network = net;
              };
              break;
            }
            case 'newOptimizer': {
              const net = nth(networks, op.pick);
              if (!net) continue;
              if (net.disposed) expected = 'DISPOSED';
              const type = optimizerTypes[op.type % optimizerTypes.length];
              call = () => optimizers.push({ opt: new (optimizerClass(type))(net.parameters(), { lr: 0.01 }), network: net });
              break;
            }
            case 'train': {
              const entry = nth(optimizers, op.pick);
              if (!entry) continue;
              const { opt, network } = entry;
              if (network.disposed || opt.disposed) expected = 'DISPOSED';
              else if (op.huge && network.inFeatures * 70000 * 4 > 2 ** 30) expected = 'OUT_OF_MEMORY';
              const rows = op.huge ? 70000 : op.rows;
              if (op.huge && expected === 'ok') continue; // a narrow network takes 70,000 rows: too slow to be worth it
              call = () =>
                network.trainStep(
                  new Float32Array(rows * network.inFeatures).fill(0.5),
                  new Float32Array(rows * 2),
                  new MSELoss(),
                  opt,
                );
              break;
            }
            case 'disposeLayer': {
              const entry = nth(layers, op.pick);
              if (!entry) continue;
              if (entry.network && !entry.network.disposed) expected = 'BAD_STATE';
              call = () => entry.layer.dispose();
              break;
            }
            case 'disposeNetwork': {
              const net = nth(networks, op.pick);
              if (!net) continue;
              call = () => net.dispose();
              break;
            }
            case 'disposeOptimizer': {
              const entry = nth(optimizers, op.pick);
              if (!entry) continue;
              call = () => entry.opt.dispose();
              break;
            }
            case 'trainer': {
              const net = nth(networks, op.pick);
              if (!net) continue;
              if (net.disposed) expected = 'DISPOSED';
              call = async () => {
                const trainer = createTrainer(net);
                try {
                  await trainer.fit(new Float32Array(4 * net.inFeatures), new Float32Array(8), {
                    loss: { type: 'MSELoss' },
                    optimizer: { type: 'SGD', lr: 0.01 },
                    epochs: 1,
                  });
                } finally {
                  trainer.terminate();
                }
              };
              break;
            }
          }
          const result = await outcome(call);
          if (result !== 'ok') counts.refused++;
          expect(result, JSON.stringify(op)).toBe(expected);
          // whatever happened to the others, the survivor computes as it did
          expect(Array.from(survivor.predict(probe))).toEqual(expectedOut);
        }
        // optimizers of disposed networks went with them
        for (const { opt, network } of optimizers) if (network.disposed) expect(opt.disposed).toBe(true);
        networks.forEach((n) => n.dispose());
        layers.forEach((l) => {
          if (!l.network) l.layer.dispose();
        });
        optimizers.forEach((o) => o.opt.dispose());
        const now = memoryStats();
        expect(now.liveObjects).toBeLessThanOrEqual(baseline.liveObjects + 1); // the staging area may have grown into one more block
      }),
      { numRuns: 300, seed: 20261124 },
    );
    expect(survivor.parameters().map((p) => Array.from(p.data))).toEqual(expectedWeights);
    console.log(
      `lifecycles: 300 sequences, ${counts.ops} operations, ${counts.refused} refused; memory ${baseline.wasmBytes} → ${memoryStats().wasmBytes} bytes`,
    );
    counts = { ops: 0, refused: 0 };
    survivor.dispose();
    expect(survivorOpt.disposed).toBe(true);
  }, 120_000);
});

describe('memory stays flat', () => {
  it('100,000 trainSteps', () => {
    const net = new Network([new Linear(1, 10), new Relu(), new Linear(10, 1)], { seed: 3 });
    const opt = new Adam(net.parameters(), { lr: 1e-4 });
    const mse = new MSELoss();
    const x = Float32Array.from({ length: 32 }, (_, i) => i / 32),
      y = x.map((v) => 2 * v);
    for (let i = 0; i < 100; i++) net.trainStep(x, y, mse, opt);
    const warm = memoryStats();
    for (let i = 0; i < 100_000; i++) net.trainStep(x, y, mse, opt);
    expect(memoryStats()).toEqual(warm);
    console.log(`100,000 trainSteps: WASM memory ${warm.wasmBytes} → ${memoryStats().wasmBytes} bytes`);
    net.dispose();
    opt.dispose();
  });

  it('10,000 networks created, trained and disposed', () => {
    const cycle = () => {
      const net = new Network([new Linear(16, 32), new Relu(), new Linear(32, 4)]);
      const opt = new SGD(net.parameters(), { lr: 0.1, momentum: 0.5 });
      net.trainStep(new Float32Array(16 * 8), new Float32Array(4 * 8), new MSELoss(), opt);
      net.dispose();
      opt.dispose();
    };
    for (let i = 0; i < 100; i++) cycle();
    const warm = memoryStats();
    for (let i = 0; i < 10_000; i++) cycle();
    expect(memoryStats()).toEqual(warm);
    console.log(`10,000 networks: WASM memory ${warm.wasmBytes} → ${memoryStats().wasmBytes} bytes`);
  });

  it('networks that are never disposed are freed when garbage-collected', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const forget = (count: number) => {
      for (let i = 0; i < count; i++) {
        const net = new Network([new Linear(64, 64), new Relu(), new Linear(64, 8)]);
        new SGD(net.parameters(), { lr: 0.1, momentum: 0.9 });
        net.forward(new Float32Array(64 * 4));
      }
    };
    const collect = async () => {
      // a WeakRef (optimizers are weakly held by their layers) keeps its target until the current job ends
      for (let round = 0; round < 3; round++) {
        gc();
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    forget(1); // the scratch area grows once to its working size
    await collect();
    const start = memoryStats();
    forget(200);
    expect(memoryStats().liveObjects).toBeGreaterThan(start.liveObjects + 500);
    for (let round = 0; round < 10 && memoryStats().liveObjects > start.liveObjects; round++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(memoryStats().liveObjects).toBe(start.liveObjects);
    expect(memoryStats().liveBytes).toBe(start.liveBytes);
  });
});

describe('fuzzed network JSON', () => {
  it('2,000 seeded mutations of toJSON text: loaded, or a BackpropError; memory back where it was', () => {
    const text = JSON.stringify(new Network([new Linear(2, 3), new Relu(), new Linear(3, 1)], { seed: 2 }));
    const random = ref.testRandom(5);
    const start = memoryStats();
    let loaded = 0,
      rejected = 0;
    for (let trial = 0; trial < 2000; trial++) {
      const chars = [...text];
      const edits = 1 + Math.floor(random() * 3);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(random() * chars.length);
        const choice = random();
        if (choice < 0.4) chars[at] = '{}[]",:0123456789-e.ntrufalsLinearReLU'[Math.floor(random() * 38)];
        else if (choice < 0.7) chars.splice(at, 1);
        else chars.splice(at, 0, chars[Math.floor(random() * chars.length)]);
      }
      try {
        Network.fromJSON(chars.join('')).dispose();
        loaded++;
      } catch (error) {
        expect(error).toBeInstanceOf(BackpropError);
        rejected++;
      }
    }
    expect(memoryStats().liveBytes).toBe(start.liveBytes);
    expect(rejected).toBeGreaterThan(1000);
    console.log(`fuzzed JSON: ${loaded} loaded, ${rejected} rejected`);
  });

  it('huge sizes in a small file are refused before anything is allocated', () => {
    const start = memoryStats();
    const json = {
      format: 'backprop-wasm',
      version: 1,
      layers: [{ type: 'Linear', inFeatures: 1 << 24, outFeatures: 1 << 24, bias: true }],
      parameters: {},
    };
    expect(() => Network.fromJSON(json as never)).toThrow(/no tensor "0.weight"/);
    expect(memoryStats()).toEqual(start);
  });
});

describe('determinism', () => {
  it('the same seed gives bit-identical weights after 1,000 steps in separate processes', () => {
    const first = nodeDigest();
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(nodeDigest()).toBe(first);
  });
});

describe('gradient clipping', () => {
  it('scales gradients to the max norm as clip_grad_norm_ before the update', () => {
    const net = new Network([new Linear(3, 4), new Linear(4, 2)], { seed: 4 });
    const opt = new SGD(net.parameters(), { lr: 0.1, clipGradNorm: 0.5 });
    const random = ref.testRandom(3);
    const params = net.parameters();
    params.forEach((p) => p.grad.set(ref.randomArray(random, p.size, 3)));
    const norm = Math.sqrt(params.reduce((s, p) => s + p.grad.reduce((a, g) => a + g * g, 0), 0));
    const coefficient = 0.5 / (norm + 1e-6);
    const expected = params.map((p) => Array.from(p.data, (v, i) => v - 0.1 * p.grad[i] * coefficient));
    opt.step();
    params.forEach((p, k) => expect(ref.maxRelativeError(p.data, expected[k])).toBeLessThan(1e-6));
    const clippedNorm = Math.sqrt(params.reduce((s, p) => s + p.grad.reduce((a, g) => a + g * g, 0), 0));
    expect(clippedNorm).toBeCloseTo(0.5, 4);
    expect(() => new SGD(params, { clipGradNorm: 0 })).toThrow(/clipGradNorm/);
  });

  it('leaves small gradients alone', () => {
    const net = new Network([new Linear(2, 2)], { seed: 4 });
    const opt = new Adam(net.parameters(), { clipGradNorm: 100 });
    net.parameters().forEach((p) => p.grad.fill(0.01));
    opt.step();
    expect(net.parameters().every((p) => p.grad.every((g) => g === Math.fround(0.01)))).toBe(true);
  });
});
