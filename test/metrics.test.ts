// Metrics against their plain formulas, written here independently: accuracy (by the loss's rule), top-k
// accuracy, MAE, MSE, R² (scikit-learn's uniform average), macro precision / recall / F1 (scikit-learn's
// average='macro' over the classes present), user functions; in evaluate(), in fit's history (training and
// validation), over streams; and the refusals.
import { describe, expect, it } from 'vitest';
import {
  BCELoss,
  BCEWithLogitsLoss,
  CrossEntropyLoss,
  Linear,
  LogSoftmax,
  MSELoss,
  NLLLoss,
  Network,
  ReLU,
  SGD,
  Sigmoid,
  init,
  type Loss,
  type Metric,
} from '../src/index';
import * as ref from './reference';

await init();

// ---- the plain formulas ----

const rowsOf = (values: ArrayLike<number>, width: number) =>
  Array.from({ length: values.length / width }, (_, r) => Array.from(values).slice(r * width, (r + 1) * width));
const argmax = (row: number[]) => row.indexOf(Math.max(...row));

/** (truth, guess) class pairs: argmax of rows (labels given as indices, or argmax of probabilities), or 0/1
 *  per element by a threshold. */
function classPairs(pred: Float32Array, target: ArrayLike<number>, width: number, threshold?: number): [number, number][] {
  if (threshold !== undefined) return Array.from(pred, (p, i) => [target[i] > 0.5 ? 1 : 0, p > threshold ? 1 : 0]);
  const predRows = rowsOf(pred, width);
  const labels = target.length === predRows.length ? Array.from(target) : rowsOf(target, width).map(argmax);
  return predRows.map((row, r) => [labels[r], argmax(row)]);
}

function macro(pairs: [number, number][], which: 'precision' | 'recall' | 'f1'): number {
  const classes = [...new Set(pairs.flat())].sort();
  const scores = classes.map((c) => {
    const tp = pairs.filter(([t, g]) => t === c && g === c).length;
    const predicted = pairs.filter(([, g]) => g === c).length;
    const actual = pairs.filter(([t]) => t === c).length;
    const p = predicted ? tp / predicted : 0,
      r = actual ? tp / actual : 0;
    return which === 'precision' ? p : which === 'recall' ? r : p + r ? (2 * p * r) / (p + r) : 0;
  });
  return scores.reduce((a, b) => a + b, 0) / scores.length;
}

function r2(pred: Float32Array, target: ArrayLike<number>, width: number): number {
  let total = 0;
  for (let c = 0; c < width; c++) {
    const ys = rowsOf(target, width).map((row) => row[c]);
    const ps = rowsOf(pred, width).map((row) => row[c]);
    const mean = ys.reduce((a, b) => a + b, 0) / ys.length;
    const ssTot = ys.reduce((a, y) => a + (y - mean) ** 2, 0);
    const ssRes = ys.reduce((a, y, i) => a + (y - ps[i]) ** 2, 0);
    total += ssTot === 0 ? (ssRes === 0 ? 1 : 0) : 1 - ssRes / ssTot;
  }
  return total / width;
}

function topK(pred: Float32Array, labels: ArrayLike<number>, width: number, k: number): number {
  const rows = rowsOf(pred, width);
  return rows.filter((row, r) => row.filter((v) => v > row[labels[r]]).length < k).length / rows.length;
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

// ---- cases ----

interface Case {
  name: string;
  net: () => Network;
  loss: Loss;
  target: (pred: Float32Array, rows: number) => Float32Array | Int32Array;
  metrics: Metric[];
  expected: (pred: Float32Array, target: Float32Array | Int32Array) => Record<string, number>;
}

const random = ref.testRandom(5);
const ROWS = 60;
const x = ref.randomArray(random, ROWS * 5, 2);
const labelsFor = (width: number) => Int32Array.from({ length: ROWS }, () => Math.floor(random() * width));
const noisy = (pred: Float32Array) => Float32Array.from(pred, (v) => v + (random() - 0.5));

const classification = (pred: Float32Array, target: ArrayLike<number>, width: number, threshold?: number) => {
  const pairs = classPairs(pred, target, width, threshold);
  return {
    accuracy: pairs.filter(([t, g]) => t === g).length / pairs.length,
    precision: macro(pairs, 'precision'),
    recall: macro(pairs, 'recall'),
    f1: macro(pairs, 'f1'),
  };
};

const CASES: Case[] = [
  {
    name: 'CrossEntropyLoss, class indices',
    net: () => new Network([new Linear(5, 12), new ReLU(), new Linear(12, 4)], { seed: 1 }),
    loss: new CrossEntropyLoss(),
    target: () => labelsFor(4),
    metrics: ['accuracy', 'precision', 'recall', 'f1', { type: 'topKAccuracy', k: 2 }, 'topKAccuracy'],
    expected: (pred, target) => ({
      ...classification(pred, target, 4),
      top2Accuracy: topK(pred, target, 4, 2),
      top5Accuracy: 1,
    }),
  },
  {
    name: 'CrossEntropyLoss, class probabilities',
    net: () => new Network([new Linear(5, 3)], { seed: 2 }),
    loss: new CrossEntropyLoss(),
    target: () => {
      const t = new Float32Array(ROWS * 3);
      for (let r = 0; r < ROWS; r++) t[3 * r + Math.floor(random() * 3)] = 1;
      return t;
    },
    metrics: ['accuracy', 'f1', { type: 'topKAccuracy', k: 1 }],
    expected: (pred, target) => {
      const labels = rowsOf(target, 3).map(argmax);
      const c = classification(pred, target, 3);
      return { accuracy: c.accuracy, f1: c.f1, top1Accuracy: topK(pred, labels, 3, 1) };
    },
  },
  {
    name: 'NLLLoss after LogSoftmax',
    net: () => new Network([new Linear(5, 6), new LogSoftmax()], { seed: 3 }),
    loss: new NLLLoss(),
    target: () => labelsFor(6),
    metrics: ['accuracy', 'recall'],
    expected: (pred, target) => {
      const c = classification(pred, target, 6);
      return { accuracy: c.accuracy, recall: c.recall };
    },
  },
  {
    name: 'BCELoss, three labels per row',
    net: () => new Network([new Linear(5, 3), new Sigmoid()], { seed: 4 }),
    loss: new BCELoss(),
    target: () => Float32Array.from({ length: ROWS * 3 }, () => (random() < 0.4 ? 1 : 0)),
    metrics: ['accuracy', 'precision', 'recall', 'f1'],
    expected: (pred, target) => classification(pred, target, 3, 0.5),
  },
  {
    name: 'BCEWithLogitsLoss, one output',
    net: () => new Network([new Linear(5, 1)], { seed: 5 }),
    loss: new BCEWithLogitsLoss(),
    target: () => Float32Array.from({ length: ROWS }, () => (random() < 0.5 ? 1 : 0)),
    metrics: ['accuracy', 'f1'],
    expected: (pred, target) => {
      const c = classification(pred, target, 1, 0);
      return { accuracy: c.accuracy, f1: c.f1 };
    },
  },
  {
    name: 'MSELoss, three outputs',
    net: () => new Network([new Linear(5, 8), new ReLU(), new Linear(8, 3)], { seed: 6 }),
    loss: new MSELoss(),
    target: (pred) => noisy(pred),
    metrics: [
      'mae',
      'mse',
      'r2',
      (p: Float32Array, t: Float32Array | Int32Array) => p.length + t.length,
      { name: 'maxError', fn: (p, t) => Math.max(...Array.from(p, (v, i) => Math.abs(v - t[i]))) },
    ],
    expected: (pred, target) => ({
      mae: mean(Array.from(pred, (p, i) => Math.abs(p - target[i]))),
      mse: mean(Array.from(pred, (p, i) => (p - target[i]) ** 2)),
      r2: r2(pred, target, 3),
      metric: pred.length + target.length, // an anonymous function is called 'metric'
      maxError: Math.max(...Array.from(pred, (v, i) => Math.abs(v - target[i]))),
    }),
  },
];

function expectValues(actual: Record<string, number> | undefined, expected: Record<string, number>) {
  expect(Object.keys(actual ?? {}).sort()).toEqual(Object.keys(expected).sort());
  for (const [name, value] of Object.entries(expected)) expect(actual![name], name).toBeCloseTo(value, 10);
}

describe('metrics against their plain formulas', () => {
  for (const c of CASES) {
    it(`${c.name}: evaluate(), and fit's training and validation metrics`, async () => {
      const net = c.net();
      const pred = net.predict(x);
      const target = c.target(pred, ROWS);
      const evaluation = net.evaluate(x, target, c.loss, { metrics: c.metrics, batchSize: 7 });
      expectValues(evaluation.metrics, c.expected(pred, target));
      if (evaluation.accuracy !== undefined && evaluation.metrics!.accuracy !== undefined) {
        expect(evaluation.metrics!.accuracy).toBe(evaluation.accuracy);
      }
      // fit with lr 0: the training predictions are the network's own, so the training metrics are those of the
      // data too; the validation metrics are those of the held-out rows (each epoch)
      const seen: Record<string, number>[] = [];
      const history = await net.fit(x, target, {
        loss: c.loss,
        optimizer: new SGD(net.parameters(), { lr: 0 }),
        epochs: 2,
        batchSize: 16,
        metrics: c.metrics,
        validation: {
          x: x.subarray(0, 20 * 5),
          y:
            c.loss instanceof MSELoss || target instanceof Float32Array
              ? target.subarray(0, 20 * (target.length / ROWS))
              : target.subarray(0, 20),
        },
        onEpochEnd: (info) => {
          seen.push(info.valMetrics!);
        },
      });
      const all = c.expected(pred, target);
      for (const [name, values] of Object.entries(history.metrics)) {
        if (name === 'metric') continue; // a function of the lengths: the training set's, not the whole data's
        expect(values).toHaveLength(2);
        expect(values[1], name).toBeCloseTo(all[name], 10);
      }
      const heldPred = pred.subarray(0, 20 * net.outFeatures);
      const heldTarget = target.subarray(0, (20 * target.length) / ROWS);
      expectValues(seen[1], c.expected(heldPred, heldTarget as never));
      expect(history.valMetrics[Object.keys(seen[1])[0]][1]).toBe(Object.values(seen[1])[0]);
      net.dispose();
    });
  }

  it('over a stream, batch by batch, equal the metrics of the whole data (R² merges its batches exactly)', async () => {
    const c = CASES.at(-1)!;
    const net = c.net();
    const pred = net.predict(x);
    const target = noisy(pred);
    const batches = function* () {
      for (let r = 0; r < ROWS; r += 13)
        yield { x: x.slice(5 * r, 5 * Math.min(ROWS, r + 13)), y: target.slice(3 * r, 3 * Math.min(ROWS, r + 13)) };
    };
    const history = await net.fit(batches, {
      loss: c.loss,
      optimizer: new SGD(net.parameters(), { lr: 0 }),
      metrics: ['mae', 'r2'],
    });
    expect(history.metrics.r2[0]).toBeCloseTo(r2(pred, target, 3), 12);
    expect(history.metrics.mae[0]).toBeCloseTo(mean(Array.from(pred, (p, i) => Math.abs(p - target[i]))), 12);
    net.dispose();
  });

  it('refuses metrics that do not fit the loss, unknown names and bad options, before training', async () => {
    const net = CASES[0].net();
    const labels = labelsFor(4);
    const before = net.parameters().map((p) => Array.from(p.data));
    const fit = (metrics: unknown, loss: Loss = new CrossEntropyLoss(), y: unknown = labels) =>
      net.fit(x, y as never, { loss, optimizer: new SGD(net.parameters(), { lr: 0.1 }), metrics: metrics as never });
    await expect(fit(['mae'])).rejects.toThrow(/'mae' needs float targets shaped like the predictions/);
    await expect(fit(['accuracy'], new MSELoss(), new Float32Array(ROWS * 4))).rejects.toThrow(
      /'accuracy' needs a classification loss/,
    );
    await expect(fit(['acc'])).rejects.toThrow(
      /unknown fit metrics\[0\] the string "acc"; expected one of accuracy, topKAccuracy/,
    );
    await expect(fit([{ type: 'topKAccuracy', k: 0 }])).rejects.toThrow(/k to be a positive integer, got 0/);
    await expect(fit(['f1', 'f1'])).rejects.toThrow(/name "f1" twice/);
    await expect(fit('accuracy')).rejects.toThrow(/metrics to be an array/);
    expect(() => net.evaluate(x, labels, new CrossEntropyLoss(), { metrics: [{ name: 'x' }] as never })).toThrow(
      /\{ name, fn \}/,
    );
    expect(net.parameters().map((p) => Array.from(p.data))).toEqual(before);
    net.dispose();
  });
});
