// The test build of the core (build/backprop-test.wasm): everything the release core exports, plus the
// kernels that the tests and benchmarks call directly — the GEMMs beside their scalar references, each
// activation and loss on its own. Never shipped.
export * from "./index";
export { gemmNT, gemmNTActivated, gemmNN } from "./gemm";
export { linearForward, linearBackwardInput, linearBackwardParams } from "./linear";
export { gemmNTReference, gemmNNReference } from "./gemm-reference";
export { activationForward, activationBackward } from "./activations";
export { lossSum, lossCount, lossBackward, countCorrect } from "./losses";
export {
  smallLinearForwardShortK, smallLinearForwardShortKScalar, smallLinearForwardDot, smallLinearForwardDotScalar,
  smallLinearBackwardParams, smallLinearBackwardParamsScalar, smallLinearBackwardInput, smallLinearBackwardInputScalar,
} from "./small";
export { expNonPositiveF32 } from "./exp";
export { sigmoidForwardScalar } from "./activations";
