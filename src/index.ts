export { init, initSync, memoryStats, type InitOptions, type SimdFlavour } from './core.js';
export { threadsInfo, type ThreadsInfo, type ThreadsOption } from './threads.js';
export { BackpropError, type BackpropErrorCode } from './errors.js';
export type { MatrixInput } from './input.js';
export { Generator, manualSeed } from './random.js';
export { Layer, Linear, type LinearOptions, Parameter, type InitScheme, type LayerKind } from './layers.js';
export { LayerBuffer, type BufferDtype } from './buffer.js';
export { Dropout, type DropoutOptions } from './dropout.js';
export { NormLayer, LayerNorm, BatchNorm1d, type LayerNormOptions, type BatchNorm1dOptions } from './normalization.js';
export {
  LRScheduler,
  StepLR,
  MultiStepLR,
  ExponentialLR,
  CosineAnnealingLR,
  LinearLR,
  OneCycleLR,
  ReduceLROnPlateau,
  type SchedulerKind,
  type StepLROptions,
  type MultiStepLROptions,
  type ExponentialLROptions,
  type CosineAnnealingLROptions,
  type LinearLROptions,
  type OneCycleLROptions,
  type ReduceLROnPlateauOptions,
} from './schedulers.js';
export type { Metric, MetricName, MetricFunction } from './metrics.js';
export type { BatchSource, StreamBatch, StreamFitOptions } from './stream.js';
// every class of these modules is public: a new kind needs no line here
export * from './activations.js';
export { ReLU as Relu, LeakyReLU as LeakyRelu } from './activations.js';
export * from './losses.js';
export * from './optimizers.js';
export {
  LAYERS,
  LOSSES,
  OPTIMIZERS,
  SCHEDULERS,
  type LayerSpec,
  type LossSpec,
  type OptimizerSpec,
  type SchedulerSpec,
} from './registry.js';
export type {
  FitOptions,
  CommonFitOptions,
  History,
  EpochInfo,
  BatchInfo,
  Evaluation,
  EvaluateOptions,
  TargetInput,
} from './fit.js';
export { Network, type NetworkOptions, type Trace, type TraceLayer } from './network.js';
export type { NetworkJSON } from './serialize.js';
export { createTrainer, Trainer, type TrainerFitOptions, type WorkerFitOptions } from './trainer.js';
