// Layers: Linear holds parameters in WASM memory; activations are stateless and only name a WASM kernel.
import { WasmBlock, alignFloats, getCore } from './core.js';
import { BackpropError, describeValue } from './errors.js';
import { checkOptionKeys, requireFiniteNumber, requirePositiveInteger } from './input.js';
import { Generator, defaultGen } from './random.js';

/** Kernel ids shared with assembly/network.ts and assembly/activations.ts. */
export enum LayerKind {
  Linear = 0,
  Identity = 1,
  Relu = 2,
  LeakyRelu = 3,
  Sigmoid = 4,
  Tanh = 5,
  Softmax = 6,
}

/** How a Linear layer's weights start (torch.nn.init). 'default' is nn.Linear's own: weight and bias
 *  ~ U(−1/√in, 1/√in). The others set the weight as named and the bias to zero. Kaiming uses the ReLU
 *  gain √2 and fan-in; Xavier uses fan-in + fan-out. */
export type InitScheme = 'default' | 'kaimingUniform' | 'kaimingNormal' | 'xavierUniform' | 'xavierNormal' | 'zeros';
const INIT_SCHEMES: readonly InitScheme[] = ['default', 'kaimingUniform', 'kaimingNormal', 'xavierUniform', 'xavierNormal', 'zeros'];

/** A live Float32Array over WASM memory, re-created when the memory has grown. */
class LiveView {
  private view: Float32Array | null = null;
  constructor(private readonly ptr: number, private readonly length: number) {}
  get(): Float32Array {
    const buffer = getCore().memory.buffer;
    if (this.view === null || this.view.buffer !== buffer) this.view = new Float32Array(buffer, this.ptr, this.length);
    return this.view;
  }
}

/** A trainable tensor: `data` and `grad` are live views into WASM memory (read and write them freely). */
export class Parameter {
  private readonly dataView: LiveView;
  private readonly gradView: LiveView;

  /** @internal */
  constructor(
    readonly name: string,
    readonly shape: readonly number[],
    /** @internal */ readonly owner: Linear,
    /** @internal */ readonly dataPtr: number,
    /** @internal */ readonly gradPtr: number,
  ) {
    this.dataView = new LiveView(dataPtr, this.size);
    this.gradView = new LiveView(gradPtr, this.size);
  }

  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  get data(): Float32Array {
    this.owner.assertAlive();
    return this.dataView.get();
  }

  get grad(): Float32Array {
    this.owner.assertAlive();
    return this.gradView.get();
  }

  /** @internal */
  withName(name: string): Parameter {
    return new Parameter(name, this.shape, this.owner, this.dataPtr, this.gradPtr);
  }
}

export abstract class Layer {
  /** @internal */ abstract readonly kind: LayerKind;
  /** @internal The float parameter of an activation (LeakyRelu's slope). */
  readonly kernelParam: number = 0;

  /** Parameters named as in PyTorch's state_dict ('weight', 'bias'). */
  parameters(): Parameter[] {
    return [];
  }

  abstract toString(): string;

  /** Frees what the layer owns in WASM memory (nothing for activations). */
  dispose(): void {}
}

export interface LinearOptions {
  /** Learn an additive bias (default true, as torch.nn.Linear). */
  bias?: boolean;
  /** Generator for the initial weights; default: the one manualSeed() seeds. */
  generator?: Generator;
  /** Initial weights (default: 'default', PyTorch's nn.Linear init). */
  init?: InitScheme;
}

/** z = x·Wᵀ + b with W of shape [outFeatures, inFeatures], as torch.nn.Linear. */
export class Linear extends Layer {
  /** @internal */ readonly kind = LayerKind.Linear;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly hasBias: boolean;
  readonly init: InitScheme;
  /** @internal */ ownedByNetwork = false;
  private block: WasmBlock | null;
  private readonly params: Parameter[];

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    requirePositiveInteger(inFeatures, 'Linear inFeatures');
    requirePositiveInteger(outFeatures, 'Linear outFeatures');
    checkOptionKeys(options, ['bias', 'generator', 'init'], 'Linear');
    if (options.init !== undefined && !INIT_SCHEMES.includes(options.init)) {
      throw new BackpropError('BAD_OPTION', `expected Linear option init to be one of ${INIT_SCHEMES.join(', ')}, got ${describeValue(options.init)}`);
    }
    this.init = options.init ?? 'default';
    if (options.bias !== undefined && typeof options.bias !== 'boolean') {
      throw new BackpropError('BAD_OPTION', `expected Linear option bias to be a boolean, got ${describeValue(options.bias)}`);
    }
    if (options.generator !== undefined && !(options.generator instanceof Generator)) {
      throw new BackpropError('BAD_OPTION', `expected Linear option generator to be a Generator, got ${describeValue(options.generator)}`);
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.hasBias = options.bias ?? true;
    // One block: [weight | bias | weightGrad | biasGrad], each part 16-byte aligned.
    const weightFloats = alignFloats(inFeatures * outFeatures);
    const biasFloats = this.hasBias ? alignFloats(outFeatures) : 0;
    const paramFloats = weightFloats + biasFloats;
    this.block = new WasmBlock(paramFloats * 8, this);
    const base = this.block.ptr;
    this.params = [new Parameter('weight', [outFeatures, inFeatures], this, base, base + paramFloats * 4)];
    if (this.hasBias) {
      this.params.push(new Parameter('bias', [outFeatures], this, base + weightFloats * 4, base + (paramFloats + weightFloats) * 4));
    }
    this.resetParameters(options.generator ?? defaultGen());
  }

  /** Draws new weights by this layer's init scheme (weight first, then bias, as PyTorch). */
  resetParameters(generator: Generator = defaultGen()): void {
    this.assertAlive();
    const [weight, bias] = this.params;
    const fanIn = this.inFeatures, fanOut = this.outFeatures;
    const uniform = (p: Parameter, bound: number) => generator.fillUniform(p.dataPtr, p.size, -bound, bound);
    const normal = (p: Parameter, std: number) => generator.fillNormal(p.dataPtr, p.size, 0, std);
    switch (this.init) {
      case 'default': uniform(weight, 1 / Math.sqrt(fanIn)); break;
      case 'kaimingUniform': uniform(weight, Math.sqrt(2) * Math.sqrt(3 / fanIn)); break;
      case 'kaimingNormal': normal(weight, Math.sqrt(2) / Math.sqrt(fanIn)); break;
      case 'xavierUniform': uniform(weight, Math.sqrt(6 / (fanIn + fanOut))); break;
      case 'xavierNormal': normal(weight, Math.sqrt(2 / (fanIn + fanOut))); break;
      case 'zeros': getCore().zeroF32(weight.dataPtr, weight.size); break;
    }
    if (!bias) return;
    if (this.init === 'default') uniform(bias, 1 / Math.sqrt(fanIn));
    else getCore().zeroF32(bias.dataPtr, bias.size);
  }

  get weight(): Float32Array {
    return this.params[0].data;
  }
  get weightGrad(): Float32Array {
    return this.params[0].grad;
  }
  /** The bias, or null for Linear(…, { bias: false }). */
  get bias(): Float32Array | null {
    return this.hasBias ? this.params[1].data : null;
  }
  get biasGrad(): Float32Array | null {
    return this.hasBias ? this.params[1].grad : null;
  }

  override parameters(): Parameter[] {
    this.assertAlive();
    return [...this.params];
  }

  /** @internal Pointers for the network plan. */
  pointers(): { weight: number; bias: number; weightGrad: number; biasGrad: number } {
    this.assertAlive();
    const [w, b] = this.params;
    return { weight: w.dataPtr, weightGrad: w.gradPtr, bias: b?.dataPtr ?? 0, biasGrad: b?.gradPtr ?? 0 };
  }

  get disposed(): boolean {
    return this.block === null;
  }

  /** @internal */
  assertAlive(): void {
    if (this.block === null) throw new BackpropError('DISPOSED', `${this.toString()} has been disposed`);
  }

  override toString(): string {
    return `Linear(in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.hasBias})`;
  }

  override dispose(): void {
    this.block?.free();
    this.block = null;
  }
}

abstract class Activation extends Layer {
  override toString(): string {
    return `${this.constructor.name}()`;
  }
}

/** a = z */
export class Identity extends Activation {
  /** @internal */ readonly kind = LayerKind.Identity;
}

/** a = max(z, 0), as torch.nn.ReLU (gradient 0 at z = 0). */
export class Relu extends Activation {
  /** @internal */ readonly kind = LayerKind.Relu;
  override toString(): string {
    return 'ReLU()';
  }
}

/** a = z > 0 ? z : negativeSlope·z, as torch.nn.LeakyReLU (default slope 0.01). */
export class LeakyRelu extends Activation {
  /** @internal */ readonly kind = LayerKind.LeakyRelu;
  override readonly kernelParam: number;
  constructor(readonly negativeSlope = 0.01) {
    super();
    requireFiniteNumber(negativeSlope, 'LeakyRelu negativeSlope', () => true, '');
    this.kernelParam = negativeSlope;
  }
  override toString(): string {
    return `LeakyReLU(negative_slope=${this.negativeSlope})`;
  }
}

/** a = 1 / (1 + e^−z) */
export class Sigmoid extends Activation {
  /** @internal */ readonly kind = LayerKind.Sigmoid;
}

/** a = tanh(z) */
export class Tanh extends Activation {
  /** @internal */ readonly kind = LayerKind.Tanh;
}

/** Softmax over each row (dim = −1): a = e^z / Σ e^z, computed stably. For training a classifier, prefer
 *  raw logits with CrossEntropyLoss, which fuses the softmax in a more accurate way. */
export class Softmax extends Activation {
  /** @internal */ readonly kind = LayerKind.Softmax;
  override toString(): string {
    return 'Softmax(dim=-1)';
  }
}
