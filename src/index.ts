export { init, initSync, memoryStats, type InitOptions, type SimdFlavour } from './core.js';
export { BackpropError, type BackpropErrorCode } from './errors.js';
export type { MatrixInput } from './input.js';
export { Generator, manualSeed } from './random.js';
export {
  Layer, Linear, type LinearOptions, Parameter, Identity, Relu, Relu as ReLU, LeakyRelu, LeakyRelu as LeakyReLU,
  Sigmoid, Tanh, Softmax, type InitScheme,
} from './layers.js';
export {
  Loss, MSELoss, CrossEntropyLoss, BCELoss, BCEWithLogitsLoss, type LossOptions, type CrossEntropyOptions, type Reduction,
} from './losses.js';
export { Optimizer, SGD, Adam, AdamW, type SGDOptions, type AdamOptions } from './optimizers.js';
export type { FitOptions, History, EpochInfo, BatchInfo, Evaluation, TargetInput } from './fit.js';
export { Network, type NetworkOptions, type Trace, type TraceLayer } from './network.js';
export type { NetworkJSON, LayerSpec } from './serialize.js';
export { createTrainer, Trainer, type TrainerFitOptions, type LossSpec, type OptimizerSpec, type WorkerFitOptions } from './trainer.js';
