// sklearn.datasets.make_regression(n_samples, n_features=1, noise, random_state) reproduced number for
// number: numpy's legacy RandomState (MT19937, polar Box–Muller, Fisher–Yates shuffle) in plain JS, so the
// demo fits exactly the data of the lecture it follows, with no Python at run time.

class LegacyRandomState {
  constructor(seed) {
    this.key = new Uint32Array(624);
    this.pos = 624;
    this.gauss = null;
    let s = seed >>> 0;
    for (let i = 0; i < 624; i++) {
      this.key[i] = s;
      s = (Math.imul(1812433253, s ^ (s >>> 30)) + i + 1) >>> 0;
    }
  }

  nextUint32() {
    if (this.pos === 624) this.twist();
    let y = this.key[this.pos++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    return (y ^ (y >>> 18)) >>> 0;
  }

  twist() {
    const key = this.key;
    for (let i = 0; i < 624; i++) {
      const y = (key[i] & 0x80000000) | (key[(i + 1) % 624] & 0x7fffffff);
      key[i] = key[(i + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.pos = 0;
  }

  /** numpy's random_sample: 53 random bits. */
  double() {
    const a = this.nextUint32() >>> 5,
      b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** numpy's legacy standard_normal (polar method, second value cached). */
  gaussian() {
    if (this.gauss !== null) {
      const g = this.gauss;
      this.gauss = null;
      return g;
    }
    let x1, x2, r2;
    do {
      x1 = 2 * this.double() - 1;
      x2 = 2 * this.double() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    const f = Math.sqrt((-2 * Math.log(r2)) / r2);
    this.gauss = f * x1;
    return f * x2;
  }

  /** numpy's legacy in-place shuffle of a 1-d array. */
  shuffle(values) {
    for (let i = values.length - 1; i > 0; i--) {
      let mask = i;
      for (const shift of [1, 2, 4, 8, 16]) mask |= mask >>> shift;
      let j;
      do j = this.nextUint32() & mask;
      while (j > i);
      [values[i], values[j]] = [values[j], values[i]];
    }
  }
}

/** make_regression(n_samples, n_features=1, noise, random_state) with sklearn's defaults otherwise. */
export function makeRegressionLikeSklearn({ samples = 100, noise = 0, randomState = 0 } = {}) {
  const random = new LegacyRandomState(randomState);
  const x = Array.from({ length: samples }, () => random.gaussian());
  const coef = 100 * random.double();
  const y = x.map((v) => v * coef + noise * random.gaussian());
  const order = Array.from({ length: samples }, (_, i) => i);
  random.shuffle(order);
  return {
    x: Float32Array.from(order, (i) => x[i]),
    y: Float32Array.from(order, (i) => y[i]),
    coef,
  };
}
