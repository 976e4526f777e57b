// The tight baseline: the plain-JavaScript MLP a careful programmer writes when speed matters. Same maths
// as naive.mjs (dense layers W [out, in] + bias, ReLU or sigmoid, MSE (mean) or softmax cross-entropy (mean
// over the batch), plain SGD), but every buffer — activations, gradients, parameter gradients — is a
// Float32Array allocated once per network (re-allocated only if a larger batch comes), typed arrays are
// read into locals, and a step allocates nothing: no arrays, closures or iterator callbacks.
const NONE = 0,
  RELU = 1,
  SIGMOID = 2;
const kindOf = (name) => ({ none: NONE, relu: RELU, sigmoid: SIGMOID })[name];

export class TightMlp {
  constructor(sizes, { hidden = 'relu', output = 'none', seed = 1, maxBatch = 1 } = {}) {
    let s = seed >>> 0;
    const random = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
    this.sizes = Int32Array.from(sizes);
    this.depth = sizes.length - 1;
    this.hidden = kindOf(hidden);
    this.output = kindOf(output);
    this.w = [];
    this.b = [];
    this.gw = [];
    this.gb = [];
    for (let k = 0; k < this.depth; k++) {
      const inp = sizes[k],
        out = sizes[k + 1],
        bound = 1 / Math.sqrt(inp);
      const w = new Float32Array(out * inp),
        b = new Float32Array(out);
      for (let i = 0; i < w.length; i++) w[i] = (random() * 2 - 1) * bound;
      for (let i = 0; i < b.length; i++) b[i] = (random() * 2 - 1) * bound;
      this.w.push(w);
      this.b.push(b);
      this.gw.push(new Float32Array(out * inp));
      this.gb.push(new Float32Array(out));
    }
    this.exps = new Float64Array(sizes[sizes.length - 1]); // one row's softmax numerators, unrounded
    this.capacity = 0;
    this.reserve(maxBatch);
  }

  /** Activations acts[k] ([batch, sizes[k]], acts[0] unused: the input is read in place) and gradients. */
  reserve(batch) {
    if (batch <= this.capacity) return;
    this.capacity = batch;
    this.acts = [];
    this.grads = [];
    for (let k = 0; k <= this.depth; k++) {
      this.acts.push(new Float32Array(k === 0 ? 0 : batch * this.sizes[k]));
      this.grads.push(new Float32Array(k === 0 ? 0 : batch * this.sizes[k]));
    }
  }

  /** One SGD step on a batch: x [batch·in], target [batch·out] (MSE) or labels Int32Array (cross-entropy). */
  trainStep(x, target, batch, loss, lr) {
    this.reserve(batch);
    const depth = this.depth,
      sizes = this.sizes,
      acts = this.acts,
      grads = this.grads;
    // forward: z = x·Wᵀ + b, a = σ(z) in place
    let input = x;
    for (let k = 0; k < depth; k++) {
      const inp = sizes[k],
        out = sizes[k + 1],
        w = this.w[k],
        b = this.b[k],
        z = acts[k + 1];
      for (let r = 0; r < batch; r++) {
        const xo = r * inp,
          zo = r * out;
        for (let o = 0; o < out; o++) {
          const wo = o * inp;
          let sum = b[o];
          for (let i = 0; i < inp; i++) sum += input[xo + i] * w[wo + i];
          z[zo + o] = sum;
        }
      }
      const kind = k === depth - 1 ? this.output : this.hidden,
        n = batch * out;
      if (kind === RELU)
        for (let i = 0; i < n; i++) {
          if (z[i] < 0) z[i] = 0;
        }
      else if (kind === SIGMOID) for (let i = 0; i < n; i++) z[i] = 1 / (1 + Math.exp(-z[i]));
      input = z;
    }
    // loss and ∂L/∂y
    const width = sizes[depth],
      y = acts[depth],
      gy = grads[depth],
      n = batch * width;
    const exps = this.exps;
    let lossValue = 0;
    if (loss === 'mse') {
      const scale = 2 / n;
      for (let i = 0; i < n; i++) {
        const d = y[i] - target[i];
        lossValue += d * d;
        gy[i] = scale * d;
      }
      lossValue /= n;
    } else {
      for (let r = 0; r < batch; r++) {
        const o = r * width;
        let top = -Infinity;
        for (let c = 0; c < width; c++) if (y[o + c] > top) top = y[o + c];
        let sum = 0;
        for (let c = 0; c < width; c++) {
          const e = Math.exp(y[o + c] - top);
          exps[c] = e;
          sum += e;
        }
        const label = target[r];
        for (let c = 0; c < width; c++) gy[o + c] = (exps[c] / sum - (c === label ? 1 : 0)) / batch;
        lossValue += (Math.log(sum) + top - y[o + label]) / batch;
      }
    }
    // backward: ∂L/∂z = σ'·∂L/∂a, dW = Σ ∂L/∂z ⊗ input, dX = ∂L/∂z·W (before W moves), then SGD
    for (let k = depth - 1; k >= 0; k--) {
      const inp = sizes[k],
        out = sizes[k + 1],
        w = this.w[k],
        b = this.b[k],
        gw = this.gw[k],
        gb = this.gb[k];
      const a = acts[k + 1],
        g = grads[k + 1],
        kind = k === depth - 1 ? this.output : this.hidden,
        m = batch * out;
      if (kind === RELU)
        for (let i = 0; i < m; i++) {
          if (a[i] <= 0) g[i] = 0;
        }
      else if (kind === SIGMOID) for (let i = 0; i < m; i++) g[i] *= a[i] * (1 - a[i]);
      const inputs = k > 0 ? acts[k] : x,
        gx = k > 0 ? grads[k] : null;
      for (let i = 0, len = gw.length; i < len; i++) gw[i] = 0;
      for (let i = 0; i < out; i++) gb[i] = 0;
      if (gx !== null) for (let i = 0, len = batch * inp; i < len; i++) gx[i] = 0;
      for (let r = 0; r < batch; r++) {
        const xo = r * inp,
          go = r * out;
        for (let o = 0; o < out; o++) {
          const d = g[go + o];
          gb[o] += d;
          const wo = o * inp;
          for (let i = 0; i < inp; i++) gw[wo + i] += d * inputs[xo + i];
          if (gx !== null) for (let i = 0; i < inp; i++) gx[xo + i] += d * w[wo + i];
        }
      }
      for (let i = 0, len = w.length; i < len; i++) w[i] -= lr * gw[i];
      for (let i = 0; i < out; i++) b[i] -= lr * gb[i];
    }
    return lossValue;
  }
}
