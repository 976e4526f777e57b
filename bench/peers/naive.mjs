// The naive baseline: a plain-JavaScript Float32Array MLP (loops, no SIMD), as someone would write it by
// hand. Dense layers W [out, in] + bias, ReLU or sigmoid hidden/output activations, MSE or softmax
// cross-entropy, plain SGD, mini-batches.
export class NaiveMlp {
  constructor(sizes, { hidden = 'relu', output = 'none', seed = 1 } = {}) {
    let s = seed >>> 0;
    const random = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
    this.sizes = sizes;
    this.hidden = hidden;
    this.output = output;
    this.layers = sizes.slice(1).map((out, k) => {
      const inp = sizes[k],
        bound = 1 / Math.sqrt(inp);
      const w = Float32Array.from({ length: out * inp }, () => (random() * 2 - 1) * bound);
      const b = Float32Array.from({ length: out }, () => (random() * 2 - 1) * bound);
      return { inp, out, w, b, gw: new Float32Array(out * inp), gb: new Float32Array(out) };
    });
  }

  /** One SGD step on a batch: x [batch·in], target [batch·out] (MSE) or labels Int32Array (cross-entropy). */
  trainStep(x, target, batch, loss, lr) {
    const acts = [x];
    this.layers.forEach((layer, k) => {
      const input = acts[k];
      const z = new Float32Array(batch * layer.out);
      for (let r = 0; r < batch; r++) {
        for (let o = 0; o < layer.out; o++) {
          let sum = layer.b[o];
          for (let i = 0; i < layer.inp; i++) sum += input[r * layer.inp + i] * layer.w[o * layer.inp + i];
          z[r * layer.out + o] = sum;
        }
      }
      const last = k === this.layers.length - 1;
      const kind = last ? this.output : this.hidden;
      if (kind === 'relu') for (let i = 0; i < z.length; i++) z[i] = z[i] > 0 ? z[i] : 0;
      if (kind === 'sigmoid') for (let i = 0; i < z.length; i++) z[i] = 1 / (1 + Math.exp(-z[i]));
      acts.push(z);
    });
    const y = acts[acts.length - 1];
    const width = this.sizes[this.sizes.length - 1];
    let grad = new Float32Array(y.length);
    let lossValue = 0;
    if (loss === 'mse') {
      for (let i = 0; i < y.length; i++) {
        const d = y[i] - target[i];
        lossValue += d * d;
        grad[i] = (2 * d) / y.length;
      }
      lossValue /= y.length;
    } else {
      for (let r = 0; r < batch; r++) {
        let top = -Infinity;
        for (let c = 0; c < width; c++) top = Math.max(top, y[r * width + c]);
        let sum = 0;
        for (let c = 0; c < width; c++) sum += Math.exp(y[r * width + c] - top);
        for (let c = 0; c < width; c++) {
          const p = Math.exp(y[r * width + c] - top) / sum;
          grad[r * width + c] = (p - (c === target[r] ? 1 : 0)) / batch;
        }
        lossValue += (Math.log(sum) + top - y[r * width + target[r]]) / batch;
      }
    }
    for (let k = this.layers.length - 1; k >= 0; k--) {
      const layer = this.layers[k];
      const a = acts[k + 1];
      const kind = k === this.layers.length - 1 ? this.output : this.hidden;
      if (kind === 'relu') for (let i = 0; i < grad.length; i++) grad[i] = a[i] > 0 ? grad[i] : 0;
      if (kind === 'sigmoid') for (let i = 0; i < grad.length; i++) grad[i] *= a[i] * (1 - a[i]);
      const input = acts[k];
      layer.gw.fill(0);
      layer.gb.fill(0);
      const gx = k > 0 ? new Float32Array(batch * layer.inp) : null;
      for (let r = 0; r < batch; r++) {
        for (let o = 0; o < layer.out; o++) {
          const g = grad[r * layer.out + o];
          layer.gb[o] += g;
          for (let i = 0; i < layer.inp; i++) {
            layer.gw[o * layer.inp + i] += g * input[r * layer.inp + i];
            if (gx) gx[r * layer.inp + i] += g * layer.w[o * layer.inp + i];
          }
        }
      }
      for (let i = 0; i < layer.w.length; i++) layer.w[i] -= lr * layer.gw[i];
      for (let i = 0; i < layer.b.length; i++) layer.b[i] -= lr * layer.gb[i];
      grad = gx;
    }
    return lossValue;
  }
}
