// The registries: every layer, loss and optimizer class by its torch name. Saved files, checkpoints, the
// worker protocol (its spec types are derived from these classes) and the test suites read them, so a new
// kind is listed once, here.
import {
  ELU,
  GELU,
  Hardtanh,
  Identity,
  LeakyReLU,
  LogSoftmax,
  ReLU,
  ReLU6,
  SiLU,
  Sigmoid,
  Softmax,
  Softplus,
  Tanh,
} from './activations.js';
import { BackpropError, describeValue } from './errors.js';
import { type Layer, type LayerKind, Linear } from './layers.js';
import {
  BCELoss,
  BCEWithLogitsLoss,
  CrossEntropyLoss,
  HuberLoss,
  L1Loss,
  type Loss,
  type LossKind,
  MSELoss,
  NLLLoss,
  SmoothL1Loss,
} from './losses.js';
import { Adagrad, Adam, AdamW, type Optimizer, type OptimizerKind, RMSprop, SGD } from './optimizers.js';
import { type Parameter } from './layers.js';
import { readOptions } from './options.js';

export const LAYERS = {
  Linear,
  Identity,
  ReLU,
  LeakyReLU,
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
} as const;
export const LOSSES = {
  MSELoss,
  L1Loss,
  SmoothL1Loss,
  HuberLoss,
  CrossEntropyLoss,
  NLLLoss,
  BCELoss,
  BCEWithLogitsLoss,
} as const;
export const OPTIMIZERS = { SGD, Adam, AdamW, RMSprop, Adagrad } as const;

type KindOptions<C> = C extends { kind: { options: infer S } }
  ? { [K in keyof S]?: S[K] extends { default: infer T } ? T : never }
  : never;
type Spec<Registry> = { [K in keyof Registry]: { type: K } & KindOptions<Registry[K]> }[keyof Registry];

/** A layer as plain data: { type: 'Linear', inFeatures, outFeatures, bias }, { type: 'ELU', alpha }, … */
export type LayerSpec = Spec<typeof LAYERS>;
/** A loss as plain data: { type: 'CrossEntropyLoss', labelSmoothing: 0.1 }, … */
export type LossSpec = Spec<typeof LOSSES>;
/** An optimizer as plain data: { type: 'SGD', lr: 0.05, momentum: 0.9 }, … */
export type OptimizerSpec = Spec<typeof OPTIMIZERS>;

function lookup<T>(registry: Record<string, T>, what: string, spec: unknown): [string, T, Record<string, unknown>] {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new BackpropError('BAD_OPTION', `expected a ${what} spec { type, ...options }, got ${describeValue(spec)}`);
  }
  const { type, ...options } = spec as Record<string, unknown>;
  const entry = typeof type === 'string' && Object.hasOwn(registry, type) ? registry[type] : undefined;
  if (!entry) {
    const given = typeof type === 'string' ? JSON.stringify(type) : describeValue(type);
    throw new BackpropError('BAD_OPTION', `unknown ${what} type ${given}; expected one of ${Object.keys(registry).join(', ')}`);
  }
  return [type as string, entry, options];
}

/* eslint-disable @typescript-eslint/no-explicit-any -- the registries hold kinds of every option type */
type AnyLayerKind = LayerKind<any, any>;
const layerKinds = LAYERS as unknown as Record<string, { kind: AnyLayerKind }>;
const lossKinds = LOSSES as unknown as Record<string, { kind: LossKind<any> }>;
const optimizerKinds = OPTIMIZERS as unknown as Record<string, { kind: OptimizerKind<any> }>;
/* eslint-enable @typescript-eslint/no-explicit-any */

/** The kind of a layer type, or null when the registry has none. */
export function layerKind(type: unknown): AnyLayerKind | null {
  return typeof type === 'string' && Object.hasOwn(layerKinds, type) ? layerKinds[type].kind : null;
}

/** A layer from its spec (options checked as the constructor checks them). */
export function buildLayer(spec: unknown): Layer {
  const [type, { kind }, options] = lookup(layerKinds, 'layer', spec);
  const resolved = readOptions(type, kind.options, options);
  kind.validate?.(resolved);
  return kind.create(resolved) as Layer;
}

/** The spec that rebuilds `layer`. */
export function describeLayer(layer: Layer): LayerSpec {
  return { type: layer.kind.type, ...layer.kind.describe(layer) } as LayerSpec;
}

export function buildLoss(spec: unknown): Loss {
  const [type, { kind }, options] = lookup(lossKinds, 'loss', spec);
  const resolved = readOptions(type, kind.options, options);
  kind.validate?.(resolved);
  return kind.create(resolved) as Loss;
}

export function buildOptimizer(params: Parameter[], spec: unknown): Optimizer {
  const [type, { kind }, options] = lookup(optimizerKinds, 'optimizer', spec);
  const resolved = readOptions(type, kind.options, options);
  kind.validate?.(resolved);
  return kind.create(params, resolved) as Optimizer;
}

/** The spec that rebuilds `optimizer` over the same parameters. */
export function describeOptimizer(optimizer: Optimizer): OptimizerSpec {
  return { type: optimizer.kind.type, ...optimizer.config() } as OptimizerSpec;
}
