// Dense (Linear) layer kernels, f32, row-major, PyTorch layout:
//   X [batch, in], W [out, in], bias [out], Z [batch, out].
// Forward  Z = X·Wᵀ + bias
// Backward dX = dZ·W,  dW += dZᵀ·X,  dBias += Σ_batch dZ   (gradients accumulate until zeroed)
// f32x4 over the contiguous dimension with scalar tails; tiled microkernels come in their own files.

@inline function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

/** Σ_i a[i]·b[i] over n floats. */
@inline function dot(a: usize, b: usize, n: i32): f32 {
  let i = 0;
  let acc = f32x4.splat(0);
  for (; i + 4 <= n; i += 4) {
    acc = f32x4.add(acc, f32x4.mul(v128.load(at(a, i)), v128.load(at(b, i))));
  }
  let sum = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1))
          + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  for (; i < n; i++) sum += load<f32>(at(a, i)) * load<f32>(at(b, i));
  return sum;
}

/** y[i] += alpha·x[i] over n floats. */
@inline function axpy(y: usize, alpha: f32, x: usize, n: i32): void {
  let i = 0;
  const alphaV = f32x4.splat(alpha);
  for (; i + 4 <= n; i += 4) {
    v128.store(at(y, i), f32x4.add(v128.load(at(y, i)), f32x4.mul(alphaV, v128.load(at(x, i)))));
  }
  for (; i < n; i++) store<f32>(at(y, i), load<f32>(at(y, i)) + alpha * load<f32>(at(x, i)));
}

export function linearForward(
  x: usize, weight: usize, bias: usize, z: usize, batch: i32, inFeatures: i32, outFeatures: i32,
): void {
  for (let b = 0; b < batch; b++) {
    const xRow = at(x, b * inFeatures);
    const zRow = at(z, b * outFeatures);
    for (let o = 0; o < outFeatures; o++) {
      let sum = dot(xRow, at(weight, o * inFeatures), inFeatures);
      if (bias) sum += load<f32>(at(bias, o));
      store<f32>(at(zRow, o), sum);
    }
  }
}

/** dX = dZ·W (overwrites dX). */
export function linearBackwardInput(
  gradZ: usize, weight: usize, gradX: usize, batch: i32, inFeatures: i32, outFeatures: i32,
): void {
  memory.fill(gradX, 0, <usize>(batch * inFeatures) << 2);
  for (let b = 0; b < batch; b++) {
    const gradXRow = at(gradX, b * inFeatures);
    const gradZRow = at(gradZ, b * outFeatures);
    for (let o = 0; o < outFeatures; o++) {
      axpy(gradXRow, load<f32>(at(gradZRow, o)), at(weight, o * inFeatures), inFeatures);
    }
  }
}

/** dW += dZᵀ·X and dBias += Σ_batch dZ (bias skipped when its pointer is 0). */
export function linearBackwardParams(
  gradZ: usize, x: usize, gradWeight: usize, gradBias: usize, batch: i32, inFeatures: i32, outFeatures: i32,
): void {
  for (let o = 0; o < outFeatures; o++) {
    const gradWeightRow = at(gradWeight, o * inFeatures);
    for (let b = 0; b < batch; b++) {
      axpy(gradWeightRow, load<f32>(at(gradZ, b * outFeatures + o)), at(x, b * inFeatures), inFeatures);
    }
  }
  if (gradBias) {
    for (let b = 0; b < batch; b++) axpy(gradBias, 1, at(gradZ, b * outFeatures), outFeatures);
  }
}
