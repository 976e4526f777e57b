// fit(), predict() and evaluate(): the same arithmetic as trainStep/forward, determinism, validation,
// early stopping, callbacks, abort, divergence and bad input.
import { describe, expect, it } from 'vitest';
import {
  Adam,
  BackpropError,
  CrossEntropyLoss,
  Linear,
  MSELoss,
  Network,
  Relu,
  SGD,
  Sigmoid,
  BCELoss,
  init,
  type Layer,
} from '../src/index';
import * as ref from './reference';

await init();

function blobs(rows: number, seed: number) {
  // three Gaussian blobs in 2-D
  const random = ref.testRandom(seed);
  const centers = [
    [2, 0],
    [-1, 1.7],
    [-1, -1.7],
  ];
  const x = new Float32Array(rows * 2),
    labels = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const c = r % 3;
    labels[r] = c;
    x[2 * r] = centers[c][0] + (random() - 0.5) * 1.5;
    x[2 * r + 1] = centers[c][1] + (random() - 0.5) * 1.5;
  }
  return { x, labels };
}

const classifier = (seed = 1, extra: Layer[] = []) =>
  new Network([new Linear(2, 16), new Relu(), new Linear(16, 3), ...extra], { seed });
const weights = (net: Network) => net.parameters().map((p) => Array.from(p.data));

describe('fit', () => {
  it('without shuffling is exactly trainStep over consecutive batches', async () => {
    const { x, labels } = blobs(50, 1);
    const a = classifier(),
      b = classifier();
    const ce = new CrossEntropyLoss();
    const optA = new SGD(a.parameters(), { lr: 0.1, momentum: 0.9 }),
      optB = new SGD(b.parameters(), { lr: 0.1, momentum: 0.9 });
    const history = await a.fit(x, labels, { loss: ce, optimizer: optA, epochs: 2, batchSize: 16, shuffle: false });
    const manual: number[] = [];
    for (let epoch = 0; epoch < 2; epoch++) {
      let total = 0;
      for (let start = 0; start < 50; start += 16) {
        const end = Math.min(50, start + 16);
        total += b.trainStep(x.subarray(2 * start, 2 * end), labels.subarray(start, end), ce, optB) * (end - start);
      }
      manual.push(total / 50);
    }
    expect(weights(a)).toEqual(weights(b));
    history.loss.forEach((l, i) => expect(Math.abs(l - manual[i])).toBeLessThan(1e-12));
    expect(history.stopReason).toBe('completed');
    expect(history.epochs.map((e) => e.epoch)).toEqual([1, 2]);
  });

  it('is deterministic for a seed and learns the blobs', async () => {
    const { x, labels } = blobs(300, 2);
    const run = async (seed: number) => {
      const net = classifier(7);
      const history = await net.fit(x, labels, {
        loss: new CrossEntropyLoss(),
        optimizer: new Adam(net.parameters(), { lr: 0.01 }),
        epochs: 15,
        batchSize: 32,
        seed,
        validation: 0.2,
      });
      return { history, w: weights(net), net };
    };
    const first = await run(5),
      again = await run(5),
      other = await run(6);
    expect(again.history.loss).toEqual(first.history.loss);
    expect(again.w).toEqual(first.w);
    expect(other.w).not.toEqual(first.w);
    expect(first.history.valAccuracy.at(-1)).toBeGreaterThan(0.9);
    expect(first.history.loss.at(-1)).toBeLessThan(first.history.loss[0]);
    // the validation figures are evaluate() on the last 20% of the rows
    const evaluation = first.net.evaluate(x.subarray(240 * 2), labels.subarray(240), new CrossEntropyLoss());
    expect(evaluation.loss).toBeCloseTo(first.history.valLoss.at(-1)!, 10);
    expect(evaluation.accuracy).toBe(first.history.valAccuracy.at(-1));
  });

  it('stops early when the validation loss stops improving, and can restore the best weights', async () => {
    const { x, labels } = blobs(90, 3);
    const net = classifier();
    const bestAfterFirst: number[][] = [];
    const history = await net.fit(x, labels, {
      loss: new CrossEntropyLoss(),
      optimizer: new SGD(net.parameters(), { lr: 0.05 }),
      epochs: 50,
      batchSize: 10,
      validation: { X: x, Y: labels }, // the capitalised spelling works too
      earlyStopping: { patience: 2, minDelta: 1e9, restoreBestWeights: true }, // nothing counts as better after epoch 1
      onEpochEnd: ({ epoch }) => {
        if (epoch === 1) bestAfterFirst.push(...weights(net));
      },
    });
    expect(history.stopReason).toBe('earlyStopping');
    expect(history.epochs).toHaveLength(3);
    expect(history.bestEpoch).toBe(1);
    expect(weights(net)).toEqual(bestAfterFirst);
  });

  it('calls onBatchEnd for every batch and stops on abort', async () => {
    const { x, labels } = blobs(40, 4);
    const net = classifier();
    const seen: [number, number, number][] = [];
    const controller = new AbortController();
    const history = await net.fit(x, labels, {
      loss: new CrossEntropyLoss(),
      optimizer: new SGD(net.parameters(), { lr: 0.05 }),
      epochs: 5,
      batchSize: 16,
      onBatchEnd: ({ epoch, batch, size, loss }) => {
        expect(Number.isFinite(loss)).toBe(true);
        seen.push([epoch, batch, size]);
        if (epoch === 2 && batch === 2) controller.abort();
      },
      signal: controller.signal,
    });
    expect(seen).toEqual([
      [1, 1, 16],
      [1, 2, 16],
      [1, 3, 8],
      [2, 1, 16],
      [2, 2, 16],
    ]);
    expect(history.stopReason).toBe('aborted');
    expect(history.epochs).toHaveLength(1);
  });

  it('stops with NON_FINITE naming the epoch and batch when training diverges, keeping the weights from before the bad step', async () => {
    const { x } = blobs(64, 5);
    const y = Float32Array.from({ length: 64 * 3 }, (_, i) => (i % 7) * 1e3);
    const net = classifier();
    const optimizer = new SGD(net.parameters(), { lr: 10, momentum: 0.5 });
    let lastGood = weights(net),
      lastState = optimizer.stateBuffers().map((b) => Array.from(b)),
      goodSteps = 0;
    const error = await net
      .fit(x, y, {
        loss: new MSELoss(),
        optimizer,
        epochs: 20,
        batchSize: 8,
        onBatchEnd: () => {
          lastGood = weights(net);
          lastState = optimizer.stateBuffers().map((b) => Array.from(b));
          goodSteps++;
        },
      })
      .then(
        () => null,
        (e) => e,
      );
    expect(error).toBeInstanceOf(BackpropError);
    expect(error.code).toBe('NON_FINITE');
    const [, epoch, batch] = error.message.match(/in epoch (\d+), batch (\d+); the step was not taken/);
    expect((Number(epoch) - 1) * 8 + Number(batch) - 1).toBe(goodSteps);
    expect(weights(net)).toEqual(lastGood);
    expect(optimizer.stateBuffers().map((b) => Array.from(b))).toEqual(lastState);
    expect(optimizer.stepCount).toBe(goodSteps);
    expect(weights(net).flat().every(Number.isFinite)).toBe(true);
  });

  it('rejects bad input before touching anything', async () => {
    const { x, labels } = blobs(30, 6);
    const net = classifier();
    const opt = new SGD(net.parameters(), { lr: 0.1, momentum: 0.9 });
    await net.fit(x, labels, { loss: new CrossEntropyLoss(), optimizer: opt, epochs: 1, batchSize: 8 });
    const before = [weights(net), Array.from(opt.snapshot())];
    const ce = new CrossEntropyLoss();
    const bad: [() => Promise<unknown>, RegExp][] = [
      [() => net.fit(x, labels.subarray(1), { loss: ce, optimizer: opt }), /y to hold 30 class indices/],
      [
        () =>
          net.fit(
            x,
            Int32Array.from(labels, (l) => (l === 2 ? 3 : l)),
            { loss: ce, optimizer: opt },
          ),
        /y\[\d+\] to be a class index in \[0, 2\].*, got 3/,
      ],
      [() => net.fit(x, labels, { loss: ce, optimizer: opt, batchSize: 0 }), /batchSize to be a positive integer, got 0/],
      [() => net.fit(x, labels, { loss: ce, optimizer: opt, epochs: 1.5 }), /epochs/],
      [() => net.fit(x, labels, { loss: ce, optimizer: opt, validation: 1 }), /validation/],
      [() => net.fit(x, labels, { loss: ce, optimizer: opt, validation: { x } } as never), /validation to be \{ x, y \}/],
      [() => net.fit(x, labels, { loss: ce, optimizer: opt, epoch: 3 } as never), /unknown fit option "epoch"/],
      [() => net.fit(x, labels, { optimizer: opt } as never), /expected loss to be a Loss/],
      [() => net.fit(Float32Array.of(1, NaN, 0, 0), Int32Array.of(0, 1), { loss: ce, optimizer: opt }), /NaN at x\[0\]\[1\]/],
      [() => net.fit(x, labels, { loss: ce, optimizer: opt, validation: { x: [[1, 2]], y: [7] } }), /validation\.y\[0\]/],
      [() => net.fit(x, labels, { loss: new BCELoss(), optimizer: opt }), /expected y to have 30 rows of 3/],
    ];
    for (const [call, message] of bad) {
      await expect(call()).rejects.toThrow(message);
      expect([weights(net), Array.from(opt.snapshot())]).toEqual(before);
    }
  });

  it('refuses other calls on the network while fit runs', async () => {
    const { x, labels } = blobs(30, 7);
    const net = classifier();
    const running = net.fit(x, labels, {
      loss: new CrossEntropyLoss(),
      optimizer: new SGD(net.parameters(), { lr: 0.1 }),
      epochs: 3,
    });
    expect(() => net.trainStep(x, labels, new CrossEntropyLoss(), new SGD(net.parameters(), { lr: 0.1 }))).toThrow(
      /while fit\(\) is training/,
    );
    expect(() => net.dispose()).toThrow(/while fit/);
    await running;
    net.dispose();
  });
});

describe('predict and evaluate', () => {
  it('predict in batches equals one forward pass', () => {
    const net = new Network([new Linear(5, 7), new Sigmoid(), new Linear(7, 2)], { seed: 3 });
    const x = ref.randomArray(ref.testRandom(1), 50 * 5);
    const once = net.forward(x);
    expect(net.predict(x, { batchSize: 7 })).toEqual(once);
    expect(() => net.predict(x, { batchSize: 0 })).toThrow(/batchSize/);
    expect(() => net.backward(new Float32Array(100))).toThrow(/forward\(\) first/);
  });

  it('evaluate gives the loss of forward + loss.forward and the argmax accuracy', () => {
    const { x, labels } = blobs(40, 8);
    const net = classifier(9);
    const ce = new CrossEntropyLoss();
    const logits = net.forward(x);
    const expectedLoss = ce.forward(logits, labels);
    let correct = 0;
    for (let r = 0; r < 40; r++) {
      const row = Array.from(logits.subarray(3 * r, 3 * r + 3));
      if (row.indexOf(Math.max(...row)) === labels[r]) correct++;
    }
    const result = net.evaluate(x, labels, ce, { batchSize: 6 });
    expect(result.loss).toBeCloseTo(expectedLoss, 6);
    expect(result.accuracy).toBe(correct / 40);
    expect(net.evaluate(x, new Float32Array(120), new MSELoss()).accuracy).toBeUndefined();
  });
});
