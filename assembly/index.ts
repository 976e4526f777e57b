// The exports of the release core: what the TypeScript facade calls. scripts/gen-exports.mjs turns them
// into the typed CoreExports of src/generated/core-exports.ts. Kernels that only tests and benchmarks call
// directly are exported by the test build (assembly/testing.ts) instead.
export { alloc, free, zeroF32, fillF32, copyF32, firstNonFiniteF32, firstOutsideF32 } from "./memory";
export { rngSeed, rngUniformF32, rngNormalF32, rngBelow, rngShuffleI32 } from "./random";
export { lossEvaluate, lossCountCorrect } from "./losses";
export { optimizerStep, optimizerZeroGrad } from "./optimizers";
export {
  networkForward, networkBackward, networkZeroGrad, networkTrainStep, networkTrainEpochs, networkEvaluate,
  layerActivationDerivative,
} from "./network";
export { resultPtr } from "./result";
export { poolConfigure, poolScratchBytes, poolThreads, poolTakeFailure, poolMarkFailed, poolQuit, poolDieOnNextChunk, poolStats, poolSetAdaptive, poolJudgedProducts, workerLoop } from "./pool";
export { poolSetChunking } from "./linear";
