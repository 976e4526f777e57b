// Dropout, LayerNorm and BatchNorm1d as a user meets them: train/eval mode and what follows it, masks from the
// network's seed, the refusals (p outside [0, 1), a batch of one row, a shape that does not match), buffers
// in files, a norm layer first; and net.summary(), parameterCount, clone(), predictClasses().
import { describe, expect, it } from 'vitest';
import {
  BackpropError,
  BatchNorm1d,
  CrossEntropyLoss,
  Dropout,
  LayerNorm,
  Linear,
  MSELoss,
  Network,
  ReLU,
  SGD,
  Sigmoid,
  init,
} from '../src/index';
import * as ref from './reference';
import { dropoutMask } from './kinds';

await init();
const random = ref.testRandom(31);

/** A Linear(n, n) that passes x through exactly (so the next layer sees x itself). */
function identityAt(net: Network, k: number): void {
  const lin = net.layers[k] as Linear;
  lin.weight.fill(0);
  for (let i = 0; i < lin.inFeatures; i++) lin.weight[i * lin.inFeatures + i] = 1;
  lin.bias?.fill(0);
}

const state = (net: Network) => [
  ...net.parameters().map((p) => Array.from(p.data)),
  ...net.buffers().map((b) => Array.from(b.data, Number)),
];

function bnNet(seed = 1) {
  return new Network([new Linear(3, 6), new BatchNorm1d(6), new ReLU(), new Dropout({ p: 0.3 }), new Linear(6, 2)], { seed });
}

describe('train and eval mode', () => {
  it('a new network trains; train()/eval() switch the mode that forward follows', () => {
    const net = new Network([new Linear(4, 4), new Dropout(0.5)], { seed: 2 });
    identityAt(net, 0);
    const x = ref.randomArray(random, 8 * 4, 1);
    expect(net.training).toBe(true);
    const trained = net.forward(x);
    expect(trained.some((v) => v === 0)).toBe(true);
    expect(net.eval()).toBe(net);
    expect(net.training).toBe(false);
    expect(net.forward(x)).toEqual(x); // identity in eval mode
    expect(net.train()).toBe(net);
    expect(net.training).toBe(true);
    expect(net.train(false).training).toBe(false);
    expect(() => net.train('yes' as never)).toThrow(BackpropError);
    net.dispose();
  });

  it('predict, predictClasses and evaluate use eval mode and restore the mode they found', () => {
    const net = bnNet();
    const x = ref.randomArray(random, 10 * 3, 2);
    const labels = Int32Array.from({ length: 10 }, (_, i) => i % 2);
    const evalOut = net.eval().forward(x);
    net.train();
    const before = state(net);
    expect(net.predict(x)).toEqual(evalOut);
    expect(net.training).toBe(true);
    const classes = net.predictClasses(x);
    expect(net.training).toBe(true);
    expect(Array.from(classes)).toEqual(Array.from({ length: 10 }, (_, r) => (evalOut[2 * r + 1] > evalOut[2 * r] ? 1 : 0)));
    const evaluation = net.evaluate(x, labels, new CrossEntropyLoss());
    expect(evaluation.loss).toBeCloseTo(new CrossEntropyLoss().forward(evalOut, labels, 2), 6);
    expect(net.training).toBe(true);
    expect(state(net)).toEqual(before); // no running statistic moved
    net.eval();
    net.predict(x);
    expect(net.training).toBe(false);
    net.dispose();
  });

  it('predictClasses: argmax per row (first on ties), a threshold for one output', () => {
    const net = new Network([new Linear(2, 3)], { seed: 1 });
    const lin = net.layers[0] as Linear;
    lin.weight.set([1, 0, 0, 1, -1, -1]);
    lin.bias!.set([0, 0, 0]);
    expect(
      Array.from(
        net.predictClasses([
          [1, 0],
          [0, 2],
          [-1, -1],
          [0, 0],
        ]),
      ),
    ).toEqual([0, 1, 2, 0]);
    const binary = new Network([new Linear(1, 1), new Sigmoid()], { seed: 1 });
    (binary.layers[0] as Linear).weight[0] = 1;
    (binary.layers[0] as Linear).bias![0] = 0;
    expect(Array.from(binary.predictClasses([[-2], [0.5], [3]]))).toEqual([0, 1, 1]);
    expect(Array.from(binary.predictClasses([[-2], [0.5], [3]], { threshold: 0.7 }))).toEqual([0, 0, 1]);
    expect(() => net.predictClasses([[1, 0]], { treshold: 1 } as never)).toThrow(/unknown predictClasses option/);
    net.dispose();
    binary.dispose();
  });

  it('fit trains in training mode, validates in eval mode, and leaves the mode as it found it', async () => {
    const net = bnNet(3);
    const x = ref.randomArray(random, 40 * 3, 2);
    const labels = Int32Array.from({ length: 40 }, (_, i) => (x[3 * i] > 0 ? 1 : 0));
    const validation = { x: x.subarray(0, 30), y: labels.subarray(0, 10) };
    let valFromCallback = NaN;
    net.eval();
    const history = await net.fit(x, labels, {
      loss: new CrossEntropyLoss(),
      optimizer: new SGD(net.parameters(), { lr: 0.05 }),
      epochs: 3,
      batchSize: 8,
      validation,
      onEpochEnd: () => {
        valFromCallback = net.evaluate(validation.x, validation.y, new CrossEntropyLoss()).loss;
        expect(net.training).toBe(true); // fit's own mode, restored by evaluate
      },
    });
    expect(net.training).toBe(false);
    expect(history.valLoss.at(-1)).toBe(valFromCallback);
    // 5 batches per epoch in training mode: BatchNorm1d counted them all
    expect((net.buffers().find((b) => b.name === '1.num_batches_tracked')!.data as BigInt64Array)[0]).toBe(15n);
    net.dispose();
  });

  it('trace says which mode it ran in and changes nothing (statistics, the Dropout generator)', () => {
    const net = bnNet(4);
    const twin = bnNet(4);
    const x = ref.randomArray(random, 6 * 3, 1);
    const y = Int32Array.of(0, 1, 0, 1, 1, 0);
    const before = state(net);
    expect(net.trace(x, y, new CrossEntropyLoss()).mode).toBe('train');
    expect(state(net)).toEqual(before);
    expect(net.forward(x)).toEqual(twin.forward(x)); // the same next mask as a network that did not trace
    net.eval();
    expect(net.trace(x, y, new CrossEntropyLoss()).mode).toBe('eval');
    net.dispose();
    twin.dispose();
  });
});

describe('Dropout', () => {
  it('draws its masks from the network seed: the same seed the same first mask, another seed another', () => {
    const make = (seed: number) => new Network([new Linear(5, 5), new Dropout()], { seed });
    const x = ref.randomArray(random, 20 * 5, 1);
    const [a, b, c] = [make(9), make(9), make(10)];
    a.forward(x);
    b.forward(x);
    c.forward(x);
    expect(dropoutMask(a, 1, 20)).toEqual(dropoutMask(b, 1, 20));
    expect(dropoutMask(a, 1, 20)).not.toEqual(dropoutMask(c, 1, 20));
    expect(new Dropout().p).toBe(0.5);
    [a, b, c].forEach((n) => n.dispose());
  });

  it('in training mode each value is 0 or exactly x·(1/(1 − p)) in float32, with about p of them 0', () => {
    const p = 0.3;
    const net = new Network([new Linear(50, 50), new Dropout({ p })], { seed: 5 });
    identityAt(net, 0);
    const x = ref.randomArray(random, 200 * 50, 3);
    const y = net.forward(x);
    const scale = Math.fround(1 / Math.fround(1 - p));
    let zeros = 0;
    y.forEach((v, i) => {
      if (v === 0) zeros++;
      else expect(v).toBe(Math.fround(x[i] * scale));
    });
    const n = y.length;
    expect(Math.abs(zeros / n - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / n));
    // ∂L/∂x is the mask times ∂L/∂y
    const g = ref.randomArray(random, n);
    const dx = net.backward(g);
    const mask = dropoutMask(net, 1, 200);
    dx.forEach((v, i) => expect(v === Math.fround(g[i] * mask[i])).toBe(true));
    net.dispose();
  });

  it('refuses p outside [0, 1)', () => {
    for (const p of [-0.1, 1, 1.5, NaN, '0.5']) {
      expect(() => new Dropout({ p } as never)).toThrow(/expected Dropout p to be a finite number in \[0, 1\)/);
    }
    expect(() => new Dropout({ q: 0.1 } as never)).toThrow(/unknown Dropout option "q"/);
    expect(new Dropout(0).toString()).toBe('Dropout(p=0, inplace=False)');
  });
});

describe('BatchNorm1d and LayerNorm', () => {
  it('refuse a batch of one row in training mode, as torch ("Expected more than 1 value per channel"), changing nothing', async () => {
    const net = bnNet(6);
    const opt = new SGD(net.parameters(), { lr: 0.1, momentum: 0.9 });
    const before = [state(net), Array.from(opt.snapshot())];
    const one = [[1, 2, 3]];
    expect(() => net.forward(one)).toThrow(
      /Expected more than 1 value per channel when training, got input size \[1, 6\] at layers\[1\]/,
    );
    expect(() => net.trainStep(one, Int32Array.of(1), new CrossEntropyLoss(), opt)).toThrow(BackpropError);
    const x = ref.randomArray(random, 33 * 3);
    const labels = new Int32Array(33);
    await expect(net.fit(x, labels, { loss: new CrossEntropyLoss(), optimizer: opt, batchSize: 32 })).rejects.toThrow(
      /leave a batch of 1/,
    );
    expect([state(net), Array.from(opt.snapshot())]).toEqual(before);
    expect(net.eval().forward(one)).toHaveLength(2); // the running statistics take one row
    // without running statistics, eval mode needs batch statistics too (as torch)
    const untracked = new Network([new Linear(3, 4), new BatchNorm1d(4, { trackRunningStats: false })]);
    untracked.eval();
    expect(() => untracked.forward(one)).toThrow(/in eval mode/);
    expect(() => untracked.predict(x, { batchSize: 32 })).toThrow(/Expected more than 1 value per channel/);
    net.dispose();
    untracked.dispose();
  });

  it('keep their running statistics when a step is refused (NON_FINITE)', () => {
    const net = new Network([new BatchNorm1d(2), new Linear(2, 1)], { seed: 1 });
    (net.layers[1] as Linear).weight.fill(3e38);
    const before = state(net);
    expect(() =>
      net.trainStep(
        [
          [1, 2],
          [3, 5],
          [0, 1],
        ],
        [[0], [1], [0]],
        new MSELoss(),
        new SGD(net.parameters()),
      ),
    ).toThrow(/NaN|Infinity/);
    expect(state(net)).toEqual(before);
    net.dispose();
  });

  it('check their shapes, and a norm layer may come first', () => {
    expect(() => new Network([new Linear(3, 4), new LayerNorm(5)])).toThrow(
      /layers\[1\] \(LayerNorm\(\(5,\).*expects 5 inputs, but layers\[0\].*gives 4/,
    );
    expect(() => new LayerNorm([2, 3] as never)).toThrow(/number of features of a row/);
    expect(() => new LayerNorm(0)).toThrow(/normalizedShape to be an integer ≥ 1/);
    expect(() => new BatchNorm1d(4, { momentum: 2 })).toThrow(/momentum to be a finite number in \[0, 1\]/);
    expect(new LayerNorm([4]).features).toBe(4);
    const net = new Network([new BatchNorm1d(4), new Linear(4, 2)]);
    expect([net.inFeatures, net.outFeatures]).toEqual([4, 2]);
    const ln = new LayerNorm(4);
    const first = new Network([ln, new Linear(4, 1)]);
    expect(() => new Network([ln])).toThrow(/already belongs to a network; create a new LayerNorm/);
    net.dispose();
    first.dispose();
  });

  it('name their parameters <i>.weight / <i>.bias (with grads) and their buffers as torch', () => {
    const net = new Network([
      new Linear(3, 4),
      new BatchNorm1d(4),
      new LayerNorm(4),
      new BatchNorm1d(4, { affine: false }),
      new BatchNorm1d(4, { trackRunningStats: false }),
      new LayerNorm(4, { elementwiseAffine: false }),
    ]);
    expect(net.parameters().map((p) => p.name)).toEqual([
      '0.weight',
      '0.bias',
      '1.weight',
      '1.bias',
      '2.weight',
      '2.bias',
      '4.weight',
      '4.bias',
    ]);
    expect(net.buffers().map((b) => `${b.name} ${b.dtype} [${b.shape}]`)).toEqual([
      '1.running_mean float32 [4]',
      '1.running_var float32 [4]',
      '1.num_batches_tracked int64 []',
      '3.running_mean float32 [4]',
      '3.running_var float32 [4]',
      '3.num_batches_tracked int64 []',
    ]);
    net.forward(ref.randomArray(random, 5 * 3));
    net.zeroGrad();
    const y = net.forward(ref.randomArray(random, 5 * 3));
    net.backward(y);
    expect(net.parameters().every((p) => p.grad.some((g) => g !== 0))).toBe(true);
    expect(String(net.layers[1])).toBe('BatchNorm1d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)');
    net.dispose();
  });
});

describe('files keep the buffers', () => {
  it('save/load, toJSON/fromJSON and loadWeights carry running statistics and num_batches_tracked (int64, shape [])', async () => {
    const net = bnNet(7);
    const x = ref.randomArray(random, 20 * 3, 2);
    await net.fit(
      x,
      Int32Array.from({ length: 20 }, (_, i) => i % 2),
      {
        loss: new CrossEntropyLoss(),
        optimizer: new SGD(net.parameters(), { lr: 0.1 }),
        epochs: 2,
        batchSize: 5,
      },
    );
    const bytes = net.save();
    const header = JSON.parse(
      new TextDecoder().decode(bytes.subarray(8, 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true)))),
    );
    expect(header['1.num_batches_tracked']).toMatchObject({ dtype: 'I64', shape: [] });
    expect(header['1.running_var']).toMatchObject({ dtype: 'F32', shape: [6] });
    for (const copy of [Network.load(bytes), Network.fromJSON(JSON.stringify(net))]) {
      expect(state(copy)).toEqual(state(net));
      expect(copy.predict(x)).toEqual(net.predict(x));
      copy.dispose();
    }
    const fresh = bnNet(8);
    fresh.loadWeights(bytes);
    expect(state(fresh)).toEqual(state(net));
    expect((fresh.buffers()[2].data as BigInt64Array)[0]).toBe(8n);
    const noBuffers = new Network([
      new Linear(3, 6),
      new BatchNorm1d(6, { trackRunningStats: false }),
      new ReLU(),
      new Dropout(),
      new Linear(6, 2),
    ]);
    expect(() => noBuffers.loadWeights(bytes)).toThrow(/unexpected tensor "1.running_mean"/);
    net.dispose();
    fresh.dispose();
    noBuffers.dispose();
  });

  it('a loaded network continues the saved Dropout generator: the same next masks', () => {
    const net = bnNet(12);
    const x = ref.randomArray(random, 6 * 3);
    net.forward(x);
    const loaded = Network.load(net.save());
    expect(loaded.forward(x)).toEqual(net.forward(x));
    const bytes = net.save();
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
    const zeroed = header.replace(/"dropoutGenerator":"\[[0-9,]+\]"/, (m) => m.replace(/[1-9]/g, '0'));
    expect(zeroed).not.toBe(header);
    const broken = bytes.slice();
    broken.set(new TextEncoder().encode(zeroed), 8);
    expect(() => Network.load(broken)).toThrow(/dropoutGenerator is not a generator state/);
    net.dispose();
    loaded.dispose();
  });
});

describe('summary, parameterCount, clone', () => {
  it('summary names each layer, its output shape, parameters and bytes, and the totals', () => {
    const net = new Network([new Linear(784, 128), new ReLU(), new Dropout(0.2), new BatchNorm1d(128), new Linear(128, 10)]);
    expect(net.parameterCount).toBe(784 * 128 + 128 + 2 * 128 + 128 * 10 + 10);
    const text = net.summary();
    expect(text).toContain('Linear(in_features=784, out_features=128, bias=true)');
    expect(text).toContain('Dropout(p=0.2, inplace=False)');
    expect(text).toMatch(/BatchNorm1d\(128,.*\[N, 128\]\s+256\s+2,056/); // 256 parameters, + 2·128 floats and an int64
    expect(text).toContain('Total parameters: 102,026');
    expect(text).toMatch(/training mode/);
    net.dispose();
  });

  it('clone is an independent copy: weights, buffers, mode and the Dropout generator', () => {
    const net = bnNet(9);
    net.forward(ref.randomArray(random, 6 * 3)); // running statistics and the generator move
    net.eval();
    const copy = net.clone();
    expect(copy.training).toBe(false);
    expect(state(copy)).toEqual(state(net));
    net.train();
    copy.train();
    const x = ref.randomArray(random, 6 * 3);
    expect(copy.forward(x)).toEqual(net.forward(x)); // the same next masks
    copy.trainStep(x, Int32Array.of(0, 1, 0, 1, 0, 1), new CrossEntropyLoss(), new SGD(copy.parameters(), { lr: 1 }));
    expect(state(copy)).not.toEqual(state(net));
    net.dispose();
    expect(copy.predict(x)).toHaveLength(12);
    copy.dispose();
  });
});
