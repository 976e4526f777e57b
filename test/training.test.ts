// Training features around fit(): sample weights, fit() over a stream of batches (equal to fit over arrays,
// flat memory, errors naming the batch), schedulers stepped by fit at the right points, scheduler state in
// checkpoints, the refusals that leave everything as it was.
import { describe, expect, it } from 'vitest';
import {
  BackpropError,
  CosineAnnealingLR,
  CrossEntropyLoss,
  Dropout,
  ExponentialLR,
  Linear,
  MSELoss,
  Network,
  OneCycleLR,
  ReLU,
  ReduceLROnPlateau,
  SGD,
  Adam,
  StepLR,
  LinearLR,
  BatchNorm1d,
  createTrainer,
  init,
  memoryStats,
  type StreamBatch,
} from '../src/index';
import * as ref from './reference';
import { referenceOf } from './kinds';

await init();
const random = ref.testRandom(77);

function data(rows: number, seed: number) {
  const rng = ref.testRandom(seed);
  const x = Float32Array.from({ length: rows * 4 }, () => rng() * 2 - 1);
  const labels = Int32Array.from(
    { length: rows },
    (_, r) => (x[4 * r] + x[4 * r + 1] > 0 ? 1 : 0) + (x[4 * r + 2] > 0.5 ? 1 : 0),
  );
  const y = Float32Array.from({ length: rows * 2 }, (_, i) => Math.sin(3 * x[2 * i]) + x[2 * i + 1]);
  return { x, labels, y };
}
const classifier = (seed = 1) => new Network([new Linear(4, 16), new ReLU(), new Linear(16, 3)], { seed });
/** With Dropout and BatchNorm1d: masks and running statistics must follow too. */
const regularized = (seed = 1) =>
  new Network([new Linear(4, 16), new BatchNorm1d(16), new ReLU(), new Dropout(0.2), new Linear(16, 3)], { seed });
const regressor = (seed = 1) => new Network([new Linear(4, 8), new ReLU(), new Linear(8, 2)], { seed });
const weights = (net: Network) => net.parameters().map((p) => Array.from(p.data));

/** Batches of consecutive rows, as a function that starts a new generator each epoch. */
function batchesOf(x: Float32Array, y: Float32Array | Int32Array, batchSize: number, width: number, yWidth: number) {
  return function* (): Generator<StreamBatch> {
    const rows = x.length / width;
    for (let start = 0; start < rows; start += batchSize) {
      const end = Math.min(rows, start + batchSize);
      yield { x: x.slice(start * width, end * width), y: y.slice(start * yWidth, end * yWidth) };
    }
  };
}

describe('sampleWeight', () => {
  it('scales each sample’s loss: the mean is Σ w·loss over the usual count (Keras), checked in float64', async () => {
    const { x, y } = data(12, 1);
    const w = Float32Array.from({ length: 12 }, () => 2 * random());
    const net = regressor(2);
    const layers = referenceOf(net);
    const history = await net.fit(x, y, {
      loss: new MSELoss(),
      optimizer: new SGD(net.parameters(), { lr: 0.1 }),
      batchSize: 12,
      shuffle: false,
      sampleWeight: w,
    });
    // float64: L = Σ_r w_r Σ_c (p − t)² / (rows · width)
    const acts = ref.forward(layers, x, 12);
    const pred = acts.at(-1)!;
    let loss = 0;
    const grad = new Float64Array(24);
    for (let i = 0; i < 24; i++) {
      const r = Math.floor(i / 2);
      loss += (w[r] * (pred[i] - y[i]) ** 2) / 24;
      grad[i] = (2 * w[r] * (pred[i] - y[i])) / 24;
    }
    expect(Math.abs(history.loss[0] - loss)).toBeLessThan(1e-6 * loss);
    const grads = ref.backward(layers, acts, grad, 12);
    const first = net.layers[0] as Linear;
    const expected = (layers[0] as Extract<ref.RefLayer, { kind: 'linear' }>).weight.map((v, i) => v - 0.1 * grads.weight[0]![i]);
    expect(ref.maxRelativeError(first.weight, expected)).toBeLessThan(1e-5);
    net.dispose();
  });

  it('of 1 everywhere is the unweighted fit, bit for bit; class weights and sample weights combine', async () => {
    const { x, labels } = data(30, 2);
    const run = async (sampleWeight?: Float32Array) => {
      const net = classifier(3);
      const history = await net.fit(x, labels, {
        loss: new CrossEntropyLoss({ weight: [1, 2, 0.5] }),
        optimizer: new SGD(net.parameters(), { lr: 0.1, momentum: 0.9 }),
        epochs: 2,
        batchSize: 8,
        seed: 4,
        ...(sampleWeight ? { sampleWeight } : {}),
      });
      const result = { loss: history.loss, w: weights(net) };
      net.dispose();
      return result;
    };
    expect(await run(new Float32Array(30).fill(1))).toEqual(await run());
    expect((await run(new Float32Array(30).fill(2))).loss[0]).toBeGreaterThan((await run()).loss[0] * 1.5);
  });

  it('refuses weights that do not match the samples, before training', async () => {
    const { x, labels } = data(10, 3);
    const net = classifier();
    const opt = new SGD(net.parameters(), { lr: 0.1 });
    const before = weights(net);
    const fit = (sampleWeight: unknown) =>
      net.fit(x, labels, { loss: new CrossEntropyLoss(), optimizer: opt, sampleWeight: sampleWeight as never });
    await expect(fit(new Float32Array(9))).rejects.toThrow(/sampleWeight to hold one weight per sample \(10\)/);
    await expect(fit(Float32Array.of(1, 1, 1, -1, 1, 1, 1, 1, 1, 1))).rejects.toThrow(
      /sampleWeight\[3\] to be a finite number ≥ 0, got -1/,
    );
    await expect(fit([1, 1, NaN, 1, 1, 1, 1, 1, 1, 1])).rejects.toThrow(/sampleWeight\[2\]/);
    expect(weights(net)).toEqual(before);
    net.dispose();
  });
});

describe('fit over a stream of batches', () => {
  it('equals fit over the same rows in the same order, bit for bit, with a sync or async source', async () => {
    const { x, labels } = data(50, 5);
    const arrays = classifier(6),
      streamed = classifier(6),
      asyncStreamed = classifier(6);
    const options = (net: Network) => ({
      loss: new CrossEntropyLoss(),
      optimizer: new SGD(net.parameters(), { lr: 0.1, momentum: 0.9 }),
      epochs: 3,
    });
    const a = await arrays.fit(x, labels, { ...options(arrays), batchSize: 16, shuffle: false });
    const source = batchesOf(x, labels, 16, 4, 1);
    const b = await streamed.fit(source, options(streamed));
    const c = await asyncStreamed.fit(
      {
        async *[Symbol.asyncIterator]() {
          yield* source();
        },
      },
      options(asyncStreamed),
    );
    expect(b.loss).toEqual(a.loss);
    expect(c.loss).toEqual(a.loss);
    expect(weights(streamed)).toEqual(weights(arrays));
    expect(weights(asyncStreamed)).toEqual(weights(arrays));
    [arrays, streamed, asyncStreamed].forEach((n) => n.dispose());
  });

  it('names a batch whose width changes mid-epoch, with the weights as after the last good batch', async () => {
    const { x, labels } = data(40, 7);
    const net = classifier(8),
      twin = classifier(8);
    const source = function* () {
      yield { x: x.slice(0, 40), y: labels.slice(0, 10) };
      yield { x: x.slice(40, 80), y: labels.slice(10, 20) };
      yield { x: Array.from({ length: 10 }, () => [1, 2, 3]), y: labels.slice(20, 30) };
    };
    const error = await net
      .fit(source, { loss: new CrossEntropyLoss(), optimizer: new SGD(net.parameters(), { lr: 0.1 }) })
      .catch((e) => e);
    expect(error).toBeInstanceOf(BackpropError);
    expect(error.message).toMatch(/^epoch 1, batch 3: expected x\[0\] to have 4 values, got 3/);
    const opt = new SGD(twin.parameters(), { lr: 0.1 });
    twin.trainStep(x.slice(0, 40), labels.slice(0, 10), new CrossEntropyLoss(), opt);
    twin.trainStep(x.slice(40, 80), labels.slice(10, 20), new CrossEntropyLoss(), opt);
    expect(weights(net)).toEqual(weights(twin));
    net.dispose();
    twin.dispose();
  });

  it('refuses a one-shot generator for a second epoch, and a source that is not one', async () => {
    const { x, labels } = data(20, 9);
    const net = classifier();
    const fit = (source: unknown, epochs = 2) =>
      net.fit(source as never, { loss: new CrossEntropyLoss(), optimizer: new SGD(net.parameters()), epochs });
    await expect(fit(batchesOf(x, labels, 10, 4, 1)())).rejects.toThrow(
      /no batches in epoch 2: a generator can be iterated only once/,
    );
    await expect(fit(() => 42)).rejects.toThrow(/an \(async\) iterable of \{ x, y \} batches/);
    await expect(fit([{ x: x.slice(0, 8), y: labels.slice(0, 2), w: 1 }], 1)).rejects.toThrow(/unknown batch field "w"/);
    net.dispose();
  });

  it('keeps WASM memory flat over many batches; validates, computes metrics and steps a per-batch scheduler', async () => {
    const net = new Network([new Linear(4, 32), new ReLU(), new Dropout(0.1), new BatchNorm1d(32), new Linear(32, 3)], {
      seed: 2,
    });
    const optimizer = new SGD(net.parameters(), { lr: 0.05, momentum: 0.9 });
    const stream = (batches: number, seed: number) =>
      function* () {
        for (let b = 0; b < batches; b++) {
          const { x, labels } = data(64, seed + b);
          yield { x, y: labels };
        }
      };
    const scheduler = new OneCycleLR(optimizer, { maxLr: 0.1, totalSteps: 5 * 40 });
    const options = {
      loss: new CrossEntropyLoss(),
      optimizer,
      scheduler,
      metrics: ['accuracy' as const, 'f1' as const],
      validation: stream(4, 900),
    };
    await net.fit(stream(40, 100), options); // the buffers and scratch area grow to their size once
    const before = memoryStats();
    const history = await net.fit(stream(40, 200), { ...options, epochs: 4 });
    const after = memoryStats();
    expect(after).toEqual(before);
    expect(scheduler.stepCount).toBe(200);
    expect(history.valMetrics.accuracy).toHaveLength(4);
    expect(history.metrics.f1.at(-1)).toBeGreaterThan(0.5);
    expect(history.valAccuracy.at(-1)).toBeCloseTo(history.valMetrics.accuracy.at(-1)!, 12);
    await expect(net.fit(stream(1, 5), options)).rejects.toThrow(/OneCycleLR has 0 steps left/);
    net.dispose();
  });
});

describe('schedulers in fit', () => {
  it('an epoch scheduler steps after each epoch; history.lr records the rate each epoch trained with', async () => {
    const { x, labels } = data(40, 11);
    const net = classifier();
    const optimizer = new SGD(net.parameters(), { lr: 0.1 });
    const scheduler = new StepLR(optimizer, { stepSize: 2, gamma: 0.5 });
    const history = await net.fit(x, labels, { loss: new CrossEntropyLoss(), optimizer, scheduler, epochs: 5 });
    expect(history.lr).toEqual([0.1, 0.1, 0.05, 0.05, 0.025]);
    expect(scheduler.stepCount).toBe(5);
    expect(optimizer.lr).toBe(0.025); // steps 2 and 4 halved it
    net.dispose();
  });

  it('OneCycleLR steps after every batch: fit equals trainStep and step() in a loop, bit for bit', async () => {
    const { x, labels } = data(50, 12);
    const a = classifier(5),
      b = classifier(5);
    const make = (net: Network) => {
      const optimizer = new Adam(net.parameters(), { lr: 0.01 });
      return { optimizer, scheduler: new OneCycleLR(optimizer, { maxLr: 0.05, epochs: 3, stepsPerEpoch: 4 }) };
    };
    const sa = make(a),
      sb = make(b);
    await a.fit(x, labels, { loss: new CrossEntropyLoss(), ...sa, epochs: 3, batchSize: 13, shuffle: false });
    for (let epoch = 0; epoch < 3; epoch++) {
      for (let start = 0; start < 50; start += 13) {
        const end = Math.min(50, start + 13);
        b.trainStep(x.subarray(4 * start, 4 * end), labels.subarray(start, end), new CrossEntropyLoss(), sb.optimizer);
        sb.scheduler.step();
      }
    }
    expect(weights(a)).toEqual(weights(b));
    expect(sa.optimizer.lr).toBe(sb.optimizer.lr);
    expect(sa.optimizer.options.betas).toEqual(sb.optimizer.options.betas); // the momentum (beta1) cycles too
    a.dispose();
    b.dispose();
  });

  it('ReduceLROnPlateau steps with the monitored loss: the validation loss when there is one', async () => {
    const { x, labels } = data(40, 13);
    const net = classifier();
    const optimizer = new SGD(net.parameters(), { lr: 0.5 });
    const scheduler = new ReduceLROnPlateau(optimizer, { patience: 0, factor: 0.5, threshold: 0.5 });
    const manual = new ReduceLROnPlateau(new SGD(classifier().parameters(), { lr: 0.5 }), {
      patience: 0,
      factor: 0.5,
      threshold: 0.5,
    });
    const history = await net.fit(x, labels, {
      loss: new CrossEntropyLoss(),
      optimizer,
      scheduler,
      epochs: 4,
      validation: 0.25,
    });
    const rates = history.valLoss.map((v) => {
      manual.step(v);
      return manual.lr;
    });
    expect(optimizer.lr).toBe(rates.at(-1));
    expect(history.lr.slice(1)).toEqual(rates.slice(0, -1));
    expect(() => scheduler.step()).toThrow(/ReduceLROnPlateau.step\(metric\) needs the metric/);
    net.dispose();
  });

  it('a rate of exactly 0 is valid (CosineAnnealingLR ends there); LinearLR sets its first rate at construction', async () => {
    const { x, labels } = data(20, 14);
    const net = classifier();
    const optimizer = new SGD(net.parameters(), { lr: 0.3 });
    const linear = new LinearLR(optimizer, { startFactor: 0.5, totalIters: 2 });
    expect(optimizer.lr).toBe(0.15);
    linear.step();
    linear.step();
    expect(optimizer.lr).toBeCloseTo(0.3, 15);
    const cosine = new CosineAnnealingLR(optimizer, { TMax: 2 });
    cosine.step();
    cosine.step();
    expect(optimizer.lr).toBe(0);
    const before = weights(net);
    await net.fit(x, labels, { loss: new CrossEntropyLoss(), optimizer });
    expect(weights(net)).toEqual(before);
    net.dispose();
  });

  it('refuses a disposed optimizer, another optimizer than fit’s, and a schedule too short for the fit', async () => {
    const { x, labels } = data(20, 15);
    const net = classifier();
    const optimizer = new SGD(net.parameters(), { lr: 0.1, momentum: 0.9 });
    const other = new SGD(net.parameters(), { lr: 0.1 });
    const cycle = new OneCycleLR(optimizer, { maxLr: 0.1, totalSteps: 3 });
    const loss = new CrossEntropyLoss();
    await expect(net.fit(x, labels, { loss, optimizer: other, scheduler: cycle })).rejects.toThrow(/another optimizer/);
    await expect(net.fit(x, labels, { loss, optimizer, scheduler: cycle, batchSize: 5 })).rejects.toThrow(
      /OneCycleLR has 3 steps left, but this fit\(\) takes 4 more batches/,
    );
    expect(cycle.stepCount).toBe(0);
    expect(() => new OneCycleLR(other, { maxLr: 0.1, totalSteps: 10 })).toThrow(/momentum 0/);
    expect(() => new StepLR(optimizer, {} as never)).toThrow(/StepLR needs stepSize/);
    const step = new ExponentialLR(other, { gamma: 0.9 });
    other.dispose();
    expect(() => step.step()).toThrow(/its SGD has been disposed/);
    expect(() => new ExponentialLR(other, { gamma: 0.9 })).toThrow(BackpropError);
    expect(() => new ExponentialLR(other, { gamma: 0.9 })).toThrow(/disposed/);
    net.dispose();
  });
});

describe('scheduler state in checkpoints', () => {
  for (const [name, make] of [
    ['OneCycleLR', (opt: SGD) => new OneCycleLR(opt, { maxLr: 0.2, totalSteps: 40 })],
    ['ReduceLROnPlateau', (opt: SGD) => new ReduceLROnPlateau(opt, { patience: 1, factor: 0.5 })],
    ['CosineAnnealingLR', (opt: SGD) => new CosineAnnealingLR(opt, { TMax: 5, etaMin: 0.01 })],
  ] as const) {
    it(`${name}: training on from loadCheckpoint equals training on without stopping, bit for bit (Dropout's masks too)`, async () => {
      const { x, labels } = data(40, 16);
      const net = regularized(7);
      const optimizer = new SGD(net.parameters(), { lr: 0.1, momentum: 0.9 });
      const scheduler = make(optimizer);
      const options = { loss: new CrossEntropyLoss(), batchSize: 10, shuffle: false, epochs: 2, validation: 0.25 };
      await net.fit(x, labels, { ...options, optimizer, scheduler });
      const bytes = net.save({ optimizer, scheduler });
      const restored = Network.loadCheckpoint(bytes);
      expect(restored.scheduler!.stepCount).toBe(scheduler.stepCount);
      expect(restored.optimizer!.lr).toBe(optimizer.lr);
      expect(restored.optimizer!.options).toEqual(optimizer.options);
      await net.fit(x, labels, { ...options, optimizer, scheduler });
      await restored.network.fit(x, labels, { ...options, optimizer: restored.optimizer!, scheduler: restored.scheduler! });
      expect(weights(restored.network)).toEqual(weights(net));
      expect(restored.network.buffers().map((b) => Array.from(b.data, Number))).toEqual(
        net.buffers().map((b) => Array.from(b.data, Number)),
      );
      expect(restored.optimizer!.lr).toBe(optimizer.lr);
      expect(() => net.save({ scheduler })).toThrow(/needs the optimizer it schedules too/);
      net.dispose();
      restored.network.dispose();
    });
  }

  it('a checkpoint without a scheduler loads with scheduler null', () => {
    const net = classifier();
    const optimizer = new SGD(net.parameters(), { lr: 0.1 });
    const restored = Network.loadCheckpoint(net.save({ optimizer }));
    expect(restored.scheduler).toBeNull();
    net.dispose();
    restored.network.dispose();
  });
});

describe('the worker trainer takes schedulers and metrics as specs', () => {
  it('trains as fit() does here', async () => {
    const { x, labels } = data(64, 17);
    const local = regularized(9),
      remote = regularized(9);
    const optimizer = new SGD(local.parameters(), { lr: 0.1, momentum: 0.9 });
    const localHistory = await local.fit(x, labels, {
      loss: new CrossEntropyLoss(),
      optimizer,
      scheduler: new OneCycleLR(optimizer, { maxLr: 0.2, totalSteps: 12 }),
      metrics: ['accuracy', { type: 'topKAccuracy', k: 2 }],
      epochs: 3,
      batchSize: 16,
      seed: 3,
    });
    const trainer = createTrainer(remote);
    const history = await trainer.fit(x, labels, {
      loss: { type: 'CrossEntropyLoss' },
      optimizer: { type: 'SGD', lr: 0.1, momentum: 0.9 },
      scheduler: { type: 'OneCycleLR', maxLr: 0.2, totalSteps: 12 },
      metrics: ['accuracy', { type: 'topKAccuracy', k: 2 }],
      epochs: 3,
      batchSize: 16,
      seed: 3,
    });
    trainer.terminate();
    expect(history.metrics).toEqual(localHistory.metrics);
    expect(history.lr).toEqual(localHistory.lr);
    expect(weights(remote)).toEqual(weights(local));
    local.dispose();
    remote.dispose();
  });
});
