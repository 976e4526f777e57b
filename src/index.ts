export { init, initSync, memoryStats, type InitOptions, type SimdFlavour } from './core.js';
export { BackpropError, type BackpropErrorCode } from './errors.js';
export type { MatrixInput } from './input.js';
export { Generator, manualSeed } from './random.js';
export { Layer, Linear, type LinearOptions, Parameter, type InitScheme, type LayerKind } from './layers.js';
export {
  Activation,
  Identity,
  ReLU,
  ReLU as Relu,
  LeakyReLU,
  LeakyReLU as LeakyRelu,
  Sigmoid,
  Tanh,
  Softmax,
  LogSoftmax,
  GELU,
  SiLU,
  ELU,
  Softplus,
  Hardtanh,
  ReLU6,
  type LeakyReLUOptions,
  type GELUOptions,
  type ELUOptions,
  type SoftplusOptions,
  type HardtanhOptions,
} from './activations.js';
export {
  Loss,
  MSELoss,
  L1Loss,
  SmoothL1Loss,
  HuberLoss,
  CrossEntropyLoss,
  NLLLoss,
  BCELoss,
  BCEWithLogitsLoss,
  type LossOptions,
  type SmoothL1Options,
  type HuberOptions,
  type ClassWeightOptions,
  type CrossEntropyOptions,
  type Reduction,
} from './losses.js';
export {
  Optimizer,
  SGD,
  Adam,
  AdamW,
  RMSprop,
  Adagrad,
  type BaseOptimizerOptions,
  type SGDOptions,
  type AdamOptions,
  type RMSpropOptions,
  type AdagradOptions,
} from './optimizers.js';
export { LAYERS, LOSSES, OPTIMIZERS, type LayerSpec, type LossSpec, type OptimizerSpec } from './registry.js';
export type { FitOptions, History, EpochInfo, BatchInfo, Evaluation, TargetInput } from './fit.js';
export { Network, type NetworkOptions, type Trace, type TraceLayer } from './network.js';
export type { NetworkJSON } from './serialize.js';
export { createTrainer, Trainer, type TrainerFitOptions, type WorkerFitOptions } from './trainer.js';
