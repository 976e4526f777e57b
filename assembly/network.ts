// A network as a plan (abi.json PlanHeader, then one PlanRow per layer), written by src/plan.ts. Running a
// whole plan — a forward pass, a training step, epochs of gathered batches, an evaluation — in one call keeps
// the JS↔WASM crossings per step constant.
import { linearForward, linearForwardActivated, linearBackwardInput, linearBackwardParams } from "./linear";
import { activationForward, activationBackward } from "./activations";
import { lossSum, lossCount, lossBackward, lossFirstInvalidInput, countCorrect } from "./losses";
import { dropoutForward, dropoutBackward } from "./dropout";
import {
  layerNormForward, layerNormBackward, batchNormForward, batchNormBackward, batchNormCommit,
} from "./normalization";
import { weightedLossSum, scaleRows } from "./sample-weights";
import { firstNonFiniteF32 } from "./memory";
import { optimizerStep } from "./optimizers";
import { rngShuffleI32 } from "./random";
import { smallPlan, smallForward, smallBackward } from "./small";
import { rowPlan, rowForward, rowBackward } from "./one-row";
import { RESULT } from "./result";
import { poolTakeFailure } from "./pool";
import {
  LAYER_LINEAR, LAYER_DROPOUT, LAYER_LAYER_NORM, LAYER_BATCH_NORM1D, isActivationKernel, REDUCTION_MEAN,
  LOSS_CONFIG_REDUCTION, PLAN_HEADER_LAYERS, PLAN_HEADER_TRAINING, PLAN_HEADER_RNG, PLAN_HEADER_STATISTICS,
  PLAN_HEADER_BYTES, PLAN_ROW_BYTES, PLAN_ROW_KERNEL, PLAN_ROW_IN_FEATURES, PLAN_ROW_OUT_FEATURES,
  PLAN_ROW_PARAMS, PLAN_ROW_WEIGHT, PLAN_ROW_BIAS, PLAN_ROW_WEIGHT_GRAD, PLAN_ROW_BIAS_GRAD, PLAN_ROW_INPUT,
  PLAN_ROW_OUTPUT, PLAN_ROW_GRAD_INPUT, PLAN_ROW_GRAD_OUTPUT,
  STEP_CONFIG_PLAN, STEP_CONFIG_LOSS, STEP_CONFIG_OPTIMIZER, STEP_CONFIG_TARGET, STEP_CONFIG_BATCH, STEP_CONFIG_UPDATE,
  STEP_CONFIG_INPUT_GRAD, STEP_CONFIG_SAMPLE_WEIGHTS, STEP_CONFIG_PATH, STEP_PATH_DECIDE, STEP_PATH_SMALL, STEP_PATH_LAYERS,
  STEP_PATH_ROW,
  EPOCH_CONFIG_PLAN, EPOCH_CONFIG_LOSS, EPOCH_CONFIG_OPTIMIZER, EPOCH_CONFIG_INPUTS, EPOCH_CONFIG_INPUT_ROW_BYTES,
  EPOCH_CONFIG_TARGETS, EPOCH_CONFIG_TARGET_ROW_BYTES, EPOCH_CONFIG_INDICES, EPOCH_CONFIG_COUNT, EPOCH_CONFIG_BATCH_SIZE,
  EPOCH_CONFIG_TARGET_BUFFER, EPOCH_CONFIG_BATCH_LOSSES, EPOCH_CONFIG_EPOCHS, EPOCH_CONFIG_SHUFFLE_RNG,
  EPOCH_CONFIG_EPOCH_LOSSES, EPOCH_CONFIG_SAMPLE_WEIGHTS, EPOCH_CONFIG_WEIGHT_BUFFER, EPOCH_CONFIG_PREDICTIONS,
  EVAL_CONFIG_PLAN, EVAL_CONFIG_LOSS, EVAL_CONFIG_INPUTS, EVAL_CONFIG_INPUT_ROW_BYTES, EVAL_CONFIG_TARGETS,
  EVAL_CONFIG_TARGET_ROW_BYTES, EVAL_CONFIG_COUNT, EVAL_CONFIG_BATCH_SIZE, EVAL_CONFIG_PREDICTIONS,
  RESULT_LOSS, RESULT_LOSS_SUM, RESULT_LOSS_COUNT, RESULT_CORRECT, RESULT_JUDGED, RESULT_WHERE, RESULT_BATCH, RESULT_EPOCH,
  STATUS_OK, STATUS_INVALID_PREDICTION, STATUS_NON_FINITE_LOSS, STATUS_NON_FINITE_GRADIENT, STATUS_WORKER_FAILED,
} from "./generated/abi";

@inline function layerCount(plan: usize): i32 {
  return load<i32>(plan + PLAN_HEADER_LAYERS);
}

@inline function row(plan: usize, layer: i32): usize {
  return plan + PLAN_HEADER_BYTES + <usize>layer * PLAN_ROW_BYTES;
}

@inline function kernelOf(op: usize): i32 {
  return load<i32>(op + PLAN_ROW_KERNEL);
}

/** Whether layers such as Dropout and BatchNorm1d run in training mode. */
@inline function isTraining(plan: usize): bool {
  return load<i32>(plan + PLAN_HEADER_TRAINING) != 0;
}

/** Elements of a row's weight (and its gradient): [out, in] for Linear, one per feature for the norms. */
@inline function weightElements(op: usize): i32 {
  const outFeatures = load<i32>(op + PLAN_ROW_OUT_FEATURES);
  return kernelOf(op) == LAYER_LINEAR ? outFeatures * load<i32>(op + PLAN_ROW_IN_FEATURES) : outFeatures;
}

function layerForward(plan: usize, op: usize, batch: i32): void {
  const kernel = kernelOf(op);
  const inFeatures = load<i32>(op + PLAN_ROW_IN_FEATURES);
  const outFeatures = load<i32>(op + PLAN_ROW_OUT_FEATURES);
  if (kernel == LAYER_LINEAR) {
    linearForward(
      load<usize>(op + PLAN_ROW_INPUT), load<usize>(op + PLAN_ROW_WEIGHT), load<usize>(op + PLAN_ROW_BIAS),
      load<usize>(op + PLAN_ROW_OUTPUT), batch, inFeatures, outFeatures,
    );
  } else if (kernel == LAYER_DROPOUT) {
    dropoutForward(op, batch, isTraining(plan), load<usize>(plan + PLAN_HEADER_RNG));
  } else if (kernel == LAYER_LAYER_NORM) {
    layerNormForward(op, batch);
  } else if (kernel == LAYER_BATCH_NORM1D) {
    batchNormForward(op, batch, isTraining(plan));
  } else {
    activationForward(
      kernel, load<usize>(op + PLAN_ROW_PARAMS), load<usize>(op + PLAN_ROW_INPUT), load<usize>(op + PLAN_ROW_OUTPUT),
      batch, outFeatures,
    );
  }
}

/** gradsZeroed: the parameters' gradients were zeroed for this pass (a training step), so a Linear layer's
 *  may be overwritten rather than added to: the same chains (only a −0 can come out as −0 instead of +0), and
 *  the column chunks of the pool then scale as dX's do (the spike: 1.9× on 2 threads, 1.5× accumulating). */
function layerBackward(op: usize, batch: i32, needInputGrad: bool, gradsZeroed: bool): void {
  const kernel = kernelOf(op);
  const inFeatures = load<i32>(op + PLAN_ROW_IN_FEATURES);
  const outFeatures = load<i32>(op + PLAN_ROW_OUT_FEATURES);
  const gradOutput = load<usize>(op + PLAN_ROW_GRAD_OUTPUT);
  if (kernel == LAYER_LINEAR) {
    linearBackwardParams(
      gradOutput, load<usize>(op + PLAN_ROW_INPUT), load<usize>(op + PLAN_ROW_WEIGHT_GRAD),
      load<usize>(op + PLAN_ROW_BIAS_GRAD), batch, inFeatures, outFeatures, !gradsZeroed,
    );
    if (needInputGrad) {
      linearBackwardInput(
        gradOutput, load<usize>(op + PLAN_ROW_WEIGHT), load<usize>(op + PLAN_ROW_GRAD_INPUT), batch, inFeatures, outFeatures,
      );
    }
  } else if (kernel == LAYER_DROPOUT) {
    if (needInputGrad) dropoutBackward(op, batch);
  } else if (kernel == LAYER_LAYER_NORM) {
    layerNormBackward(op, batch, needInputGrad);
  } else if (kernel == LAYER_BATCH_NORM1D) {
    batchNormBackward(op, batch, needInputGrad);
  } else if (needInputGrad) {
    activationBackward(
      kernel, load<usize>(op + PLAN_ROW_PARAMS), load<usize>(op + PLAN_ROW_INPUT), load<usize>(op + PLAN_ROW_OUTPUT),
      gradOutput, load<usize>(op + PLAN_ROW_GRAD_INPUT), batch, outFeatures,
    );
  }
}

/** A Linear layer and the activation after it in one pass (the GEMM's bias-and-activation epilogue). */
function linearActivationForward(op: usize, next: usize, batch: i32): void {
  linearForwardActivated(
    load<usize>(op + PLAN_ROW_INPUT), load<usize>(op + PLAN_ROW_WEIGHT), load<usize>(op + PLAN_ROW_BIAS),
    load<usize>(op + PLAN_ROW_OUTPUT), load<usize>(next + PLAN_ROW_OUTPUT), batch, load<i32>(op + PLAN_ROW_IN_FEATURES),
    load<i32>(op + PLAN_ROW_OUT_FEATURES), kernelOf(next), load<usize>(next + PLAN_ROW_PARAMS),
  );
}

/** The forward pass; a training-mode pass leaves its running-statistics updates pending (see commit). */
function forwardLayers(plan: usize, batch: i32): void {
  const layers = layerCount(plan);
  for (let k = 0; k < layers; k++) {
    const op = row(plan, k);
    if (kernelOf(op) == LAYER_LINEAR && k + 1 < layers && isActivationKernel(kernelOf(row(plan, k + 1)))) {
      linearActivationForward(op, row(plan, k + 1), batch);
      k++;
    } else {
      layerForward(plan, op, batch);
    }
  }
}

/** Applies the running-statistics updates of the last training-mode forward pass (BatchNorm1d): after a
 *  plain forward pass, or once a training step has been taken, so a refused step changes no statistic. */
function commitStatistics(plan: usize): void {
  if (!load<i32>(plan + PLAN_HEADER_STATISTICS)) return;
  const layers = layerCount(plan);
  for (let k = 0; k < layers; k++) if (kernelOf(row(plan, k)) == LAYER_BATCH_NORM1D) batchNormCommit(row(plan, k));
}

/** A forward pass (in the plan's mode), as torch's module call: running statistics are updated in training.
 *  Returns a STATUS_* (STATUS_WORKER_FAILED: the outputs are incomplete and no statistic was updated). */
export function networkForward(plan: usize, batch: i32): i32 {
  forwardLayers(plan, batch);
  if (poolTakeFailure()) return STATUS_WORKER_FAILED;
  commitStatistics(plan);
  return STATUS_OK;
}

/** Backward from the last layer's gradOutput, adding to the gradients (torch's backward()); the first layer's
 *  input gradient only when asked for. */
export function networkBackward(plan: usize, batch: i32, needInputGrad: bool): void {
  backwardLayers(plan, batch, needInputGrad, false);
}

function backwardLayers(plan: usize, batch: i32, needInputGrad: bool, gradsZeroed: bool): void {
  for (let k = layerCount(plan) - 1; k >= 0; k--) layerBackward(row(plan, k), batch, k > 0 || needInputGrad, gradsZeroed);
}

export function networkZeroGrad(plan: usize): void {
  const layers = layerCount(plan);
  for (let k = 0; k < layers; k++) {
    const op = row(plan, k);
    const weightGrad = load<usize>(op + PLAN_ROW_WEIGHT_GRAD);
    if (!weightGrad) continue;
    const outFeatures = load<i32>(op + PLAN_ROW_OUT_FEATURES);
    memory.fill(weightGrad, 0, <usize>weightElements(op) << 2);
    const biasGrad = load<usize>(op + PLAN_ROW_BIAS_GRAD);
    if (biasGrad) memory.fill(biasGrad, 0, <usize>outFeatures << 2);
  }
}

function firstLayerWithNonFiniteGrad(plan: usize): i32 {
  const layers = layerCount(plan);
  for (let k = 0; k < layers; k++) {
    const op = row(plan, k);
    const weightGrad = load<usize>(op + PLAN_ROW_WEIGHT_GRAD);
    if (!weightGrad) continue;
    const outFeatures = load<i32>(op + PLAN_ROW_OUT_FEATURES);
    if (firstNonFiniteF32(weightGrad, weightElements(op)) >= 0) return k;
    const biasGrad = load<usize>(op + PLAN_ROW_BIAS_GRAD);
    if (biasGrad && firstNonFiniteF32(biasGrad, outFeatures) >= 0) return k;
  }
  return -1;
}

@inline function output(plan: usize): usize {
  return load<usize>(row(plan, layerCount(plan) - 1) + PLAN_ROW_OUTPUT);
}
@inline function outputWidth(plan: usize): i32 {
  return load<i32>(row(plan, layerCount(plan) - 1) + PLAN_ROW_OUT_FEATURES);
}

/** forward, loss, zeroGrad and backward for the batch already in the plan's input buffer, then (with
 *  `update`) the optimizer step. The step is taken only when the loss and every gradient are finite, so a
 *  diverging batch leaves the parameters and optimizer state as they were. Writes the loss to the result;
 *  returns a STATUS_*. `path`: a STEP_PATH_* other than decide — pathFor()'s answer for this plan and batch
 *  size (the caller's, taken once where the batch size repeats). */
function trainStep(
  plan: usize, loss: usize, optimizer: usize, target: usize, batch: i32, update: bool, inputGrad: bool, weights: usize,
  path: i32,
): i32 {
  // one compiled copy per path: with the path a constant, each copy holds only its own calls (with the small-path
  // decision taken once per fit() call, W4's fit ran ~11 % faster than one function that branched: median of six
  // interleaved A/B runs)
  if (path == STEP_PATH_ROW) return rowTrainStep(plan, loss, optimizer, target, update, inputGrad, weights);
  return path == STEP_PATH_SMALL
    ? smallTrainStep(plan, loss, optimizer, target, batch, update, inputGrad, weights)
    : layersTrainStep(plan, loss, optimizer, target, batch, update, inputGrad, weights);
}
function rowTrainStep(
  plan: usize, loss: usize, optimizer: usize, target: usize, update: bool, inputGrad: bool, weights: usize,
): i32 {
  return trainStepOn(plan, loss, optimizer, target, 1, update, inputGrad, weights, STEP_PATH_ROW);
}
function smallTrainStep(
  plan: usize, loss: usize, optimizer: usize, target: usize, batch: i32, update: bool, inputGrad: bool, weights: usize,
): i32 {
  return trainStepOn(plan, loss, optimizer, target, batch, update, inputGrad, weights, STEP_PATH_SMALL);
}
function layersTrainStep(
  plan: usize, loss: usize, optimizer: usize, target: usize, batch: i32, update: bool, inputGrad: bool, weights: usize,
): i32 {
  return trainStepOn(plan, loss, optimizer, target, batch, update, inputGrad, weights, STEP_PATH_LAYERS);
}
@inline function trainStepOn(
  plan: usize, loss: usize, optimizer: usize, target: usize, batch: i32, update: bool, inputGrad: bool, weights: usize,
  path: i32,
): i32 {
  // the small paths give the layers path's results without the GEMMs' fixed costs
  if (path == STEP_PATH_ROW) rowForward(plan);
  else if (path == STEP_PATH_SMALL) smallForward(plan, batch);
  else forwardLayers(plan, batch);
  if (poolTakeFailure()) return STATUS_WORKER_FAILED; // a chunk of the forward was never computed
  const pred = output(plan), width = outputWidth(plan);
  const invalid = lossFirstInvalidInput(loss, pred, batch, width);
  if (invalid >= 0) {
    store<i32>(RESULT + RESULT_WHERE, invalid);
    return STATUS_INVALID_PREDICTION;
  }
  const sum = weights ? weightedLossSum(loss, pred, target, weights, batch, width) : lossSum(loss, pred, target, batch, width);
  const count = lossCount(loss, target, batch, width);
  store<f64>(RESULT + RESULT_LOSS_SUM, sum);
  store<f64>(RESULT + RESULT_LOSS_COUNT, count);
  const value = load<i32>(loss + LOSS_CONFIG_REDUCTION) == REDUCTION_MEAN ? sum / count : sum;
  store<f64>(RESULT + RESULT_LOSS, value);
  if (!isFinite(value)) return STATUS_NON_FINITE_LOSS;
  if (path == STEP_PATH_LAYERS) networkZeroGrad(plan); // the small backwards overwrite the gradients
  const gradOutput = load<usize>(row(plan, layerCount(plan) - 1) + PLAN_ROW_GRAD_OUTPUT);
  lossBackward(loss, pred, target, gradOutput, batch, width, count);
  if (weights) scaleRows(gradOutput, weights, batch, width);
  let bad = -1;
  if (path == STEP_PATH_ROW) bad = rowBackward(plan, inputGrad); // tests the gradients' finiteness on the way
  else if (path == STEP_PATH_SMALL) smallBackward(plan, batch, inputGrad);
  else backwardLayers(plan, batch, inputGrad, true);
  if (poolTakeFailure()) return STATUS_WORKER_FAILED; // nothing is updated
  if (!update) return STATUS_OK;
  if (path != STEP_PATH_ROW) bad = firstLayerWithNonFiniteGrad(plan);
  if (bad >= 0) {
    store<i32>(RESULT + RESULT_WHERE, bad);
    return STATUS_NON_FINITE_GRADIENT;
  }
  optimizerStep(optimizer);
  commitStatistics(plan);
  return STATUS_OK;
}

/** The path a training step of `batch` rows takes: the one-row step, the small path, or the layers' own
 *  kernels (the GEMMs). */
function pathFor(plan: usize, batch: i32): i32 {
  if (!smallPlan(plan, batch)) return STEP_PATH_LAYERS;
  return batch == 1 && rowPlan(plan) ? STEP_PATH_ROW : STEP_PATH_SMALL;
}

/** One training step as a StepConfig describes it. */
export function networkTrainStep(step: usize): i32 {
  const plan = load<usize>(step + STEP_CONFIG_PLAN), batch = load<i32>(step + STEP_CONFIG_BATCH);
  return trainStep(
    plan, load<usize>(step + STEP_CONFIG_LOSS), load<usize>(step + STEP_CONFIG_OPTIMIZER),
    load<usize>(step + STEP_CONFIG_TARGET), batch, load<i32>(step + STEP_CONFIG_UPDATE) != 0,
    load<i32>(step + STEP_CONFIG_INPUT_GRAD) != 0, load<usize>(step + STEP_CONFIG_SAMPLE_WEIGHTS),
    stepPath(step, plan, batch),
  );
}

/** The config's path, deciding it (pathFor) and writing it into the config the first time: trainStep keeps
 *  its config between calls while the plan and batch size stay (src/step-config.ts writes `decide` whenever
 *  they change), so a loop of steps decides once (walking the plan each call was ~3 % of W4's trainStep). */
@inline function stepPath(step: usize, plan: usize, batch: i32): i32 {
  let path = load<i32>(step + STEP_CONFIG_PATH);
  if (path == STEP_PATH_DECIDE) {
    path = pathFor(plan, batch);
    store<i32>(step + STEP_CONFIG_PATH, path);
  }
  return path;
}

/** Copies rows indices[start .. start+count) of `src` (rows of `rowBytes`) to consecutive rows of `dst`. */
function gatherRows(src: usize, indices: usize, start: i32, count: i32, rowBytes: i32, dst: usize): void {
  for (let r = 0; r < count; r++) {
    const from = <usize>load<u32>(indices + (<usize>(start + r) << 2));
    copyRow(dst + <usize>r * <usize>rowBytes, src + from * <usize>rowBytes, rowBytes);
  }
}

/** memory.copy, but word by word for the short rows of small networks (memory.copy is a call out of the
 *  engine's compiled code: tens of ns for a row of two floats). Rows are whole floats or i32s. */
@inline function copyRow(dst: usize, src: usize, rowBytes: i32): void {
  if (rowBytes <= 32) {
    for (let b = 0; b < rowBytes; b += 4) store<u32>(dst + <usize>b, load<u32>(src + <usize>b));
  } else {
    memory.copy(dst, src, <usize>rowBytes);
  }
}

/** Copies consecutive rows of `src` to rows indices[start .. start+count) of `dst`. */
function scatterRows(src: usize, indices: usize, start: i32, count: i32, rowBytes: i32, dst: usize): void {
  for (let r = 0; r < count; r++) {
    const to = <usize>load<u32>(indices + (<usize>(start + r) << 2));
    memory.copy(dst + to * <usize>rowBytes, src + <usize>r * <usize>rowBytes, <usize>rowBytes);
  }
}

/** `epochs` passes over the rows named by indices[0 .. count), each reshuffled first when a generator is
 *  given, in batches gathered inside WASM. Writes each epoch's loss (the reduced loss over all its items)
 *  to epochLosses and, when given, each batch's loss to batchLosses (both f64). Stops at the first batch
 *  that is not STATUS_OK, with its epoch and batch (0-based) in the result, and returns its status. */
export function networkTrainEpochs(config: usize): i32 {
  const plan = load<usize>(config + EPOCH_CONFIG_PLAN), loss = load<usize>(config + EPOCH_CONFIG_LOSS);
  const optimizer = load<usize>(config + EPOCH_CONFIG_OPTIMIZER);
  const inputs = load<usize>(config + EPOCH_CONFIG_INPUTS), inputRowBytes = load<i32>(config + EPOCH_CONFIG_INPUT_ROW_BYTES);
  const targets = load<usize>(config + EPOCH_CONFIG_TARGETS), targetRowBytes = load<i32>(config + EPOCH_CONFIG_TARGET_ROW_BYTES);
  const indices = load<usize>(config + EPOCH_CONFIG_INDICES), count = load<i32>(config + EPOCH_CONFIG_COUNT);
  const batchSize = load<i32>(config + EPOCH_CONFIG_BATCH_SIZE), targetBuffer = load<usize>(config + EPOCH_CONFIG_TARGET_BUFFER);
  const batchLosses = load<usize>(config + EPOCH_CONFIG_BATCH_LOSSES), epochLosses = load<usize>(config + EPOCH_CONFIG_EPOCH_LOSSES);
  const epochs = load<i32>(config + EPOCH_CONFIG_EPOCHS), rng = load<usize>(config + EPOCH_CONFIG_SHUFFLE_RNG);
  const sampleWeights = load<usize>(config + EPOCH_CONFIG_SAMPLE_WEIGHTS);
  const weightBuffer = load<usize>(config + EPOCH_CONFIG_WEIGHT_BUFFER);
  const predictions = load<usize>(config + EPOCH_CONFIG_PREDICTIONS);
  const input = load<usize>(row(plan, 0) + PLAN_ROW_INPUT);
  const mean = load<i32>(loss + LOSS_CONFIG_REDUCTION) == REDUCTION_MEAN;
  // the path a batch takes depends on its size only: full batches and the last one
  const pathFull = pathFor(plan, min(batchSize, count));
  const pathLast = pathFor(plan, count % batchSize == 0 ? batchSize : count % batchSize);
  for (let epoch = 0; epoch < epochs; epoch++) {
    if (rng) rngShuffleI32(rng, indices, count);
    let sum: f64 = 0, items: f64 = 0, batchIndex = 0;
    for (let start = 0; start < count; start += batchSize) {
      const rows = min(batchSize, count - start);
      gatherRows(inputs, indices, start, rows, inputRowBytes, input);
      gatherRows(targets, indices, start, rows, targetRowBytes, targetBuffer);
      if (sampleWeights) gatherRows(sampleWeights, indices, start, rows, 4, weightBuffer);
      const path = rows == batchSize ? pathFull : pathLast;
      const status = trainStep(plan, loss, optimizer, targetBuffer, rows, true, false, sampleWeights ? weightBuffer : 0, path);
      if (status != STATUS_OK) {
        store<i32>(RESULT + RESULT_EPOCH, epoch);
        store<i32>(RESULT + RESULT_BATCH, batchIndex);
        return status;
      }
      if (batchLosses) store<f64>(batchLosses + (<usize>batchIndex << 3), load<f64>(RESULT + RESULT_LOSS));
      if (predictions) scatterRows(output(plan), indices, start, rows, outputWidth(plan) << 2, predictions);
      sum += load<f64>(RESULT + RESULT_LOSS_SUM);
      items += load<f64>(RESULT + RESULT_LOSS_COUNT);
      batchIndex++;
    }
    store<f64>(epochLosses + (<usize>epoch << 3), mean ? sum / items : sum);
  }
  return STATUS_OK;
}

/** The loss over rows [0, count) of a data set, forward only, in chunks of batchSize: the reduced loss, its
 *  sum and count, and the correct / judged predictions in the result. */
export function networkEvaluate(config: usize): i32 {
  const plan = load<usize>(config + EVAL_CONFIG_PLAN), loss = load<usize>(config + EVAL_CONFIG_LOSS);
  const inputs = load<usize>(config + EVAL_CONFIG_INPUTS), inputRowBytes = load<i32>(config + EVAL_CONFIG_INPUT_ROW_BYTES);
  const targets = load<usize>(config + EVAL_CONFIG_TARGETS), targetRowBytes = load<i32>(config + EVAL_CONFIG_TARGET_ROW_BYTES);
  const count = load<i32>(config + EVAL_CONFIG_COUNT), batchSize = load<i32>(config + EVAL_CONFIG_BATCH_SIZE);
  const predictions = load<usize>(config + EVAL_CONFIG_PREDICTIONS);
  const input = load<usize>(row(plan, 0) + PLAN_ROW_INPUT);
  const pred = output(plan), width = outputWidth(plan);
  let sum: f64 = 0, items: f64 = 0;
  store<f64>(RESULT + RESULT_CORRECT, 0);
  store<f64>(RESULT + RESULT_JUDGED, 0);
  for (let start = 0; start < count; start += batchSize) {
    const rows = min(batchSize, count - start);
    memory.copy(input, inputs + <usize>start * <usize>inputRowBytes, <usize>rows * <usize>inputRowBytes);
    forwardLayers(plan, rows);
    if (poolTakeFailure()) return STATUS_WORKER_FAILED;
    if (predictions) {
      const rowBytes = <usize>width << 2;
      memory.copy(predictions + <usize>start * rowBytes, pred, <usize>rows * rowBytes);
    }
    const invalid = lossFirstInvalidInput(loss, pred, rows, width);
    if (invalid >= 0) {
      store<i32>(RESULT + RESULT_WHERE, start * width + invalid);
      return STATUS_INVALID_PREDICTION;
    }
    const target = targets + <usize>start * <usize>targetRowBytes;
    sum += lossSum(loss, pred, target, rows, width);
    items += lossCount(loss, target, rows, width);
    countCorrect(loss, pred, target, rows, width);
  }
  store<f64>(RESULT + RESULT_LOSS_SUM, sum);
  store<f64>(RESULT + RESULT_LOSS_COUNT, items);
  store<f64>(RESULT + RESULT_LOSS, load<i32>(loss + LOSS_CONFIG_REDUCTION) == REDUCTION_MEAN ? sum / items : sum);
  return STATUS_OK;
}

/** σ'(z) of activation layer `layer` for the last forward pass of `batch` rows: its own backward kernel
 *  applied to ∂L/∂a = 1 (`ones`), written to `out`. */
export function layerActivationDerivative(plan: usize, layer: i32, batch: i32, ones: usize, out: usize): void {
  const op = row(plan, layer);
  activationBackward(
    kernelOf(op), load<usize>(op + PLAN_ROW_PARAMS), load<usize>(op + PLAN_ROW_INPUT), load<usize>(op + PLAN_ROW_OUTPUT),
    ones, out, batch, load<i32>(op + PLAN_ROW_OUT_FEATURES),
  );
}
