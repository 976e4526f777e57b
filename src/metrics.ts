// Metrics for fit() and evaluate(), defined here and only here. They are computed from the predictions the
// WASM core makes (captured as it trains or evaluates), batch by batch, so a metric over a stream needs no
// more memory than its counters. 'accuracy' is the core's own count (the rule evaluate() has always used);
// the others are plain formulas over the predictions and targets. Metrics are not weighted by sampleWeight.
import { BackpropError, describeValue } from './errors.js';
import { type LossKernel, lossDecision, lossTarget } from './kernel.js';

/** The built-in metrics by name. */
export type MetricName = 'accuracy' | 'topKAccuracy' | 'mae' | 'mse' | 'r2' | 'precision' | 'recall' | 'f1';
/** A metric of your own: the epoch's (or evaluation's) predictions [rows, width] and targets (class indices
 *  or values shaped like the predictions), to one number. */
export type MetricFunction = (pred: Float32Array, target: Float32Array | Int32Array) => number;
/** A metric: a built-in name, { type: 'topKAccuracy', k } (k defaults to 5), a function (named by its
 *  name), or { name, fn }. */
export type Metric = MetricName | { type: 'topKAccuracy'; k?: number } | MetricFunction | { name: string; fn: MetricFunction };

/** One batch of predictions and targets, with the core's count of right predictions. */
export interface MetricBatch {
  pred: Float32Array;
  target: Float32Array | Int32Array;
  rows: number;
  width: number;
  /** From the core (the loss's accuracy rule). */
  correct: number;
  judged: number;
}

/** A metric being accumulated over batches. */
export interface MetricAccumulator {
  readonly name: string;
  add(batch: MetricBatch): void;
  result(): number;
}

/** What the metrics are computed for: the loss kernel for the data's target form, and the predictions' width. */
export interface MetricContext {
  kernel: LossKernel;
  width: number;
}

const BUILT_IN: readonly MetricName[] = ['accuracy', 'topKAccuracy', 'mae', 'mse', 'r2', 'precision', 'recall', 'f1'];

function refuse(message: string): never {
  throw new BackpropError('BAD_OPTION', message);
}

/** Checks a list of metrics and gives a factory of fresh accumulators (one set per epoch or evaluation). */
export function prepareMetrics(metrics: unknown, context: MetricContext, owner: string): () => MetricAccumulator[] {
  if (metrics === undefined) return () => [];
  if (!Array.isArray(metrics))
    refuse(`expected ${owner} metrics to be an array (e.g. ['accuracy', 'f1']), got ${describeValue(metrics)}`);
  const makers = (metrics as unknown[]).map((metric, i) => metricMaker(metric, context, `${owner} metrics[${i}]`));
  const names = new Set<string>();
  for (const make of makers) {
    const { name } = make();
    if (names.has(name)) refuse(`${owner} metrics name "${name}" twice`);
    names.add(name);
  }
  return () => makers.map((make) => make());
}

function metricMaker(metric: unknown, context: MetricContext, where: string): () => MetricAccumulator {
  if (typeof metric === 'function') return () => userMetric(metric.name || 'metric', metric as MetricFunction);
  if (metric !== null && typeof metric === 'object' && !Array.isArray(metric)) {
    const m = metric as Record<string, unknown>;
    if ('fn' in m) {
      if (typeof m.fn !== 'function' || typeof m.name !== 'string' || !m.name) {
        refuse(`expected ${where} to be { name, fn } with a name and a function, got ${describeValue(metric)}`);
      }
      return () => userMetric(m.name as string, m.fn as MetricFunction);
    }
    if (m.type === 'topKAccuracy') {
      const k = m.k ?? 5;
      if (typeof k !== 'number' || !Number.isInteger(k) || k < 1)
        refuse(`expected ${where} k to be a positive integer, got ${describeValue(k)}`);
      const extra = Object.keys(m).filter((key) => key !== 'type' && key !== 'k');
      if (extra.length) refuse(`unknown ${where} option "${extra[0]}"; expected k`);
      return builtIn('topKAccuracy', context, where, k as number);
    }
    refuse(
      `expected ${where} to be a metric name, { type: 'topKAccuracy', k }, a function or { name, fn }, got ${describeValue(metric)}`,
    );
  }
  if (typeof metric !== 'string' || !BUILT_IN.includes(metric as MetricName)) {
    refuse(`unknown ${where} ${describeValue(metric)}; expected one of ${BUILT_IN.join(', ')}, or a function`);
  }
  return builtIn(metric as MetricName, context, where, 5);
}

function builtIn(name: MetricName, context: MetricContext, where: string, k: number): () => MetricAccumulator {
  const decision = lossDecision(context.kernel);
  const classes = lossTarget(context.kernel) === 'classes';
  const needs = (ok: boolean, what: string) => {
    if (!ok) refuse(`${where} '${name}' needs ${what} (the loss here is ${context.kernel})`);
  };
  switch (name) {
    case 'accuracy':
      needs(decision !== null, 'a classification loss (cross-entropy, NLL or BCE)');
      return () => counted('accuracy');
    case 'topKAccuracy':
      needs(decision !== null && 'argmax' in decision, 'a loss whose classes are the argmax of a row (cross-entropy or NLL)');
      return () => topK(k);
    case 'precision':
    case 'recall':
    case 'f1':
      needs(decision !== null, 'a classification loss (cross-entropy, NLL or BCE)');
      return () => confusion(name, decision!, context.width);
    default:
      needs(!classes, 'float targets shaped like the predictions (a regression loss)');
      return () => (name === 'r2' ? rSquared() : meanError(name));
  }
}

/** Fraction of right predictions by the loss's rule (argmax, or the threshold of BCE), as the core counts. */
function counted(name: string): MetricAccumulator {
  let correct = 0,
    judged = 0;
  return {
    name,
    add(b) {
      correct += b.correct;
      judged += b.judged;
    },
    result: () => correct / judged,
  };
}

/** The label of row r: its class index, or the argmax of its probabilities; −1 for a row the loss ignores. */
function labelOf(b: MetricBatch, r: number): number {
  if (b.target instanceof Int32Array) {
    const label = b.target[r];
    return label >= 0 && label < b.width ? label : -1;
  }
  return argmax(b.target, r * b.width, b.width);
}

function argmax(values: ArrayLike<number>, from: number, width: number): number {
  let best = 0;
  for (let c = 1; c < width; c++) if (values[from + c] > values[from + best]) best = c;
  return best;
}

/** Fraction of rows whose label is among the k highest scores: fewer than k classes score strictly higher
 *  (ties at the boundary count as in the top k, as tf.math.in_top_k). */
function topK(k: number): MetricAccumulator {
  let hits = 0,
    rows = 0;
  return {
    name: `top${k}Accuracy`,
    add(b) {
      for (let r = 0; r < b.rows; r++) {
        const label = labelOf(b, r);
        if (label < 0) continue;
        const score = b.pred[r * b.width + label];
        let above = 0;
        for (let c = 0; c < b.width; c++) if (b.pred[r * b.width + c] > score) above++;
        if (above < k) hits++;
        rows++;
      }
    },
    result: () => hits / rows,
  };
}

/** Mean absolute or squared error over every element. */
function meanError(name: 'mae' | 'mse'): MetricAccumulator {
  let sum = 0,
    count = 0;
  return {
    name,
    add(b) {
      const target = b.target as Float32Array;
      for (let i = 0; i < b.rows * b.width; i++) {
        const d = b.pred[i] - target[i];
        sum += name === 'mae' ? Math.abs(d) : d * d;
      }
      count += b.rows * b.width;
    },
    result: () => sum / count,
  };
}

/** R² = 1 − SS_res/SS_tot per output column, averaged over the columns (scikit-learn's r2_score, uniform
 *  average; a constant column scores 1 when predicted exactly, else 0). Column means and SS_tot merge batch
 *  by batch (Chan's pairwise update), so the result does not depend on the batching. */
function rSquared(): MetricAccumulator {
  let n = 0;
  let mean: Float64Array | null = null,
    m2: Float64Array | null = null,
    residual: Float64Array | null = null;
  return {
    name: 'r2',
    add(b) {
      const target = b.target as Float32Array;
      const w = b.width;
      mean ??= new Float64Array(w);
      m2 ??= new Float64Array(w);
      residual ??= new Float64Array(w);
      for (let c = 0; c < w; c++) {
        let sum = 0;
        for (let r = 0; r < b.rows; r++) sum += target[r * w + c];
        const batchMean = sum / b.rows;
        let squares = 0;
        for (let r = 0; r < b.rows; r++) {
          const y = target[r * w + c];
          squares += (y - batchMean) ** 2;
          residual[c] += (y - b.pred[r * w + c]) ** 2;
        }
        const total = n + b.rows;
        const delta = batchMean - mean[c];
        mean[c] += (delta * b.rows) / total;
        m2[c] += squares + (delta * delta * n * b.rows) / total;
      }
      n += b.rows;
    },
    result() {
      if (!m2 || !residual) return NaN;
      let sum = 0;
      for (let c = 0; c < m2.length; c++) sum += m2[c] === 0 ? (residual[c] === 0 ? 1 : 0) : 1 - residual[c] / m2[c];
      return sum / m2.length;
    },
  };
}

/** Macro-averaged precision, recall or F1 from a confusion count per class (scikit-learn's average='macro'):
 *  the mean over the classes that occur in the targets or the predictions; a class with no predicted
 *  (or no true) samples scores 0 precision (recall); F1 per class is 2PR/(P + R) (0 when both are 0).
 *  Classes are the argmax of a row for cross-entropy and NLL, and 0/1 per element by the threshold of BCE. */
function confusion(
  name: 'precision' | 'recall' | 'f1',
  decision: { argmax: true } | { threshold: number },
  width: number,
): MetricAccumulator {
  const classes = 'argmax' in decision ? width : 2;
  const truePositive = new Float64Array(classes),
    predicted = new Float64Array(classes),
    actual = new Float64Array(classes);
  const count = (truth: number, guess: number) => {
    predicted[guess]++;
    actual[truth]++;
    if (truth === guess) truePositive[truth]++;
  };
  return {
    name,
    add(b) {
      if ('argmax' in decision) {
        for (let r = 0; r < b.rows; r++) {
          const label = labelOf(b, r);
          if (label >= 0) count(label, argmax(b.pred, r * b.width, b.width));
        }
        return;
      }
      const target = b.target as Float32Array;
      for (let i = 0; i < b.rows * b.width; i++) count(target[i] > 0.5 ? 1 : 0, b.pred[i] > decision.threshold ? 1 : 0);
    },
    result() {
      let sum = 0,
        present = 0;
      for (let c = 0; c < classes; c++) {
        if (actual[c] === 0 && predicted[c] === 0) continue;
        present++;
        const precision = predicted[c] ? truePositive[c] / predicted[c] : 0;
        const recall = actual[c] ? truePositive[c] / actual[c] : 0;
        if (name === 'precision') sum += precision;
        else if (name === 'recall') sum += recall;
        else sum += precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
      }
      return sum / present;
    },
  };
}

/** A user function: gets all the batches' predictions and targets at once. */
function userMetric(name: string, fn: MetricFunction): MetricAccumulator {
  const preds: Float32Array[] = [],
    targets: (Float32Array | Int32Array)[] = [];
  return {
    name,
    add(b) {
      preds.push(b.pred.slice(0, b.rows * b.width));
      targets.push(b.target.slice(0, b.target instanceof Int32Array ? b.rows : b.rows * b.width));
    },
    result() {
      const target = targets[0] instanceof Int32Array ? concat(targets, Int32Array) : concat(targets, Float32Array);
      const value = fn(concat(preds, Float32Array), target);
      if (typeof value !== 'number') {
        throw new BackpropError('BAD_OPTION', `the metric "${name}" returned ${describeValue(value)}, expected a number`);
      }
      return value;
    },
  };
}

function concat<T extends Float32Array | Int32Array>(
  parts: readonly (Float32Array | Int32Array)[],
  type: new (n: number) => T,
): T {
  if (parts.length === 1) return parts[0] as T;
  const out = new type(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The metrics' values by name. */
export function metricResults(accumulators: readonly MetricAccumulator[]): Record<string, number> {
  return Object.fromEntries(accumulators.map((m) => [m.name, m.result()]));
}
