// Element-wise activations a = σ(z), each forward beside its backward ∂L/∂z = σ'(z)·∂L/∂a.
// Backward gets both z (input) and a (output): each derivative uses whichever PyTorch uses.

export const IDENTITY: i32 = 1;
export const RELU: i32 = 2;
export const LEAKY_RELU: i32 = 3;
export const SIGMOID: i32 = 4;
export const TANH: i32 = 5;
export const SOFTMAX: i32 = 6;

@inline function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

// Identity: a = z; ∂a/∂z = 1
function identityForward(z: usize, a: usize, n: i32): void {
  if (a != z) memory.copy(a, z, <usize>n << 2);
}
function identityBackward(gradA: usize, gradZ: usize, n: i32): void {
  if (gradZ != gradA) memory.copy(gradZ, gradA, <usize>n << 2);
}

// ReLU: a = max(z, 0); ∂a/∂z = [z > 0] (0 at z = 0, as PyTorch)
function reluForward(z: usize, a: usize, n: i32): void {
  let i = 0;
  const zero = f32x4.splat(0);
  for (; i + 4 <= n; i += 4) v128.store(at(a, i), f32x4.max(v128.load(at(z, i)), zero));
  for (; i < n; i++) store<f32>(at(a, i), max<f32>(load<f32>(at(z, i)), 0));
}
function reluBackward(z: usize, gradA: usize, gradZ: usize, n: i32): void {
  let i = 0;
  const zero = f32x4.splat(0);
  for (; i + 4 <= n; i += 4) {
    const positive = f32x4.gt(v128.load(at(z, i)), zero);
    v128.store(at(gradZ, i), v128.and(v128.load(at(gradA, i)), positive));
  }
  for (; i < n; i++) store<f32>(at(gradZ, i), load<f32>(at(z, i)) > 0 ? load<f32>(at(gradA, i)) : 0);
}

// LeakyReLU(slope): a = z > 0 ? z : slope·z; ∂a/∂z = z > 0 ? 1 : slope
function leakyReluForward(z: usize, a: usize, n: i32, slope: f32): void {
  let i = 0;
  const zero = f32x4.splat(0);
  const slopeV = f32x4.splat(slope);
  for (; i + 4 <= n; i += 4) {
    const zv = v128.load(at(z, i));
    v128.store(at(a, i), v128.bitselect(zv, f32x4.mul(zv, slopeV), f32x4.gt(zv, zero)));
  }
  for (; i < n; i++) {
    const zi = load<f32>(at(z, i));
    store<f32>(at(a, i), zi > 0 ? zi : zi * slope);
  }
}
function leakyReluBackward(z: usize, gradA: usize, gradZ: usize, n: i32, slope: f32): void {
  let i = 0;
  const zero = f32x4.splat(0);
  const slopeV = f32x4.splat(slope);
  for (; i + 4 <= n; i += 4) {
    const g = v128.load(at(gradA, i));
    v128.store(at(gradZ, i), v128.bitselect(g, f32x4.mul(g, slopeV), f32x4.gt(v128.load(at(z, i)), zero)));
  }
  for (; i < n; i++) {
    const g = load<f32>(at(gradA, i));
    store<f32>(at(gradZ, i), load<f32>(at(z, i)) > 0 ? g : g * slope);
  }
}

// Sigmoid: a = 1 / (1 + e^−z), as e^z / (1 + e^z) for z < 0 to keep tiny values exact; ∂a/∂z = a·(1 − a)
function sigmoidForward(z: usize, a: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const zi = load<f32>(at(z, i));
    const e = Mathf.exp(-Mathf.abs(zi));
    store<f32>(at(a, i), zi >= 0 ? 1 / (1 + e) : e / (1 + e));
  }
}
function sigmoidBackward(a: usize, gradA: usize, gradZ: usize, n: i32): void {
  let i = 0;
  const one = f32x4.splat(1);
  for (; i + 4 <= n; i += 4) {
    const av = v128.load(at(a, i));
    v128.store(at(gradZ, i), f32x4.mul(v128.load(at(gradA, i)), f32x4.mul(f32x4.sub(one, av), av)));
  }
  for (; i < n; i++) {
    const ai = load<f32>(at(a, i));
    store<f32>(at(gradZ, i), load<f32>(at(gradA, i)) * ((1 - ai) * ai));
  }
}

// Tanh: a = tanh z; ∂a/∂z = 1 − a²
function tanhForward(z: usize, a: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(at(a, i), Mathf.tanh(load<f32>(at(z, i))));
}
function tanhBackward(a: usize, gradA: usize, gradZ: usize, n: i32): void {
  let i = 0;
  const one = f32x4.splat(1);
  for (; i + 4 <= n; i += 4) {
    const av = v128.load(at(a, i));
    v128.store(at(gradZ, i), f32x4.mul(v128.load(at(gradA, i)), f32x4.sub(one, f32x4.mul(av, av))));
  }
  for (; i < n; i++) {
    const ai = load<f32>(at(a, i));
    store<f32>(at(gradZ, i), load<f32>(at(gradA, i)) * (1 - ai * ai));
  }
}

// Softmax over each row of `width`: a = e^(z − max z) / Σ e^(z − max z); ∂L/∂z = a·(∂L/∂a − Σ_row a·∂L/∂a)
function softmaxForward(z: usize, a: usize, rows: i32, width: i32): void {
  for (let r = 0; r < rows; r++) {
    const zRow = at(z, r * width), aRow = at(a, r * width);
    let top = load<f32>(zRow);
    for (let i = 1; i < width; i++) top = max<f32>(top, load<f32>(at(zRow, i)));
    let sum: f32 = 0;
    for (let i = 0; i < width; i++) {
      const e = Mathf.exp(load<f32>(at(zRow, i)) - top);
      store<f32>(at(aRow, i), e);
      sum += e;
    }
    const inv: f32 = 1 / sum;
    for (let i = 0; i < width; i++) store<f32>(at(aRow, i), load<f32>(at(aRow, i)) * inv);
  }
}
function softmaxBackward(a: usize, gradA: usize, gradZ: usize, rows: i32, width: i32): void {
  for (let r = 0; r < rows; r++) {
    const aRow = at(a, r * width), gaRow = at(gradA, r * width), gzRow = at(gradZ, r * width);
    let dot: f32 = 0;
    for (let i = 0; i < width; i++) dot += load<f32>(at(aRow, i)) * load<f32>(at(gaRow, i));
    for (let i = 0; i < width; i++) {
      store<f32>(at(gzRow, i), load<f32>(at(aRow, i)) * (load<f32>(at(gaRow, i)) - dot));
    }
  }
}

/** a = σ(z) over rows × width values (width matters only to Softmax, which works per row). */
export function activationForward(kind: i32, param: f32, z: usize, a: usize, rows: i32, width: i32): void {
  const n = rows * width;
  switch (kind) {
    case IDENTITY: identityForward(z, a, n); break;
    case RELU: reluForward(z, a, n); break;
    case LEAKY_RELU: leakyReluForward(z, a, n, param); break;
    case SIGMOID: sigmoidForward(z, a, n); break;
    case TANH: tanhForward(z, a, n); break;
    case SOFTMAX: softmaxForward(z, a, rows, width); break;
    default: unreachable();
  }
}

export function activationBackward(
  kind: i32, param: f32, z: usize, a: usize, gradA: usize, gradZ: usize, rows: i32, width: i32,
): void {
  const n = rows * width;
  switch (kind) {
    case IDENTITY: identityBackward(gradA, gradZ, n); break;
    case RELU: reluBackward(z, gradA, gradZ, n); break;
    case LEAKY_RELU: leakyReluBackward(z, gradA, gradZ, n, param); break;
    case SIGMOID: sigmoidBackward(a, gradA, gradZ, n); break;
    case TANH: tanhBackward(a, gradA, gradZ, n); break;
    case SOFTMAX: softmaxBackward(a, gradA, gradZ, rows, width); break;
    default: unreachable();
  }
}
