// Reliability: random call sequences against a float64 model of the state (fast-check), fuzzed files,
// flat memory over long runs, forgotten objects freed by the GC, determinism across processes, clipping.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Adam, BackpropError, Linear, MSELoss, Network, Relu, SGD, Tanh, init, memoryStats } from '../src/index';
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
  | { kind: 'train'; x: number[]; y: number[] }
  | { kind: 'forward'; x: number[] }
  | { kind: 'zeroGrad' }
  | { kind: 'step' }
  | { kind: 'setLr'; lr: number }
  | { kind: 'bad'; call: number; value: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  rowsOf(IN).chain((x) =>
    fc
      .array(finite, { minLength: (x.length / IN) * OUT, maxLength: (x.length / IN) * OUT })
      .map((y) => ({ kind: 'train' as const, x, y })),
  ),
  rowsOf(IN).map((x) => ({ kind: 'forward' as const, x })),
  fc.constant({ kind: 'zeroGrad' as const }),
  fc.constant({ kind: 'step' as const }),
  fc.double({ min: 1e-4, max: 0.2, noNaN: true }).map((lr) => ({ kind: 'setLr' as const, lr })),
  fc.record({
    kind: fc.constant('bad' as const),
    call: fc.integer({ min: 0, max: 9 }),
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

/** Bad calls: each must throw our error and change nothing. */
function badCall(net: Network, opt: SGD, call: number, value: number): () => unknown {
  const mse = new MSELoss();
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
              const loss = net.trainStep(op.x, op.y, new MSELoss(), opt);
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
                await badCall(net, opt, op.call, op.value)();
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
    forget(1); // the scratch area grows once to its working size
    gc();
    await new Promise((r) => setTimeout(r, 10));
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
