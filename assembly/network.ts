// A network as a plan: one 48-byte row per layer, written by src/network.ts (PLAN_* offsets mirror these).
// Running the whole plan in one call keeps a training step to a constant number of JS↔WASM crossings.
import { linearForward, linearForwardActivated, linearBackwardInput, linearBackwardParams } from "./gemm";
import { activationForward, activationBackward } from "./activations";
import { lossForward, lossBackward, lossFirstInvalidInput } from "./losses";
import { firstNonFiniteF32 } from "./memory";
import { optimizerStep } from "./optimizers";

export const LINEAR: i32 = 0;

export const PLAN_KIND: usize = 0;
export const PLAN_IN: usize = 4;
export const PLAN_OUT: usize = 8;
export const PLAN_WEIGHT: usize = 12;
export const PLAN_BIAS: usize = 16;
export const PLAN_WEIGHT_GRAD: usize = 20;
export const PLAN_BIAS_GRAD: usize = 24;
export const PLAN_INPUT: usize = 28;
export const PLAN_OUTPUT: usize = 32;
export const PLAN_GRAD_INPUT: usize = 36;
export const PLAN_GRAD_OUTPUT: usize = 40;
export const PLAN_PARAM: usize = 44;
export const PLAN_ROW: usize = 48;

@inline function row(plan: usize, layer: i32): usize {
  return plan + <usize>layer * PLAN_ROW;
}

function layerForward(op: usize, batch: i32): void {
  const kind = load<i32>(op + PLAN_KIND);
  const inFeatures = load<i32>(op + PLAN_IN);
  const outFeatures = load<i32>(op + PLAN_OUT);
  if (kind == LINEAR) {
    linearForward(
      load<u32>(op + PLAN_INPUT), load<u32>(op + PLAN_WEIGHT), load<u32>(op + PLAN_BIAS),
      load<u32>(op + PLAN_OUTPUT), batch, inFeatures, outFeatures,
    );
  } else {
    activationForward(
      kind, load<f32>(op + PLAN_PARAM), load<u32>(op + PLAN_INPUT), load<u32>(op + PLAN_OUTPUT), batch, outFeatures,
    );
  }
}

function layerBackward(op: usize, batch: i32, needInputGrad: bool): void {
  const kind = load<i32>(op + PLAN_KIND);
  const inFeatures = load<i32>(op + PLAN_IN);
  const outFeatures = load<i32>(op + PLAN_OUT);
  const gradOutput = load<u32>(op + PLAN_GRAD_OUTPUT);
  if (kind == LINEAR) {
    linearBackwardParams(
      gradOutput, load<u32>(op + PLAN_INPUT), load<u32>(op + PLAN_WEIGHT_GRAD), load<u32>(op + PLAN_BIAS_GRAD),
      batch, inFeatures, outFeatures,
    );
    if (needInputGrad) {
      linearBackwardInput(
        gradOutput, load<u32>(op + PLAN_WEIGHT), load<u32>(op + PLAN_GRAD_INPUT), batch, inFeatures, outFeatures,
      );
    }
  } else if (needInputGrad) {
    activationBackward(
      kind, load<f32>(op + PLAN_PARAM), load<u32>(op + PLAN_INPUT), load<u32>(op + PLAN_OUTPUT),
      gradOutput, load<u32>(op + PLAN_GRAD_INPUT), batch, outFeatures,
    );
  }
}

/** A Linear layer and the activation after it in one pass (the GEMM's bias-and-activation epilogue). */
function linearActivationForward(op: usize, next: usize, batch: i32): void {
  linearForwardActivated(
    load<u32>(op + PLAN_INPUT), load<u32>(op + PLAN_WEIGHT), load<u32>(op + PLAN_BIAS), load<u32>(op + PLAN_OUTPUT),
    load<u32>(next + PLAN_OUTPUT), batch, load<i32>(op + PLAN_IN), load<i32>(op + PLAN_OUT),
    load<i32>(next + PLAN_KIND), load<f32>(next + PLAN_PARAM),
  );
}

export function networkForward(plan: usize, layers: i32, batch: i32): void {
  for (let k = 0; k < layers; k++) {
    const op = row(plan, k);
    if (load<i32>(op + PLAN_KIND) == LINEAR && k + 1 < layers && load<i32>(row(plan, k + 1) + PLAN_KIND) != LINEAR) {
      linearActivationForward(op, row(plan, k + 1), batch);
      k++;
    } else {
      layerForward(op, batch);
    }
  }
}

/** Backward from the last layer's GRAD_OUTPUT; the first layer's input gradient only when asked for. */
export function networkBackward(plan: usize, layers: i32, batch: i32, needInputGrad: bool): void {
  for (let k = layers - 1; k >= 0; k--) layerBackward(row(plan, k), batch, k > 0 || needInputGrad);
}

export function networkZeroGrad(plan: usize, layers: i32): void {
  for (let k = 0; k < layers; k++) {
    const op = row(plan, k);
    if (load<i32>(op + PLAN_KIND) != LINEAR) continue;
    const outFeatures = load<i32>(op + PLAN_OUT);
    memory.fill(load<u32>(op + PLAN_WEIGHT_GRAD), 0, <usize>(outFeatures * load<i32>(op + PLAN_IN)) << 2);
    const biasGrad = load<u32>(op + PLAN_BIAS_GRAD);
    if (biasGrad) memory.fill(biasGrad, 0, <usize>outFeatures << 2);
  }
}

// What a training call reports besides its status: the loss (f64) and where a problem was (i32).
const RESULT = memory.data(16);
export const RESULT_LOSS: usize = 0;
export const RESULT_WHERE: usize = 8;
export const RESULT_BATCH: usize = 12;

export function resultPtr(): usize {
  return RESULT;
}

export const STATUS_OK: i32 = 0;
export const STATUS_INVALID_PREDICTION: i32 = 1; // e.g. BCE on a value outside [0, 1]; WHERE = its index
export const STATUS_NON_FINITE_LOSS: i32 = 2;
export const STATUS_NON_FINITE_GRADIENT: i32 = 3; // WHERE = the layer

function firstLayerWithNonFiniteGrad(plan: usize, layers: i32): i32 {
  for (let k = 0; k < layers; k++) {
    const op = row(plan, k);
    if (load<i32>(op + PLAN_KIND) != LINEAR) continue;
    const outFeatures = load<i32>(op + PLAN_OUT);
    if (firstNonFiniteF32(load<u32>(op + PLAN_WEIGHT_GRAD), outFeatures * load<i32>(op + PLAN_IN)) >= 0) return k;
    const biasGrad = load<u32>(op + PLAN_BIAS_GRAD);
    if (biasGrad && firstNonFiniteF32(biasGrad, outFeatures) >= 0) return k;
  }
  return -1;
}

/** forward, loss, zeroGrad, backward, optimizer step, for the batch already in the input buffer.
 *  The step is taken only when the loss and every gradient are finite, so a diverging batch leaves the
 *  parameters and optimizer state as they were. Writes the loss to the result; returns a STATUS_*. */
export function networkTrainStep(
  plan: usize, layers: i32, batch: i32, lossKind: i32, reduction: i32, smoothing: f32, target: usize,
  optimizer: usize,
): i32 {
  networkForward(plan, layers, batch);
  const last = row(plan, layers - 1);
  const pred = load<u32>(last + PLAN_OUTPUT);
  const width = load<i32>(last + PLAN_OUT);
  const invalid = lossFirstInvalidInput(lossKind, pred, batch, width);
  if (invalid >= 0) {
    store<i32>(RESULT + RESULT_WHERE, invalid);
    return STATUS_INVALID_PREDICTION;
  }
  const loss = lossForward(lossKind, reduction, smoothing, pred, target, batch, width);
  store<f64>(RESULT + RESULT_LOSS, loss);
  if (!isFinite(loss)) return STATUS_NON_FINITE_LOSS;
  networkZeroGrad(plan, layers);
  lossBackward(lossKind, reduction, smoothing, pred, target, load<u32>(last + PLAN_GRAD_OUTPUT), batch, width);
  networkBackward(plan, layers, batch, false);
  const bad = firstLayerWithNonFiniteGrad(plan, layers);
  if (bad >= 0) {
    store<i32>(RESULT + RESULT_WHERE, bad);
    return STATUS_NON_FINITE_GRADIENT;
  }
  optimizerStep(optimizer);
  return STATUS_OK;
}

/** Copies rows indices[start .. start+count) of `src` (rows of `rowBytes`) to consecutive rows of `dst`. */
export function gatherRows(src: usize, indices: usize, start: i32, count: i32, rowBytes: i32, dst: usize): void {
  for (let r = 0; r < count; r++) {
    const from = <usize>load<i32>(indices + (<usize>(start + r) << 2));
    memory.copy(dst + <usize>r * <usize>rowBytes, src + from * <usize>rowBytes, <usize>rowBytes);
  }
}

/** Trains on `count` samples in the order of `indices`, batch by batch, inside WASM. Writes each batch's
 *  loss to `batchLosses` (f64). Stops at the first batch that is not STATUS_OK, with
 *  that batch's number in RESULT_BATCH, and returns its status. */
export function networkTrainEpoch(
  plan: usize, layers: i32, inputs: usize, inputRowBytes: i32, targets: usize, targetRowBytes: i32,
  indices: usize, count: i32, batchSize: i32, lossKind: i32, reduction: i32, smoothing: f32,
  targetBuffer: usize, optimizer: usize, batchLosses: usize,
): i32 {
  const input = load<u32>(plan + PLAN_INPUT);
  let batchIndex = 0;
  for (let start = 0; start < count; start += batchSize) {
    const rows = min(batchSize, count - start);
    gatherRows(inputs, indices, start, rows, inputRowBytes, input);
    gatherRows(targets, indices, start, rows, targetRowBytes, targetBuffer);
    const status = networkTrainStep(plan, layers, rows, lossKind, reduction, smoothing, targetBuffer, optimizer);
    if (status != STATUS_OK) {
      store<i32>(RESULT + RESULT_BATCH, batchIndex);
      return status;
    }
    store<f64>(batchLosses + (<usize>batchIndex << 3), load<f64>(RESULT + RESULT_LOSS));
    batchIndex++;
  }
  return STATUS_OK;
}
