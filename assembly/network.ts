// A network as a plan: one 48-byte row per layer, written by src/network.ts (PLAN_* offsets mirror these).
// Running the whole plan in one call keeps a training step to a constant number of JS↔WASM crossings.
import { linearForward, linearBackwardInput, linearBackwardParams } from "./gemm";
import { activationForward, activationBackward } from "./activations";
import { lossForward, lossBackward } from "./losses";
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
      kind, load<f32>(op + PLAN_PARAM), load<u32>(op + PLAN_INPUT), load<u32>(op + PLAN_OUTPUT),
      batch * outFeatures,
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
      gradOutput, load<u32>(op + PLAN_GRAD_INPUT), batch * outFeatures,
    );
  }
}

export function networkForward(plan: usize, layers: i32, batch: i32): void {
  for (let k = 0; k < layers; k++) layerForward(row(plan, k), batch);
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

/** zeroGrad, forward, loss and its gradient, backward, optimizer step; returns the loss before the step. */
export function networkTrainStep(
  plan: usize, layers: i32, batch: i32, lossKind: i32, reduction: i32, target: usize, optimizer: usize,
): f64 {
  networkZeroGrad(plan, layers);
  networkForward(plan, layers, batch);
  const last = row(plan, layers - 1);
  const pred = load<u32>(last + PLAN_OUTPUT);
  const n = batch * load<i32>(last + PLAN_OUT);
  const loss = lossForward(lossKind, reduction, pred, target, n);
  lossBackward(lossKind, reduction, pred, target, load<u32>(last + PLAN_GRAD_OUTPUT), n);
  networkBackward(plan, layers, batch, false);
  optimizerStep(optimizer);
  return loss;
}
