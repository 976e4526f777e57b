// The public API: shapes and types in and out, errors that leave everything as it was, live views,
// seeds, disposal.
import { describe, expect, it } from 'vitest';
import {
  BackpropError,
  Generator,
  LeakyReLU,
  LeakyRelu,
  Linear,
  MSELoss,
  Network,
  ReLU,
  Relu,
  SGD,
  Sigmoid,
  Tanh,
  init,
  manualSeed,
  memoryStats,
} from '../src/index';
import * as ref from './reference';

await init();

function seedNet(): Network {
  return new Network([new Linear(1, 10), new Relu(), new Linear(10, 1)], { seed: 3 });
}

/** What a training call can change: parameters, gradients, the optimizer's step count and state. */
function snapshot(net: Network, opt?: SGD): number[][] {
  const params = net.parameters().flatMap((p) => [Array.from(p.data), Array.from(p.grad)]);
  return opt ? [...params, [opt.stepCount], ...opt.stateBuffers().map((b) => Array.from(b))] : params;
}

describe('construction', () => {
  it('chains layer sizes and reports the first mismatch', () => {
    expect(() => new Network([new Linear(1, 10), new Relu(), new Linear(5, 1)])).toThrow(
      /layers\[2\] \(Linear\(in_features=5, out_features=1, bias=true\)\) expects 5 inputs, but layers\[1\] \(ReLU\(\)\) gives 10/,
    );
    expect(() => new Network([])).toThrow(/non-empty array of layers/);
    expect(() => new Network([new Relu()])).toThrow(/a layer that knows its input size \(Linear, LayerNorm or BatchNorm1d\)/);
    expect(() => new Network([new Linear(2, 2), {} as never])).toThrow(/layers\[1\] to be a Layer/);
    expect(() => new Linear(0, 3)).toThrow(/inFeatures to be a positive integer, got 0/);
    expect(() => new Linear(2.5, 3)).toThrow(/got 2.5/);
    expect(() => new Network([new Linear(1, 1)], { seed: -1 })).toThrow(/seed/);
    expect(() => new Network([new Linear(1, 1)], { sed: 1 } as never)).toThrow(/unknown Network option "sed"/);
  });

  it('a Linear layer belongs to one network; activation layers can be shared', () => {
    const lin = new Linear(2, 2);
    const relu = new Relu();
    const net = new Network([lin, relu]);
    expect(() => new Network([lin])).toThrow(/already belongs to a network/);
    const other = new Network([new Linear(2, 2), relu, new Linear(2, 2), relu]);
    expect(other.forward([[1, -1]])).toHaveLength(2);
    net.dispose();
    other.dispose();
  });

  it('exports PyTorch and camel-case names for the same classes', () => {
    expect(ReLU).toBe(Relu);
    expect(LeakyReLU).toBe(LeakyRelu);
    expect(String(new Network([new Linear(2, 3), new LeakyRelu(0.2), new Linear(3, 1, { bias: false }), new Sigmoid()]))).toBe(
      'Network(\n  (0): Linear(in_features=2, out_features=3, bias=true)\n  (1): LeakyReLU(negative_slope=0.2)\n' +
        '  (2): Linear(in_features=3, out_features=1, bias=false)\n  (3): Sigmoid()\n)',
    );
  });
});

describe('initialisation', () => {
  it("is PyTorch's U(−1/√in, 1/√in) for weight and bias, from the seed", () => {
    const lin = new Linear(400, 50);
    new Network([lin], { seed: 5 });
    const bound = 1 / Math.sqrt(400);
    for (const values of [lin.weight, lin.bias!]) {
      expect(Math.max(...values)).toBeLessThanOrEqual(bound);
      expect(Math.min(...values)).toBeGreaterThanOrEqual(-bound);
    }
    const mean = lin.weight.reduce((a, b) => a + b, 0) / lin.weight.length;
    const variance = lin.weight.reduce((a, b) => a + (b - mean) ** 2, 0) / lin.weight.length;
    expect(Math.abs(mean)).toBeLessThan(bound * 0.05);
    expect(Math.abs(variance - bound ** 2 / 3) / (bound ** 2 / 3)).toBeLessThan(0.05);
  });

  it('the same seed gives the same network; another seed, another', () => {
    const weights = (seed: number) =>
      seedNetWith(seed)
        .parameters()
        .map((p) => Array.from(p.data));
    expect(weights(3)).toEqual(weights(3));
    expect(weights(3)).not.toEqual(weights(4));
    manualSeed(9);
    const a = new Linear(3, 3).weight.slice();
    manualSeed(9);
    expect(new Linear(3, 3).weight).toEqual(a);
  });

  it('a Generator gives reproducible streams and checks its arguments', () => {
    const g1 = new Generator(1),
      g2 = new Generator(1);
    expect(g1.normal(5)).toEqual(g2.normal(5));
    expect(g1.uniform(3, 2, 4).every((v) => v >= 2 && v < 4)).toBe(true);
    expect(g1.below(10)).toBeLessThan(10);
    expect(() => g1.uniform(-1)).toThrow(/count/);
    g1.dispose();
    expect(() => g1.normal(1)).toThrow(BackpropError);
  });
});

function seedNetWith(seed: number): Network {
  return new Network([new Linear(1, 10), new Relu(), new Linear(10, 1)], { seed });
}

describe('forward, backward and trainStep', () => {
  it('accept Float32Array, number[][], flat number[] and Float64Array alike', () => {
    const net = new Network([new Linear(2, 3), new Tanh(), new Linear(3, 2)], { seed: 1 });
    const rows = [
      [0.5, -1],
      [2, 0.25],
      [0, 3],
    ];
    const expected = net.forward(Float32Array.from(rows.flat()));
    expect(expected).toBeInstanceOf(Float32Array);
    expect(expected).toHaveLength(6);
    expect(net.forward(rows)).toEqual(expected);
    expect(net.forward(rows.flat())).toEqual(expected);
    expect(net.forward(Float64Array.from(rows.flat()))).toEqual(expected);
  });

  it('parameters() are named as state_dict and are live views', () => {
    const net = seedNet();
    const params = net.parameters();
    expect(params.map((p) => [p.name, p.shape])).toEqual([
      ['0.weight', [10, 1]],
      ['0.bias', [10]],
      ['2.weight', [1, 10]],
      ['2.bias', [1]],
    ]);
    const lin = net.layers[2] as Linear;
    params[3].data[0] = 42;
    expect(lin.bias![0]).toBe(42);
    lin.weight.fill(0);
    expect(Array.from(net.forward([[1], [2]]))).toEqual([42, 42]);
  });

  it('backward accumulates gradients until zeroGrad, as PyTorch', () => {
    const net = seedNet();
    const x = [[0.3], [-1.2], [2]];
    net.forward(x);
    net.backward([[1], [1], [1]]);
    const once = net.parameters().map((p) => Array.from(p.grad));
    net.backward([[1], [1], [1]]);
    net.parameters().forEach((p, k) =>
      expect(
        ref.maxRelativeError(
          p.grad,
          once[k].map((g) => 2 * g),
        ),
      ).toBeLessThan(1e-6),
    );
    net.zeroGrad();
    expect(net.parameters().every((p) => p.grad.every((g) => g === 0))).toBe(true);
  });

  it('trainStep is zeroGrad + forward + loss + backward + step, bit for bit', () => {
    const random = ref.testRandom(5);
    const x = ref.randomArray(random, 24),
      y = ref.randomArray(random, 8);
    const build = () => new Network([new Linear(3, 6), new Sigmoid(), new Linear(6, 1)], { seed: 8 });
    const fused = build(),
      manual = build();
    const mse = new MSELoss();
    const optFused = new SGD(fused.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true });
    const optManual = new SGD(manual.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true });
    for (let step = 0; step < 5; step++) {
      const lossFused = fused.trainStep(x, y, mse, optFused);
      manual.zeroGrad();
      const lossManual = mse.forward(manual.forward(x), y);
      manual.backward(mse.backward());
      optManual.step();
      expect(lossFused).toBe(lossManual);
      expect(snapshot(fused, optFused)).toEqual(snapshot(manual, optManual));
    }
    expect(optFused.stepCount).toBe(5);
  });

  it('a trainStep repeated with the same loss and optimizer stays the general path, bit for bit, through every change between calls', () => {
    // Float32Array calls repeat what the last one staged (Network.repeatPlainStep); number[] calls take the
    // general path. Each change below must make the repeat stage again, or it would train on stale buffers.
    const build = () => new Network([new Linear(3, 5), new Tanh(), new Linear(5, 2)], { seed: 4 });
    const fast = build(),
      general = build();
    const sgd = (net: Network) => new SGD(net.parameters(), { lr: 0.1, momentum: 0.9 });
    let optFast = sgd(fast),
      optGeneral = sgd(general);
    let loss = new MSELoss();
    const random = ref.testRandom(9);
    const step = (rows: number, times = 2) => {
      for (let t = 0; t < times; t++) {
        const x = Float32Array.from(ref.randomArray(random, rows * 3)),
          y = Float32Array.from(ref.randomArray(random, rows * 2));
        expect(fast.trainStep(x, y, loss, optFast)).toBe(general.trainStep(Array.from(x), Array.from(y), loss, optGeneral));
        expect(snapshot(fast, optFast)).toEqual(snapshot(general, optGeneral));
      }
    };
    step(1, 3);
    step(4); // another batch size
    step(1);
    for (const net of [fast, general]) net.forward(ref.randomArray(random, 20 * 3)); // the batch buffers move
    step(1);
    const wasmBytes = memoryStats().wasmBytes;
    const big = new Network([new Linear(Math.ceil(wasmBytes / 8192) + 1, 1024)]); // weights and gradients: more than the memory holds
    expect(memoryStats().wasmBytes).toBeGreaterThan(wasmBytes);
    step(1);
    big.dispose();
    const rows = [[0.5, -1, 2]];
    expect(fast.trainStep(rows, [[1, 0]], loss, optFast)).toBe(general.trainStep(rows, [[1, 0]], loss, optGeneral)); // the config is rewritten
    step(1);
    optFast.lr = optGeneral.lr = 0.05;
    step(1);
    [optFast, optGeneral] = [sgd(fast), sgd(general)]; // new optimizers, new state
    step(1);
    loss = new MSELoss({ reduction: 'sum' });
    step(1);
    const before = snapshot(fast, optFast);
    expect(() => fast.trainStep(Float32Array.of(NaN, 0, 0), Float32Array.of(0, 0), loss, optFast)).toThrow(BackpropError);
    expect(snapshot(fast, optFast)).toEqual(before);
    step(1);
    optFast.dispose();
    expect(() => fast.trainStep(Float32Array.of(0, 0, 0), Float32Array.of(0, 0), loss, optFast)).toThrow(
      expect.objectContaining({ code: 'DISPOSED' }),
    );
    expect(snapshot(fast)).toEqual(snapshot(general));
    [optFast, optGeneral] = [sgd(fast), sgd(general)];
    step(1);
    fast.dispose(); // with the loss and optimizer of the last step
    expect(() => fast.trainStep(Float32Array.of(0, 0, 0), Float32Array.of(0, 0), loss, optFast)).toThrow(
      expect.objectContaining({ code: 'DISPOSED' }),
    );
    general.dispose();
  });

  it('MSELoss has mean and sum reductions', () => {
    const mean = new MSELoss(),
      sum = new MSELoss({ reduction: 'sum' });
    expect(mean.forward([1, 2, 3, 4], [0, 0, 0, 0])).toBeCloseTo(7.5, 6);
    expect(sum.forward([1, 2, 3, 4], [0, 0, 0, 0])).toBeCloseTo(30, 5);
    expect(Array.from(sum.backward())).toEqual([2, 4, 6, 8]);
    expect(() => new MSELoss({ reduction: 'none' as never })).toThrow(/reduction to be one of 'mean', 'sum'/);
    expect(() => new MSELoss().backward()).toThrow(/forward\(\) first/);
  });
});

describe('bad input: a clear error, nothing changed', () => {
  const mse = new MSELoss();

  function expectUntouched(call: (n: Network, o: SGD) => unknown, code: string, message: RegExp) {
    const net = seedNet();
    const opt = new SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
    net.trainStep([[1], [2]], [[1], [2]], mse, opt); // some gradient and momentum state to protect
    const before = snapshot(net, opt);
    const optimizerBytes = opt.snapshot();
    let error: unknown;
    try {
      call(net, opt);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BackpropError);
    expect((error as BackpropError).code).toBe(code);
    expect((error as Error).message).toMatch(message);
    expect(snapshot(net, opt)).toEqual(before);
    expect(opt.snapshot()).toEqual(optimizerBytes);
    // and training goes on exactly as if the bad call never happened
    const twin = seedNet();
    const twinOpt = new SGD(twin.parameters(), { lr: 0.01, momentum: 0.9 });
    twin.trainStep([[1], [2]], [[1], [2]], mse, twinOpt);
    expect(net.trainStep([[3]], [[1]], mse, opt)).toBe(twin.trainStep([[3]], [[1]], mse, twinOpt));
    expect(snapshot(net, opt)).toEqual(snapshot(twin, twinOpt));
  }

  const cases: [string, (n: Network, o: SGD) => unknown, string, RegExp][] = [
    ['x of the wrong width', (n) => n.forward([[1, 2]]), 'SHAPE_MISMATCH', /x\[0\] to have 1 values, got 2/],
    [
      'x length not a multiple of the input size',
      (_n) => new Network([new Linear(3, 1)]).forward(new Float32Array(7)),
      'SHAPE_MISMATCH',
      /got 7 values, which is not a multiple of 3/,
    ],
    [
      'target rows ≠ x rows',
      (n, o) => n.trainStep([[1], [2]], [[1]], mse, o),
      'SHAPE_MISMATCH',
      /target to have 2 rows of 1.*got 1/,
    ],
    [
      'target row width ≠ output width',
      (n, o) => n.trainStep([[1]], [[1, 2]], mse, o),
      'SHAPE_MISMATCH',
      /target\[0\] to have 1 values, got 2/,
    ],
    ['NaN in x', (n, o) => n.trainStep([[1], [NaN]], [[1], [2]], mse, o), 'NON_FINITE', /got NaN at x\[1\]/],
    [
      'Infinity in target',
      (n, o) => n.trainStep([[1], [2]], Float32Array.of(1, Infinity), mse, o),
      'NON_FINITE',
      /got Infinity at target\[1\]/,
    ],
    ['a float32 overflow in x', (n) => n.forward([[1e39]]), 'NON_FINITE', /1e\+39 overflows float32/],
    ['a string in x', (n) => n.forward([['1']] as never), 'BAD_TYPE', /x\[0\]\[0\] to be a number, got the string "1"/],
    ['null in x', (n) => n.forward([1, null] as never), 'BAD_TYPE', /x\[1\] to be a number, got null/],
    ['x not an array', (n) => n.forward('hello' as never), 'BAD_TYPE', /got the string "hello"/],
    ['empty x', (n) => n.forward([]), 'SHAPE_MISMATCH', /empty/],
    [
      'NaN in gradOutput',
      (n) => {
        n.forward([[1]]);
        return n.backward([NaN]);
      },
      'NON_FINITE',
      /gradOutput/,
    ],
    [
      'gradOutput of another batch',
      (n) => {
        n.forward([[1]]);
        return n.backward([1, 2]);
      },
      'SHAPE_MISMATCH',
      /gradOutput of 1 rows/,
    ],
    ['a loss that is not a Loss', (n, o) => n.trainStep([[1]], [[1]], {} as never, o), 'BAD_TYPE', /expected loss to be a Loss/],
    ['an optimizer that is not one', (n) => n.trainStep([[1]], [[1]], mse, {} as never), 'BAD_TYPE', /expected optimizer/],
    [
      'a disposed optimizer',
      (n) => {
        const o = new SGD(n.parameters(), { lr: 0.1 });
        o.dispose();
        return n.trainStep([[1]], [[1]], mse, o);
      },
      'DISPOSED',
      /SGD has been disposed/,
    ],
  ];
  for (const [name, call, code, message] of cases) {
    it(name, () => expectUntouched(call, code, message));
  }
});

describe('memory', () => {
  it('views read the right data after the WASM memory grows', () => {
    const net = seedNet();
    const lin = net.layers[0] as Linear;
    const before = lin.weight.slice();
    const oldView = lin.weight;
    const pages = memoryStats().wasmBytes;
    const big = new Network([new Linear(2048, 2048)]); // 16 MiB of weights and grads: the memory must grow
    expect(memoryStats().wasmBytes).toBeGreaterThan(pages);
    expect(oldView.length).toBe(0); // the old buffer is detached, as WebAssembly specifies
    expect(lin.weight).toEqual(before);
    expect(net.parameters()[0].data).toEqual(before);
    big.dispose();
    net.dispose();
  });

  it('dispose frees everything it owned; use after dispose throws DISPOSED', () => {
    const start = memoryStats();
    const net = seedNet();
    const opt = new SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
    net.trainStep([[1], [2], [3]], [[1], [2], [3]], new MSELoss(), opt);
    expect(memoryStats().liveBytes).toBeGreaterThan(start.liveBytes);
    const param = net.parameters()[0];
    net.dispose();
    opt.dispose();
    expect(memoryStats().liveBytes).toBe(start.liveBytes);
    expect(memoryStats().liveObjects).toBe(start.liveObjects);
    for (const call of [
      () => net.forward([[1]]),
      () => net.parameters(),
      () => param.data,
      () => net.zeroGrad(),
      () => opt.step(),
    ]) {
      expect(call).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
    }
    net.dispose(); // twice is harmless
  });
});

describe('init schemes', () => {
  const stats = (values: Float32Array) => {
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
    return { mean, std: Math.sqrt(variance), max: Math.max(...values.map(Math.abs)) };
  };
  const fanIn = 300,
    fanOut = 200;
  // expected standard deviation and, for uniform schemes, the bound (torch.nn.init's formulas)
  const cases: [string, number, number | null][] = [
    ['kaimingUniform', Math.sqrt(2 / fanIn), Math.sqrt(6 / fanIn)],
    ['kaimingNormal', Math.sqrt(2 / fanIn), null],
    ['xavierUniform', Math.sqrt(2 / (fanIn + fanOut)), Math.sqrt(6 / (fanIn + fanOut))],
    ['xavierNormal', Math.sqrt(2 / (fanIn + fanOut)), null],
  ];
  for (const [scheme, std, bound] of cases) {
    it(`${scheme}: std ${std.toFixed(4)}${bound ? `, within ±${bound.toFixed(4)}` : ''}, zero bias`, () => {
      const lin = new Linear(fanIn, fanOut, { init: scheme as never, generator: new Generator(1) });
      const s = stats(lin.weight);
      expect(Math.abs(s.mean)).toBeLessThan(0.02 * std * 10);
      expect(Math.abs(s.std - std) / std).toBeLessThan(0.02);
      if (bound) expect(s.max).toBeLessThanOrEqual(bound);
      expect(lin.bias!.every((b) => b === 0)).toBe(true);
    });
  }

  it('zeros, and unknown schemes are refused', () => {
    const lin = new Linear(3, 2, { init: 'zeros' });
    expect([...lin.weight, ...lin.bias!].every((v) => v === 0)).toBe(true);
    expect(() => new Linear(3, 2, { init: 'he' as never })).toThrow(/init to be one of 'default', 'kaimingUniform'/);
  });

  it('a Network seed re-draws every layer by its own scheme', () => {
    const a = new Network([new Linear(50, 40, { init: 'xavierNormal' }), new Linear(40, 2)], { seed: 3 });
    const b = new Network([new Linear(50, 40, { init: 'xavierNormal' }), new Linear(40, 2)], { seed: 3 });
    expect((a.layers[0] as Linear).weight).toEqual((b.layers[0] as Linear).weight);
    expect((a.layers[0] as Linear).bias!.every((v) => v === 0)).toBe(true);
    expect((a.layers[1] as Linear).bias!.some((v) => v !== 0)).toBe(true);
  });
});
