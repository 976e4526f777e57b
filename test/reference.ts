// An independent float64 implementation of everything the WASM core computes, written plainly from the
// definitions (and PyTorch's documented formulas), for the tests to compare against. Activations and losses
// are keyed by their registry type (the torch.nn class name): a kind without an entry here fails the suites
// that iterate the registries, naming it.

type Options = Record<string, unknown>;

/** An element-wise activation's value and derivative, and the points where PyTorch picks a side. */
export interface ElementwiseRef {
  f(z: number): number;
  df(z: number): number;
  /** Inputs at kinks (the tests put them in every sample). */
  kinks: number[];
}
/** A per-row activation: its value and its vector-Jacobian product. */
export interface RowwiseRef {
  row(z: number[]): number[];
  vjp(z: number[], gradOut: number[]): number[];
}
export type ActivationRef = { elementwise: ElementwiseRef } | { rowwise: RowwiseRef };

/** erf(x) to float64 precision: the Maclaurin series near 0, the continued fraction of erfc beyond. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let term = x,
      sum = x;
    for (let n = 1; n < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = e^(−x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + …)))), evaluated from the tail
  let fraction = 0;
  for (let k = 60; k >= 1; k--) fraction = k / 2 / (ax + fraction);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + fraction);
  return Math.sign(x) * (1 - erfc);
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const elementwise = (f: (z: number) => number, df: (z: number) => number, kinks: number[] = []): ActivationRef => ({
  elementwise: { f, df, kinks },
});

function softmaxRow(z: number[]): number[] {
  const top = Math.max(...z);
  const e = z.map((v) => Math.exp(v - top));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** Float64 definitions of every activation of the registry, by type, for given options. */
export const ACTIVATIONS: Record<string, (o: Options) => ActivationRef> = {
  Identity: () =>
    elementwise(
      (z) => z,
      () => 1,
    ),
  ReLU: () =>
    elementwise(
      (z) => Math.max(z, 0),
      (z) => (z > 0 ? 1 : 0),
      [0],
    ),
  LeakyReLU: (o) => {
    const s = o.negativeSlope as number;
    return elementwise(
      (z) => (z > 0 ? z : s * z),
      (z) => (z > 0 ? 1 : s),
      [0],
    );
  },
  Sigmoid: () => elementwise(sigmoid, (z) => sigmoid(z) * (1 - sigmoid(z))),
  Tanh: () => elementwise(Math.tanh, (z) => 1 / Math.cosh(z) ** 2),
  GELU: (o) => {
    if (o.approximate === 'tanh') {
      const c = Math.sqrt(2 / Math.PI),
        k = 0.044715;
      const u = (z: number) => c * (z + k * z ** 3);
      return elementwise(
        (z) => 0.5 * z * (1 + Math.tanh(u(z))),
        (z) => 0.5 * (1 + Math.tanh(u(z))) + 0.5 * z * (1 - Math.tanh(u(z)) ** 2) * c * (1 + 3 * k * z * z),
      );
    }
    const cdf = (z: number) => 0.5 * (1 + erf(z / Math.SQRT2));
    return elementwise(
      (z) => z * cdf(z),
      (z) => cdf(z) + (z * Math.exp((-z * z) / 2)) / Math.sqrt(2 * Math.PI),
    );
  },
  SiLU: () =>
    elementwise(
      (z) => z * sigmoid(z),
      (z) => sigmoid(z) * (1 + z * (1 - sigmoid(z))),
    ),
  ELU: (o) => {
    const a = o.alpha as number;
    return elementwise(
      (z) => (z > 0 ? z : a * Math.expm1(z)),
      (z) => (z > 0 ? 1 : a * Math.exp(z)),
      [0],
    );
  },
  Softplus: (o) => {
    // which side of the threshold β·z is on is decided in float32, as torch decides it
    const b = o.beta as number,
      t = o.threshold as number;
    const linear = (z: number) => Math.fround(Math.fround(b) * z) > Math.fround(t);
    return elementwise(
      (z) => (linear(z) ? z : Math.log1p(Math.exp(b * z)) / b),
      (z) => (linear(z) ? 1 : sigmoid(b * z)),
      [t / b],
    );
  },
  Hardtanh: (o) => hardtanh(o.minVal as number, o.maxVal as number),
  ReLU6: () => hardtanh(0, 6),
  Softmax: () => ({
    rowwise: {
      row: softmaxRow,
      vjp: (z, g) => {
        const a = softmaxRow(z);
        const dot = a.reduce((sum, ai, i) => sum + ai * g[i], 0);
        return a.map((ai, i) => ai * (g[i] - dot));
      },
    },
  }),
  LogSoftmax: () => ({
    rowwise: {
      row: (z) => {
        const top = Math.max(...z);
        const lse = top + Math.log(z.reduce((sum, v) => sum + Math.exp(v - top), 0));
        return z.map((v) => v - lse);
      },
      vjp: (z, g) => {
        const total = g.reduce((a, b) => a + b, 0);
        return softmaxRow(z).map((p, i) => g[i] - p * total);
      },
    },
  }),
};

/** The bounds are float32 values in the kernel (and in torch's float32 tensors): the kinks are at them. */
function hardtanh(minVal: number, maxVal: number): ActivationRef {
  const low = Math.fround(minVal),
    high = Math.fround(maxVal);
  return elementwise(
    (z) => Math.min(Math.max(z, low), high),
    (z) => (z > low && z < high ? 1 : 0),
    [low, high],
  );
}

/** The reference of an activation type, or an error naming the missing kind. */
export function activationRef(type: string, options: Options): ActivationRef {
  const make = ACTIVATIONS[type];
  if (!make) throw new Error(`test/reference.ts has no float64 reference for the activation ${type}: add one`);
  return make(options);
}

/** σ over rows × width values. */
export function activate(act: ActivationRef, z: ArrayLike<number>, width: number): Float64Array {
  if ('elementwise' in act) return Float64Array.from(z, (v) => act.elementwise.f(v));
  const out = new Float64Array(z.length);
  for (let r = 0; r * width < z.length; r++) out.set(act.rowwise.row(Array.from(z).slice(r * width, (r + 1) * width)), r * width);
  return out;
}

/** ∂L/∂z from ∂L/∂a over rows × width values. */
export function activationBackward(
  act: ActivationRef,
  z: ArrayLike<number>,
  gradA: ArrayLike<number>,
  width: number,
): Float64Array {
  if ('elementwise' in act) return Float64Array.from(z, (v, i) => gradA[i] * act.elementwise.df(v));
  const out = new Float64Array(z.length);
  for (let r = 0; r * width < z.length; r++) {
    const span = (a: ArrayLike<number>) => Array.from(a).slice(r * width, (r + 1) * width);
    out.set(act.rowwise.vjp(span(z), span(gradA)), r * width);
  }
  return out;
}

export type RefLayer =
  | { kind: 'linear'; inF: number; outF: number; weight: Float64Array; bias: Float64Array | null }
  | { kind: 'activation'; type: string; act: ActivationRef };

/** z[b,o] = Σ_i x[b,i]·W[o,i] + bias[o] */
export function linearForward(
  x: ArrayLike<number>,
  weight: ArrayLike<number>,
  bias: ArrayLike<number> | null,
  batch: number,
  inF: number,
  outF: number,
): Float64Array {
  const z = new Float64Array(batch * outF);
  for (let b = 0; b < batch; b++) {
    for (let o = 0; o < outF; o++) {
      let sum = bias ? bias[o] : 0;
      for (let i = 0; i < inF; i++) sum += x[b * inF + i] * weight[o * inF + i];
      z[b * outF + o] = sum;
    }
  }
  return z;
}

/** All layer outputs: acts[0] = x, acts[k+1] = output of layer k. */
export function forward(layers: RefLayer[], x: ArrayLike<number>, batch: number): Float64Array[] {
  const acts: Float64Array[] = [Float64Array.from(x)];
  for (const layer of layers) {
    const input = acts[acts.length - 1];
    if (layer.kind === 'linear') acts.push(linearForward(input, layer.weight, layer.bias, batch, layer.inF, layer.outF));
    else acts.push(activate(layer.act, input, input.length / batch));
  }
  return acts;
}

export interface RefGrads {
  weight: (Float64Array | null)[];
  bias: (Float64Array | null)[];
  input: Float64Array;
}

/** Backpropagation by the chain rule: ∂L/∂z = σ'(z)·Σ w·∂L/∂z_next; ∂L/∂w = x·∂L/∂z. */
export function backward(layers: RefLayer[], acts: Float64Array[], gradOut: ArrayLike<number>, batch: number): RefGrads {
  let grad: Float64Array = Float64Array.from(gradOut);
  const weight: (Float64Array | null)[] = layers.map(() => null);
  const bias: (Float64Array | null)[] = layers.map(() => null);
  for (let k = layers.length - 1; k >= 0; k--) {
    const layer = layers[k];
    const input = acts[k];
    if (layer.kind === 'linear') {
      const { inF, outF } = layer;
      const gw = new Float64Array(outF * inF);
      const gb = new Float64Array(outF);
      const gx = new Float64Array(batch * inF);
      for (let b = 0; b < batch; b++) {
        for (let o = 0; o < outF; o++) {
          const g = grad[b * outF + o];
          gb[o] += g;
          for (let i = 0; i < inF; i++) {
            gw[o * inF + i] += g * input[b * inF + i];
            gx[b * inF + i] += g * layer.weight[o * inF + i];
          }
        }
      }
      weight[k] = gw;
      bias[k] = layer.bias ? gb : null;
      grad = gx;
    } else {
      grad = activationBackward(layer.act, input, grad, input.length / batch);
    }
  }
  return { weight, bias, input: grad };
}

export function mse(pred: ArrayLike<number>, target: ArrayLike<number>, reduction: 'mean' | 'sum' = 'mean'): number {
  let sum = 0;
  for (let i = 0; i < pred.length; i++) sum += (pred[i] - target[i]) ** 2;
  return reduction === 'mean' ? sum / pred.length : sum;
}

export function mseGrad(pred: ArrayLike<number>, target: ArrayLike<number>, reduction: 'mean' | 'sum' = 'mean'): Float64Array {
  const scale = reduction === 'mean' ? 2 / pred.length : 2;
  return Float64Array.from(pred, (p, i) => scale * (p - target[i]));
}

/** Central finite difference of f at x[i] in float64. */
export function finiteDifference(f: () => number, x: Float64Array, i: number, h = 1e-6): number {
  const saved = x[i];
  x[i] = saved + h;
  const plus = f();
  x[i] = saved - h;
  const minus = f();
  x[i] = saved;
  return (plus - minus) / (2 * h);
}

/** Largest |a − b| relative to the scale of b (with a floor so that near-zero entries compare absolutely). */
export function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 1e-3): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} ≠ ${expected.length}`);
  let scale = floor;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / scale);
  return worst;
}

/** A deterministic float generator for test data (mulberry32), independent of the library's PRNG. */
export function testRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomArray(random: () => number, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => (random() * 2 - 1) * scale);
}

/** Row-wise softmax. */
export function softmaxRows(z: ArrayLike<number>, rows: number, width: number): Float64Array {
  const out = new Float64Array(rows * width);
  for (let r = 0; r < rows; r++) {
    let top = -Infinity;
    for (let c = 0; c < width; c++) top = Math.max(top, z[r * width + c]);
    let sum = 0;
    for (let c = 0; c < width; c++) sum += Math.exp(z[r * width + c] - top);
    for (let c = 0; c < width; c++) out[r * width + c] = Math.exp(z[r * width + c] - top) / sum;
  }
  return out;
}

/** The target distribution q of cross-entropy: one-hot or given probabilities, smoothed by ε. */
export function smoothedTargets(
  target: ArrayLike<number>,
  byIndex: boolean,
  rows: number,
  width: number,
  smoothing: number,
): Float64Array {
  const q = new Float64Array(rows * width);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < width; c++) {
      const t = byIndex ? (target[r] === c ? 1 : 0) : target[r * width + c];
      q[r * width + c] = (1 - smoothing) * t + smoothing / width;
    }
  }
  return q;
}

/** −Σ q·log softmax(z), mean over rows or sum; and its gradient (by the chain rule through softmax). */
export function crossEntropy(z: ArrayLike<number>, q: Float64Array, rows: number, width: number, reduction: 'mean' | 'sum') {
  const p = softmaxRows(z, rows, width);
  const scale = reduction === 'mean' ? 1 / rows : 1;
  let loss = 0;
  const grad = new Float64Array(rows * width);
  for (let r = 0; r < rows; r++) {
    let mass = 0;
    for (let c = 0; c < width; c++) mass += q[r * width + c];
    for (let c = 0; c < width; c++) {
      const i = r * width + c;
      loss -= q[i] * Math.log(p[i]);
      grad[i] = (p[i] * mass - q[i]) * scale;
    }
  }
  return { loss: loss * scale, grad };
}

export function bce(p: ArrayLike<number>, t: ArrayLike<number>, reduction: 'mean' | 'sum') {
  const scale = reduction === 'mean' ? 1 / p.length : 1;
  let loss = 0;
  const grad = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) {
    loss -= t[i] * Math.max(Math.log(p[i]), -100) + (1 - t[i]) * Math.max(Math.log(1 - p[i]), -100);
    grad[i] = ((p[i] - t[i]) / Math.max(p[i] * (1 - p[i]), 1e-12)) * scale;
  }
  return { loss: loss * scale, grad };
}

export function bceWithLogits(z: ArrayLike<number>, t: ArrayLike<number>, reduction: 'mean' | 'sum') {
  const scale = reduction === 'mean' ? 1 / z.length : 1;
  let loss = 0;
  const grad = new Float64Array(z.length);
  for (let i = 0; i < z.length; i++) {
    // log(1 + e^−z) + (1 − t)·z, in a form that neither overflows nor cancels
    loss += Math.max(z[i], 0) - z[i] * t[i] + Math.log1p(Math.exp(-Math.abs(z[i])));
    grad[i] = (1 / (1 + Math.exp(-z[i])) - t[i]) * scale;
  }
  return { loss: loss * scale, grad };
}

// ---- losses by registry type ----

export interface LossRef {
  loss: number;
  grad: Float64Array;
}
/** How a loss's target is given: one class index per row, or values shaped like the prediction. */
export type TargetForm = 'classes' | 'values';
type LossFn = (
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  rows: number,
  width: number,
  o: Options,
  form: TargetForm,
) => LossRef;

/** An element-wise loss of d = pred − target, reduced over all elements. */
function elementLoss(value: (d: number) => number, slope: (d: number) => number): LossFn {
  return (pred, target, _rows, _width, o) => {
    const scale = o.reduction === 'mean' ? 1 / pred.length : 1;
    let loss = 0;
    const grad = new Float64Array(pred.length);
    for (let i = 0; i < pred.length; i++) {
      const d = pred[i] - target[i];
      loss += value(d);
      grad[i] = slope(d) * scale;
    }
    return { loss: loss * scale, grad };
  };
}

const sign = (d: number) => (d > 0 ? 1 : d < 0 ? -1 : 0);

/** Cross-entropy (logSoftmax first) or NLL (log-probabilities given) as torch.nn defines them:
 *  per row −Σ_c a_c·logp_c with a_c = (1 − ε)·w_y·[c = y] + ε/C·w_c for a label y (rows with ignoreIndex add
 *  nothing), or a_c = w_c·((1 − ε)·t_c + ε/C) for probabilities; 'mean' divides by Σ w_y over the counted
 *  rows for labels, by the rows for probabilities. */
function classLoss(logSoftmaxFirst: boolean): LossFn {
  return (pred, target, rows, width, o, form) => {
    const weights = o.weight as ArrayLike<number> | undefined;
    const w = (c: number) => (weights ? weights[c] : 1);
    const eps = logSoftmaxFirst ? ((o.labelSmoothing as number) ?? 0) : 0;
    let total = 0,
      count = 0;
    const coefficients = new Float64Array(rows * width);
    const logp = new Float64Array(rows * width);
    for (let r = 0; r < rows; r++) {
      const z = Array.from(pred).slice(r * width, (r + 1) * width);
      const top = Math.max(...z);
      const lse = logSoftmaxFirst ? top + Math.log(z.reduce((sum, v) => sum + Math.exp(v - top), 0)) : 0;
      for (let c = 0; c < width; c++) logp[r * width + c] = z[c] - lse;
      if (form === 'classes') {
        const y = target[r];
        if (y === o.ignoreIndex) continue;
        count += w(y);
        for (let c = 0; c < width; c++) coefficients[r * width + c] = (c === y ? (1 - eps) * w(y) : 0) + (eps / width) * w(c);
      } else {
        count += 1;
        for (let c = 0; c < width; c++) coefficients[r * width + c] = w(c) * ((1 - eps) * target[r * width + c] + eps / width);
      }
    }
    const scale = o.reduction === 'mean' ? 1 / count : 1;
    const grad = new Float64Array(rows * width);
    for (let r = 0; r < rows; r++) {
      let mass = 0;
      for (let c = 0; c < width; c++) mass += coefficients[r * width + c];
      for (let c = 0; c < width; c++) {
        const i = r * width + c;
        total -= coefficients[i] * logp[i];
        grad[i] = (logSoftmaxFirst ? Math.exp(logp[i]) * mass - coefficients[i] : -coefficients[i]) * scale;
      }
    }
    return { loss: total * scale, grad };
  };
}

/** Float64 definitions of every loss of the registry, by type. */
export const LOSSES: Record<string, LossFn> = {
  MSELoss: elementLoss(
    (d) => d * d,
    (d) => 2 * d,
  ),
  L1Loss: elementLoss(Math.abs, sign),
  SmoothL1Loss: (pred, target, rows, width, o, form) => {
    const b = o.beta as number;
    if (b === 0) return LOSSES.L1Loss(pred, target, rows, width, o, form);
    return elementLoss(
      (d) => (Math.abs(d) < b ? (0.5 * d * d) / b : Math.abs(d) - 0.5 * b),
      (d) => (Math.abs(d) < b ? d / b : sign(d)),
    )(pred, target, rows, width, o, form);
  },
  HuberLoss: (pred, target, rows, width, o, form) => {
    const delta = o.delta as number;
    return elementLoss(
      (d) => (Math.abs(d) < delta ? 0.5 * d * d : delta * (Math.abs(d) - 0.5 * delta)),
      (d) => (Math.abs(d) < delta ? d : delta * sign(d)),
    )(pred, target, rows, width, o, form);
  },
  CrossEntropyLoss: classLoss(true),
  NLLLoss: classLoss(false),
  BCELoss: (pred, target, _rows, _width, o) => bce(pred, target, o.reduction as 'mean' | 'sum'),
  BCEWithLogitsLoss: (pred, target, _rows, _width, o) => bceWithLogits(pred, target, o.reduction as 'mean' | 'sum'),
};

export function lossRef(type: string): LossFn {
  const fn = LOSSES[type];
  if (!fn) throw new Error(`test/reference.ts has no float64 reference for the loss ${type}: add one`);
  return fn;
}
