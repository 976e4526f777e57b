// The exports of the WASM core. The TypeScript facade (src/core.ts) declares the same signatures.
export { alloc, free, zeroF32, copyF32, firstNonFiniteF32, firstOutsideF32 } from "./memory";
export { rngSeed, rngUniformF32, rngNormalF32, rngBelow, rngShuffleI32 } from "./random";
export { linearForward, linearForwardActivated, linearBackwardInput, linearBackwardParams, gemmNT, gemmNTActivated, gemmNN } from "./gemm";
export { gemmNTReference, gemmNNReference } from "./gemm-reference";
export { activationForward, activationBackward } from "./activations";
export { lossForward, lossBackward, lossFirstInvalidInput, countCorrect } from "./losses";
export { optimizerStep, optimizerZeroGrad } from "./optimizers";
export {
  networkForward, networkBackward, networkZeroGrad, networkTrainStep, networkTrainEpoch, gatherRows, resultPtr,
} from "./network";
