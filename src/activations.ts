// Activation layers: stateless, each one a kernel of assembly/activations.ts with its options, declared
// once in its class's `kind` (torch.nn's class name, options with defaults and rules). Adding one takes its
// kernel (assembly/abi.json, assembly/activations.ts), a class here, and a line in src/registry.ts.
import { BackpropError } from './errors.js';
import { type LayerKernel } from './kernel.js';
import { Layer, type LayerKind, type PlanEntry } from './layers.js';
import { number, oneOf, readOptions } from './options.js';

export interface ActivationKind<O extends object> extends LayerKind<Activation<O>, O> {
  /** The kernel that computes it (assembly/abi.json layerKernels). */
  readonly kernel: LayerKernel;
  /** The kernel's parameter block values (default: the options themselves). */
  params?(options: O): Record<string, unknown>;
}

/** torch's repr of an option value: 1 → 1.0 for floats, strings quoted. */
function repr(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number' && Number.isInteger(value)) return value.toFixed(1);
  return String(value);
}
const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** An activation layer: a = σ(z) element by element, or per row (Softmax, LogSoftmax). */
export abstract class Activation<O extends object = Record<string, never>> extends Layer {
  /** The options in force, defaults filled in. */
  readonly options: Readonly<O>;
  /** @internal */ readonly kind: ActivationKind<O>;

  protected constructor(kind: ActivationKind<O>, given: unknown) {
    super();
    this.kind = kind;
    const options = readOptions(kind.type, kind.options, given ?? {});
    kind.validate?.(options);
    this.options = Object.freeze(options);
  }

  /** @internal */
  planEntry(): PlanEntry {
    return { kernel: this.kind.kernel, params: this.kind.params?.(this.options) ?? (this.options as Record<string, unknown>) };
  }

  override toString(): string {
    const args = Object.entries(this.options).map(([key, value]) => `${snake(key)}=${repr(value)}`);
    return `${this.kind.type}(${args.join(', ')})`;
  }
}

type NoOptions = Record<string, never>;

/** The kind of an activation class: describe() returns its options. */
function activation<O extends object>(kind: Omit<ActivationKind<O>, 'describe'>): ActivationKind<O> {
  return { ...kind, describe: (layer) => ({ ...layer.options }) as O };
}

/** a = z */
export class Identity extends Activation {
  static readonly kind = activation<NoOptions>({
    type: 'Identity',
    kernel: 'Identity',
    options: {},
    create: () => new Identity(),
  });
  constructor(options?: NoOptions) {
    super(Identity.kind, options);
  }
}

/** a = max(z, 0), as torch.nn.ReLU (gradient 0 at z = 0). */
export class ReLU extends Activation {
  static readonly kind = activation<NoOptions>({ type: 'ReLU', kernel: 'ReLU', options: {}, create: () => new ReLU() });
  constructor(options?: NoOptions) {
    super(ReLU.kind, options);
  }
}

export interface LeakyReLUOptions {
  /** Slope for z < 0 (default 0.01). */
  negativeSlope?: number;
}

/** a = z > 0 ? z : negativeSlope·z, as torch.nn.LeakyReLU (default slope 0.01). Also takes the slope as a
 *  number: new LeakyReLU(0.2). */
export class LeakyReLU extends Activation<Required<LeakyReLUOptions>> {
  static readonly kind = activation<Required<LeakyReLUOptions>>({
    type: 'LeakyReLU',
    kernel: 'LeakyReLU',
    options: { negativeSlope: number(0.01) },
    create: (o) => new LeakyReLU(o),
  });
  constructor(options: LeakyReLUOptions | number = {}) {
    super(LeakyReLU.kind, typeof options === 'number' ? { negativeSlope: options } : options);
  }
  get negativeSlope(): number {
    return this.options.negativeSlope;
  }
}

/** a = 1 / (1 + e^−z) */
export class Sigmoid extends Activation {
  static readonly kind = activation<NoOptions>({ type: 'Sigmoid', kernel: 'Sigmoid', options: {}, create: () => new Sigmoid() });
  constructor(options?: NoOptions) {
    super(Sigmoid.kind, options);
  }
}

/** a = tanh(z) */
export class Tanh extends Activation {
  static readonly kind = activation<NoOptions>({ type: 'Tanh', kernel: 'Tanh', options: {}, create: () => new Tanh() });
  constructor(options?: NoOptions) {
    super(Tanh.kind, options);
  }
}

/** Softmax over each row (dim = −1): a = e^z / Σ e^z, computed stably. For training a classifier, prefer
 *  raw logits with CrossEntropyLoss, which fuses the softmax in a more accurate way. */
export class Softmax extends Activation {
  static readonly kind = activation<NoOptions>({ type: 'Softmax', kernel: 'Softmax', options: {}, create: () => new Softmax() });
  constructor(options?: NoOptions) {
    super(Softmax.kind, options);
  }
  override toString(): string {
    return 'Softmax(dim=-1)';
  }
}

/** log softmax over each row (dim = −1): a = z − log Σ e^z, computed stably; NLLLoss takes its output. */
export class LogSoftmax extends Activation {
  static readonly kind = activation<NoOptions>({
    type: 'LogSoftmax',
    kernel: 'LogSoftmax',
    options: {},
    create: () => new LogSoftmax(),
  });
  constructor(options?: NoOptions) {
    super(LogSoftmax.kind, options);
  }
  override toString(): string {
    return 'LogSoftmax(dim=-1)';
  }
}

export interface GELUOptions {
  /** 'none' (default): z·Φ(z) with the exact normal CDF; 'tanh': PyTorch's tanh approximation. */
  approximate?: 'none' | 'tanh';
}

/** a = z·Φ(z), as torch.nn.GELU. */
export class GELU extends Activation<Required<GELUOptions>> {
  static readonly kind = activation<Required<GELUOptions>>({
    type: 'GELU',
    kernel: 'GELU',
    options: { approximate: oneOf(['none', 'tanh'] as const, 'none') },
    create: (o) => new GELU(o),
  });
  constructor(options: GELUOptions = {}) {
    super(GELU.kind, options);
  }
}

/** a = z·sigmoid(z) (also called swish), as torch.nn.SiLU. */
export class SiLU extends Activation {
  static readonly kind = activation<NoOptions>({ type: 'SiLU', kernel: 'SiLU', options: {}, create: () => new SiLU() });
  constructor(options?: NoOptions) {
    super(SiLU.kind, options);
  }
}

export interface ELUOptions {
  /** Scale of the negative part (default 1). */
  alpha?: number;
}

/** a = z > 0 ? z : α·(e^z − 1), as torch.nn.ELU (gradient α at z = 0). */
export class ELU extends Activation<Required<ELUOptions>> {
  static readonly kind = activation<Required<ELUOptions>>({
    type: 'ELU',
    kernel: 'ELU',
    options: { alpha: number(1) },
    create: (o) => new ELU(o),
  });
  constructor(options: ELUOptions = {}) {
    super(ELU.kind, options);
  }
}

export interface SoftplusOptions {
  /** Sharpness (default 1). */
  beta?: number;
  /** Above β·z > threshold the layer is linear, as torch (default 20). */
  threshold?: number;
}

/** a = log(1 + e^(β·z))/β, linear where β·z > threshold, as torch.nn.Softplus. */
export class Softplus extends Activation<Required<SoftplusOptions>> {
  static readonly kind = activation<Required<SoftplusOptions>>({
    type: 'Softplus',
    kernel: 'Softplus',
    options: { beta: number(1, { above: 0 }), threshold: number(20) },
    create: (o) => new Softplus(o),
  });
  constructor(options: SoftplusOptions = {}) {
    super(Softplus.kind, options);
  }
}

export interface HardtanhOptions {
  /** Lower bound (default −1). */
  minVal?: number;
  /** Upper bound, > minVal (default 1). */
  maxVal?: number;
}

/** a = min(max(z, minVal), maxVal), as torch.nn.Hardtanh (gradient 0 at and beyond the bounds). */
export class Hardtanh extends Activation<Required<HardtanhOptions>> {
  static readonly kind = activation<Required<HardtanhOptions>>({
    type: 'Hardtanh',
    kernel: 'Hardtanh',
    options: { minVal: number(-1), maxVal: number(1) },
    create: (o) => new Hardtanh(o),
    validate(o) {
      if (!(o.maxVal > o.minVal)) {
        throw new BackpropError('BAD_OPTION', `expected Hardtanh maxVal > minVal, got minVal ${o.minVal} and maxVal ${o.maxVal}`);
      }
    },
  });
  constructor(options: HardtanhOptions = {}) {
    super(Hardtanh.kind, options);
  }
}

/** a = min(max(z, 0), 6), as torch.nn.ReLU6: Hardtanh's kernel with fixed bounds. */
export class ReLU6 extends Activation {
  static readonly kind = activation<NoOptions>({
    type: 'ReLU6',
    kernel: 'Hardtanh',
    options: {},
    params: () => ({ minVal: 0, maxVal: 6 }),
    create: () => new ReLU6(),
  });
  constructor(options?: NoOptions) {
    super(ReLU6.kind, options);
  }
}
