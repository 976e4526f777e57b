// Dropout(p), inverted, as torch.nn.Dropout: in training mode each element is kept with probability 1 − p
// and scaled by 1/(1 − p) (torch's float32 noise: bernoulli(1 − p) divided by 1 − p), drawn from the
// network's generator (PlanHeader.rng); in eval mode it is the identity. The mask — 0 or the scale per
// element — stays in the row's scratch, so backward is ∂L/∂x = mask·∂L/∂y.
import { at } from "./memory";
import { rngUnit } from "./random";
import { elementPart } from "./scratch";
import {
  DROPOUT_P, DROPOUT_SCRATCH_FIXED, DROPOUT_SCRATCH_PER_FEATURE, DROPOUT_SCRATCH_PER_ROW,
  PLAN_ROW_PARAMS, PLAN_ROW_INPUT, PLAN_ROW_OUTPUT, PLAN_ROW_GRAD_INPUT, PLAN_ROW_GRAD_OUTPUT, PLAN_ROW_OUT_FEATURES,
  PLAN_ROW_SCRATCH,
} from "./generated/abi";

// scratch: fixed[0] = 1 while a mask is in force (the last forward ran in training mode), then the mask

@inline function mask(op: usize, batch: i32): usize {
  const width = load<i32>(op + PLAN_ROW_OUT_FEATURES);
  return elementPart(
    load<usize>(op + PLAN_ROW_SCRATCH), DROPOUT_SCRATCH_FIXED, DROPOUT_SCRATCH_PER_FEATURE, DROPOUT_SCRATCH_PER_ROW, 0,
    width, batch,
  );
}

export function dropoutForward(op: usize, batch: i32, training: bool, rng: usize): void {
  const p = load<f64>(load<usize>(op + PLAN_ROW_PARAMS) + DROPOUT_P);
  const x = load<usize>(op + PLAN_ROW_INPUT), y = load<usize>(op + PLAN_ROW_OUTPUT);
  const n = batch * load<i32>(op + PLAN_ROW_OUT_FEATURES);
  const scratch = load<usize>(op + PLAN_ROW_SCRATCH);
  if (!training || p == 0 || !rng) {
    memory.copy(y, x, <usize>n << 2);
    store<i32>(scratch, 0);
    return;
  }
  const keep = 1.0 - p;
  const scale: f32 = <f32>1 / <f32>keep;
  const m = mask(op, batch);
  for (let i = 0; i < n; i++) {
    const value: f32 = <f64>rngUnit(rng) < keep ? scale : 0;
    store<f32>(at(m, i), value);
    store<f32>(at(y, i), load<f32>(at(x, i)) * value);
  }
  store<i32>(scratch, 1);
}

export function dropoutBackward(op: usize, batch: i32): void {
  const gradY = load<usize>(op + PLAN_ROW_GRAD_OUTPUT), gradX = load<usize>(op + PLAN_ROW_GRAD_INPUT);
  const n = batch * load<i32>(op + PLAN_ROW_OUT_FEATURES);
  if (load<i32>(load<usize>(op + PLAN_ROW_SCRATCH)) == 0) {
    memory.copy(gradX, gradY, <usize>n << 2);
    return;
  }
  const m = mask(op, batch);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(gradX, i), f32x4.mul(v128.load(at(gradY, i)), v128.load(at(m, i))));
  for (; i < n; i++) store<f32>(at(gradX, i), load<f32>(at(gradY, i)) * load<f32>(at(m, i)));
}
