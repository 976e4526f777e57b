// LayerNorm and BatchNorm1d over batches [rows, features], as torch.nn's, each forward beside its backward.
// Statistics are formed in f64 and stored in f32; the normalised value is x̂ = (x − mean)·rstd with
// rstd = 1/√(var + eps) (biased variance), and y = x̂·weight + bias (weight 1 and bias 0 without affine:
// null pointers). Backward adds Σ ∂L/∂y·x̂ and Σ ∂L/∂y to the weight's and bias's gradients, and (when
// asked) gives ∂L/∂x. What backward needs — mean and rstd — stays in the row's scratch (abi.json).
import { at } from "./memory";
import { featurePart, rowPart } from "./scratch";
import {
  LAYER_NORM_EPS, LAYER_NORM_SCRATCH_FIXED, LAYER_NORM_SCRATCH_PER_FEATURE,
  BATCH_NORM1D_EPS, BATCH_NORM1D_MOMENTUM, BATCH_NORM1D_RUNNING_MEAN, BATCH_NORM1D_RUNNING_VAR,
  BATCH_NORM1D_NUM_BATCHES_TRACKED, BATCH_NORM1D_SCRATCH_FIXED,
  PLAN_ROW_PARAMS, PLAN_ROW_INPUT, PLAN_ROW_OUTPUT, PLAN_ROW_GRAD_INPUT, PLAN_ROW_GRAD_OUTPUT, PLAN_ROW_OUT_FEATURES,
  PLAN_ROW_WEIGHT, PLAN_ROW_BIAS, PLAN_ROW_WEIGHT_GRAD, PLAN_ROW_BIAS_GRAD, PLAN_ROW_SCRATCH,
} from "./generated/abi";

@inline function weightAt(weight: usize, i: i32): f32 {
  return weight ? load<f32>(at(weight, i)) : 1;
}
@inline function biasAt(bias: usize, i: i32): f32 {
  return bias ? load<f32>(at(bias, i)) : 0;
}

// ---- LayerNorm: statistics per row over its `width` features ----
// forward:  x̂ = (x − mean_row)·rstd_row,  y = x̂·w + b
// backward: g = ∂L/∂y·w;  ∂L/∂x = rstd·(g − mean_row(g) − x̂·mean_row(g·x̂));  ∂L/∂w += Σ_rows ∂L/∂y·x̂;  ∂L/∂b += Σ_rows ∂L/∂y
// scratch: per row, mean (part 0) and rstd (part 1)

@inline function layerNormStats(op: usize, batch: i32, part: i32): usize {
  return rowPart(
    load<usize>(op + PLAN_ROW_SCRATCH), LAYER_NORM_SCRATCH_FIXED, LAYER_NORM_SCRATCH_PER_FEATURE, part,
    load<i32>(op + PLAN_ROW_OUT_FEATURES), batch,
  );
}

export function layerNormForward(op: usize, batch: i32): void {
  const width = load<i32>(op + PLAN_ROW_OUT_FEATURES);
  const eps = <f64>load<f32>(load<usize>(op + PLAN_ROW_PARAMS) + LAYER_NORM_EPS);
  const x = load<usize>(op + PLAN_ROW_INPUT), y = load<usize>(op + PLAN_ROW_OUTPUT);
  const weight = load<usize>(op + PLAN_ROW_WEIGHT), bias = load<usize>(op + PLAN_ROW_BIAS);
  const means = layerNormStats(op, batch, 0), rstds = layerNormStats(op, batch, 1);
  for (let r = 0; r < batch; r++) {
    const row = at(x, r * width), out = at(y, r * width);
    let sum: f64 = 0;
    for (let i = 0; i < width; i++) sum += <f64>load<f32>(at(row, i));
    const mean = sum / <f64>width;
    let squares: f64 = 0;
    for (let i = 0; i < width; i++) {
      const d = <f64>load<f32>(at(row, i)) - mean;
      squares += d * d;
    }
    const meanF = <f32>mean, rstd = <f32>(1.0 / Math.sqrt(squares / <f64>width + eps));
    store<f32>(at(means, r), meanF);
    store<f32>(at(rstds, r), rstd);
    for (let i = 0; i < width; i++) {
      const xhat = (load<f32>(at(row, i)) - meanF) * rstd;
      store<f32>(at(out, i), xhat * weightAt(weight, i) + biasAt(bias, i));
    }
  }
}

export function layerNormBackward(op: usize, batch: i32, needInputGrad: bool): void {
  const width = load<i32>(op + PLAN_ROW_OUT_FEATURES);
  const x = load<usize>(op + PLAN_ROW_INPUT), gradY = load<usize>(op + PLAN_ROW_GRAD_OUTPUT);
  const gradX = load<usize>(op + PLAN_ROW_GRAD_INPUT);
  const weight = load<usize>(op + PLAN_ROW_WEIGHT);
  const weightGrad = load<usize>(op + PLAN_ROW_WEIGHT_GRAD), biasGrad = load<usize>(op + PLAN_ROW_BIAS_GRAD);
  const means = layerNormStats(op, batch, 0), rstds = layerNormStats(op, batch, 1);
  for (let r = 0; r < batch; r++) {
    const row = at(x, r * width), dy = at(gradY, r * width);
    const mean = load<f32>(at(means, r)), rstd = load<f32>(at(rstds, r));
    let sumG: f64 = 0, sumGX: f64 = 0;
    for (let i = 0; i < width; i++) {
      const xhat = (load<f32>(at(row, i)) - mean) * rstd;
      const d = load<f32>(at(dy, i));
      if (weightGrad) store<f32>(at(weightGrad, i), load<f32>(at(weightGrad, i)) + d * xhat);
      if (biasGrad) store<f32>(at(biasGrad, i), load<f32>(at(biasGrad, i)) + d);
      const g = <f64>(d * weightAt(weight, i));
      sumG += g;
      sumGX += g * <f64>xhat;
    }
    if (!needInputGrad) continue;
    const meanG = <f32>(sumG / <f64>width), meanGX = <f32>(sumGX / <f64>width);
    const dx = at(gradX, r * width);
    for (let i = 0; i < width; i++) {
      const xhat = (load<f32>(at(row, i)) - mean) * rstd;
      const g = load<f32>(at(dy, i)) * weightAt(weight, i);
      store<f32>(at(dx, i), rstd * (g - meanG - xhat * meanGX));
    }
  }
}

// ---- BatchNorm1d: statistics per feature over the batch's rows ----
// training (or no running statistics): the batch's mean and biased variance normalise; with running
//   statistics, running = (1 − momentum)·running + momentum·batch (the variance unbiased, n/(n − 1)), applied by
//   batchNormCommit once the step is taken, and num_batches_tracked += 1
// eval with running statistics: x̂ = (x − running_mean)/√(running_var + eps)
// backward with batch statistics: ∂L/∂x = w·rstd·(∂L/∂y − mean(∂L/∂y) − x̂·mean(∂L/∂y·x̂)) over the batch;
//   with running statistics (constants): ∂L/∂x = w·rstd·∂L/∂y
// scratch: fixed[0] = 1 when the batch statistics were used, fixed[1] = 1 while an update of the running
//   statistics is pending; per feature: mean (part 0), rstd (part 1), the unbiased batch variance (part 2)

const USED_BATCH: usize = 0;
const PENDING: usize = 4;

@inline function batchNormPart(op: usize, part: i32): usize {
  return featurePart(
    load<usize>(op + PLAN_ROW_SCRATCH), BATCH_NORM1D_SCRATCH_FIXED, part, load<i32>(op + PLAN_ROW_OUT_FEATURES),
  );
}

export function batchNormForward(op: usize, batch: i32, training: bool): void {
  const width = load<i32>(op + PLAN_ROW_OUT_FEATURES);
  const params = load<usize>(op + PLAN_ROW_PARAMS);
  const eps = <f64>load<f32>(params + BATCH_NORM1D_EPS);
  const runningMean = load<usize>(params + BATCH_NORM1D_RUNNING_MEAN);
  const runningVar = load<usize>(params + BATCH_NORM1D_RUNNING_VAR);
  const x = load<usize>(op + PLAN_ROW_INPUT), y = load<usize>(op + PLAN_ROW_OUTPUT);
  const weight = load<usize>(op + PLAN_ROW_WEIGHT), bias = load<usize>(op + PLAN_ROW_BIAS);
  const scratch = load<usize>(op + PLAN_ROW_SCRATCH);
  const means = batchNormPart(op, 0), rstds = batchNormPart(op, 1), variances = batchNormPart(op, 2);
  const useBatch = training || !runningMean;
  for (let f = 0; f < width; f++) {
    if (useBatch) {
      let sum: f64 = 0;
      for (let r = 0; r < batch; r++) sum += <f64>load<f32>(at(x, r * width + f));
      const mean = sum / <f64>batch;
      let squares: f64 = 0;
      for (let r = 0; r < batch; r++) {
        const d = <f64>load<f32>(at(x, r * width + f)) - mean;
        squares += d * d;
      }
      store<f32>(at(means, f), <f32>mean);
      store<f32>(at(rstds, f), <f32>(1.0 / Math.sqrt(squares / <f64>batch + eps)));
      store<f32>(at(variances, f), <f32>(squares / <f64>(batch - 1)));
    } else {
      store<f32>(at(means, f), load<f32>(at(runningMean, f)));
      store<f32>(at(rstds, f), <f32>(1.0 / Math.sqrt(<f64>load<f32>(at(runningVar, f)) + eps)));
    }
  }
  store<i32>(scratch + USED_BATCH, useBatch ? 1 : 0);
  store<i32>(scratch + PENDING, useBatch && training && runningMean ? 1 : 0);
  for (let r = 0; r < batch; r++) {
    for (let f = 0; f < width; f++) {
      const i = r * width + f;
      const xhat = (load<f32>(at(x, i)) - load<f32>(at(means, f))) * load<f32>(at(rstds, f));
      store<f32>(at(y, i), xhat * weightAt(weight, f) + biasAt(bias, f));
    }
  }
}

export function batchNormBackward(op: usize, batch: i32, needInputGrad: bool): void {
  const width = load<i32>(op + PLAN_ROW_OUT_FEATURES);
  const x = load<usize>(op + PLAN_ROW_INPUT), gradY = load<usize>(op + PLAN_ROW_GRAD_OUTPUT);
  const gradX = load<usize>(op + PLAN_ROW_GRAD_INPUT);
  const weight = load<usize>(op + PLAN_ROW_WEIGHT);
  const weightGrad = load<usize>(op + PLAN_ROW_WEIGHT_GRAD), biasGrad = load<usize>(op + PLAN_ROW_BIAS_GRAD);
  const usedBatch = load<i32>(load<usize>(op + PLAN_ROW_SCRATCH) + USED_BATCH) != 0;
  const means = batchNormPart(op, 0), rstds = batchNormPart(op, 1);
  for (let f = 0; f < width; f++) {
    const mean = load<f32>(at(means, f)), rstd = load<f32>(at(rstds, f));
    let sumDy: f64 = 0, sumDyX: f64 = 0;
    for (let r = 0; r < batch; r++) {
      const i = r * width + f;
      const d = <f64>load<f32>(at(gradY, i));
      sumDy += d;
      sumDyX += d * <f64>((load<f32>(at(x, i)) - mean) * rstd);
    }
    if (weightGrad) store<f32>(at(weightGrad, f), load<f32>(at(weightGrad, f)) + <f32>sumDyX);
    if (biasGrad) store<f32>(at(biasGrad, f), load<f32>(at(biasGrad, f)) + <f32>sumDy);
    if (!needInputGrad) continue;
    const scale = weightAt(weight, f) * rstd;
    const meanDy = <f32>(sumDy / <f64>batch), meanDyX = <f32>(sumDyX / <f64>batch);
    for (let r = 0; r < batch; r++) {
      const i = r * width + f;
      const d = load<f32>(at(gradY, i));
      if (usedBatch) {
        const xhat = (load<f32>(at(x, i)) - mean) * rstd;
        store<f32>(at(gradX, i), scale * (d - meanDy - xhat * meanDyX));
      } else {
        store<f32>(at(gradX, i), scale * d);
      }
    }
  }
}

/** Applies a pending update of the running statistics (after a training forward pass whose step was taken). */
export function batchNormCommit(op: usize): void {
  const scratch = load<usize>(op + PLAN_ROW_SCRATCH);
  if (load<i32>(scratch + PENDING) == 0) return;
  store<i32>(scratch + PENDING, 0);
  const width = load<i32>(op + PLAN_ROW_OUT_FEATURES);
  const params = load<usize>(op + PLAN_ROW_PARAMS);
  const momentum = <f64>load<f32>(params + BATCH_NORM1D_MOMENTUM);
  const runningMean = load<usize>(params + BATCH_NORM1D_RUNNING_MEAN);
  const runningVar = load<usize>(params + BATCH_NORM1D_RUNNING_VAR);
  const means = batchNormPart(op, 0), variances = batchNormPart(op, 2);
  for (let f = 0; f < width; f++) {
    const m = at(runningMean, f), v = at(runningVar, f);
    store<f32>(m, <f32>(momentum * <f64>load<f32>(at(means, f)) + (1.0 - momentum) * <f64>load<f32>(m)));
    store<f32>(v, <f32>(momentum * <f64>load<f32>(at(variances, f)) + (1.0 - momentum) * <f64>load<f32>(v)));
  }
  const tracked = load<usize>(params + BATCH_NORM1D_NUM_BATCHES_TRACKED);
  store<i64>(tracked, load<i64>(tracked) + 1);
}
