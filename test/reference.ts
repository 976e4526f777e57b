// An independent float64 implementation of everything the WASM core computes, written plainly from the
// definitions (and PyTorch's documented formulas), for the tests to compare against.

export type RefActivation = 'identity' | 'relu' | 'leaky' | 'sigmoid' | 'tanh';

export type RefLayer =
  | { kind: 'linear'; inF: number; outF: number; weight: Float64Array; bias: Float64Array | null }
  | { kind: RefActivation; slope?: number };

export function activate(kind: RefActivation, z: number, slope = 0.01): number {
  switch (kind) {
    case 'identity': return z;
    case 'relu': return z > 0 ? z : 0;
    case 'leaky': return z > 0 ? z : slope * z;
    case 'sigmoid': return 1 / (1 + Math.exp(-z));
    case 'tanh': return Math.tanh(z);
  }
}

/** dσ/dz written from the definitions (not from the output). */
export function activationDerivative(kind: RefActivation, z: number, slope = 0.01): number {
  switch (kind) {
    case 'identity': return 1;
    case 'relu': return z > 0 ? 1 : 0;
    case 'leaky': return z > 0 ? 1 : slope;
    case 'sigmoid': { const s = 1 / (1 + Math.exp(-z)); return s * (1 - s); }
    case 'tanh': return 1 / Math.cosh(z) ** 2;
  }
}

/** z[b,o] = Σ_i x[b,i]·W[o,i] + bias[o] */
export function linearForward(x: ArrayLike<number>, weight: ArrayLike<number>, bias: ArrayLike<number> | null,
  batch: number, inF: number, outF: number): Float64Array {
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
    if (layer.kind === 'linear') {
      acts.push(linearForward(input, layer.weight, layer.bias, batch, layer.inF, layer.outF));
    } else {
      acts.push(input.map((z) => activate(layer.kind as RefActivation, z, layer.slope)));
    }
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
  let grad = Float64Array.from(gradOut);
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
      grad = grad.map((g, i) => g * activationDerivative(layer.kind as RefActivation, input[i], layer.slope));
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
export function smoothedTargets(target: ArrayLike<number>, byIndex: boolean, rows: number, width: number, smoothing: number): Float64Array {
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
