export { init, initSync, memoryStats } from './core.js';
export { BackpropError, type BackpropErrorCode } from './errors.js';
export type { MatrixInput } from './input.js';
export { Generator, manualSeed } from './random.js';
export {
  Layer, Linear, type LinearOptions, Parameter, Identity, Relu, Relu as ReLU, LeakyRelu, LeakyRelu as LeakyReLU,
  Sigmoid, Tanh,
} from './layers.js';
export { Loss, MSELoss, type LossOptions, type Reduction } from './losses.js';
export { Optimizer, SGD, type SGDOptions } from './optimizers.js';
export { Network, type NetworkOptions } from './network.js';
