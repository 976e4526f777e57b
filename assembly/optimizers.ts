// Optimizer updates over a block in linear memory that the JS-side optimizer owns:
//   header (64 bytes): kind, parameter count, steps taken, flags, hyper-parameters
//   table: one 20-byte row per parameter: data, grad, size, state1, state2
// The layout is mirrored by src/optimizers.ts (OPT_* offsets); change both together.

export const SGD: i32 = 1;

export const OPT_KIND: usize = 0;
export const OPT_COUNT: usize = 4;
export const OPT_STEP: usize = 8;
export const OPT_NESTEROV: usize = 12;
export const OPT_LR: usize = 16;
export const OPT_MOMENTUM: usize = 20;
export const OPT_DAMPENING: usize = 24;
export const OPT_WEIGHT_DECAY: usize = 28;
export const OPT_TABLE: usize = 64;
export const OPT_ROW: usize = 20;

@inline function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

// SGD, PyTorch's formula (torch.optim.SGD), per element:
//   g = grad + weightDecay·p
//   momentum ≠ 0: buf = first step ? g : momentum·buf + (1 − dampening)·g
//                 g = nesterov ? g + momentum·buf : buf
//   p = p − lr·g
function sgdUpdate(
  param: usize, grad: usize, buf: usize, n: i32, firstStep: bool,
  lr: f32, momentum: f32, dampening: f32, nesterov: bool, weightDecay: f32,
): void {
  const keep: f32 = <f32>1 - dampening;
  for (let i = 0; i < n; i++) {
    const p = load<f32>(at(param, i));
    let g = load<f32>(at(grad, i));
    if (weightDecay != 0) g = g + weightDecay * p;
    if (momentum != 0) {
      const b = firstStep ? g : momentum * load<f32>(at(buf, i)) + keep * g;
      store<f32>(at(buf, i), b);
      g = nesterov ? g + momentum * b : b;
    }
    store<f32>(at(param, i), p - lr * g);
  }
}

function sgdStep(block: usize): void {
  const count = load<i32>(block + OPT_COUNT);
  const firstStep = load<i32>(block + OPT_STEP) == 0;
  const lr = load<f32>(block + OPT_LR);
  const momentum = load<f32>(block + OPT_MOMENTUM);
  const dampening = load<f32>(block + OPT_DAMPENING);
  const weightDecay = load<f32>(block + OPT_WEIGHT_DECAY);
  const nesterov = load<i32>(block + OPT_NESTEROV) != 0;
  for (let k = 0; k < count; k++) {
    const row = block + OPT_TABLE + <usize>k * OPT_ROW;
    sgdUpdate(
      load<u32>(row), load<u32>(row, 4), load<u32>(row, 12), load<i32>(row, 8), firstStep,
      lr, momentum, dampening, nesterov, weightDecay,
    );
  }
}

export function optimizerStep(block: usize): void {
  switch (load<i32>(block + OPT_KIND)) {
    case SGD: sgdStep(block); break;
    default: unreachable();
  }
  store<i32>(block + OPT_STEP, load<i32>(block + OPT_STEP) + 1);
}

export function optimizerZeroGrad(block: usize): void {
  const count = load<i32>(block + OPT_COUNT);
  for (let k = 0; k < count; k++) {
    const row = block + OPT_TABLE + <usize>k * OPT_ROW;
    memory.fill(load<u32>(row, 4), 0, <usize>load<i32>(row, 8) << 2);
  }
}
