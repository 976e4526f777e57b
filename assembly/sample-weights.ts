// Per-sample weights (fit's sampleWeight, as Keras): row r's loss counts s_r times. The weighted sum is
// Σ_r s_r·(sum of row r's losses); the 'mean' reduction still divides by the loss's own count (elements,
// rows, or summed class weights), so a weight of 1 everywhere is the unweighted loss. ∂L/∂pred of row r is
// s_r times the unweighted one.
import { at } from "./memory";
import { lossSum } from "./losses";
import { LOSS_CONFIG_KERNEL, lossTakesClasses } from "./generated/abi";

export function weightedLossSum(loss: usize, pred: usize, target: usize, weights: usize, rows: i32, width: i32): f64 {
  const targetRowBytes: usize = lossTakesClasses(load<i32>(loss + LOSS_CONFIG_KERNEL)) ? 4 : <usize>width << 2;
  let sum: f64 = 0;
  for (let r = 0; r < rows; r++) {
    const rowLoss = lossSum(loss, at(pred, r * width), target + <usize>r * targetRowBytes, 1, width);
    sum += <f64>load<f32>(at(weights, r)) * rowLoss;
  }
  return sum;
}

/** grad[r][·] *= s_r */
export function scaleRows(grad: usize, weights: usize, rows: i32, width: i32): void {
  for (let r = 0; r < rows; r++) {
    const s = load<f32>(at(weights, r));
    const row = at(grad, r * width);
    for (let i = 0; i < width; i++) store<f32>(at(row, i), load<f32>(at(row, i)) * s);
  }
}
