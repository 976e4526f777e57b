// Layers: the Layer base and its registry descriptor, Parameter (a live view of a tensor in WASM memory),
// and Linear, the layer that holds weights. The activations are in activations.ts.
import { WasmBlock, alignFloats, checkedBytes, getCore, memoryBuffer, type Ptr } from './core.js';
import { BackpropError, describeValue } from './errors.js';
import { type LayerKernel } from './kernel.js';
import { type OptionSpecs, boolean, instance, number, oneOf, readOptions } from './options.js';
import { Generator, defaultGen } from './random.js';

/** How one kind of layer is built, described and saved: its torch.nn class name (the `type` of a saved
 *  layer spec), its options (default and rule each) and the conversions between spec and instance. */
export interface LayerKind<L extends Layer = Layer, O extends object = object> {
  readonly type: string;
  readonly options: OptionSpecs<O>;
  /** Options that torch.nn (and our constructor) take positionally, in order (Linear's sizes). */
  readonly positional?: readonly (keyof O & string)[];
  /** Checks that involve several options (after each one is checked on its own). */
  validate?(options: O): void;
  /** The shapes of the tensors a layer with these options saves, by state_dict name ('weight', …). */
  parameterShapes?(options: O): Record<string, number[]>;
  create(options: O): L;
  /** The spec options that rebuild `layer`. */
  describe(layer: L): O;
}

/** A live Float32Array over WASM memory, re-created when the memory has grown. */
class LiveView {
  private view: Float32Array | null = null;
  constructor(
    private readonly ptr: Ptr,
    private readonly length: number,
  ) {}
  get(): Float32Array {
    const buffer = memoryBuffer();
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
    /** @internal */ readonly owner: Layer,
    /** @internal */ readonly dataPtr: Ptr,
    /** @internal */ readonly gradPtr: Ptr,
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

/** What a layer asks of the plan: its kernel, the kernel's parameter values, its tensors. */
export interface PlanEntry {
  kernel: LayerKernel;
  params?: Record<string, unknown>;
  weight?: Ptr;
  bias?: Ptr;
  weightGrad?: Ptr;
  biasGrad?: Ptr;
}

/** Something that keeps WASM memory for a layer's parameters (an optimizer's state) and must go with it. */
export interface Dependent {
  dispose(): void;
}

/** A weak reference where the platform has them (a dependent the user dropped can still be collected). */
type Ref<T extends object> = { deref(): T | undefined };
const weakRef = <T extends object>(target: T): Ref<T> =>
  typeof WeakRef === 'function' ? new WeakRef(target) : { deref: () => target };

export abstract class Layer {
  /** @internal The network this layer belongs to, once it is in one: it disposes the layer. */
  owner: object | null = null;
  private readonly dependents = new Set<Ref<Dependent>>();

  /** @internal Registers `dependent` to be disposed with this layer; returns a function that unregisters it. */
  attachDependent(dependent: Dependent): () => void {
    for (const old of this.dependents) if (old.deref() === undefined) this.dependents.delete(old); // collected
    const ref = weakRef(dependent);
    this.dependents.add(ref);
    return () => this.dependents.delete(ref);
  }

  /** @internal Frees the layer's memory, and first that of everything kept for its parameters (optimizer
   *  state): its network calls this when it is disposed. */
  release(): void {
    for (const ref of [...this.dependents]) ref.deref()?.dispose();
    this.dependents.clear();
    this.freeMemory();
  }

  /** @internal What the layer itself owns in WASM memory (nothing for activations). */
  protected freeMemory(): void {}

  /** Frees what the layer owns in WASM memory. A layer that belongs to a network goes with the network:
   *  dispose the network instead (disposing a layer it still runs would leave it computing with freed
   *  memory). */
  dispose(): void {
    if (this.owner !== null && !(this.owner as { disposed?: boolean }).disposed) {
      throw new BackpropError(
        'BAD_STATE',
        `${this} belongs to a Network and is freed with it: call net.dispose() (the network runs this layer until then)`,
      );
    }
    this.release();
  }

  /** @internal The registry entry of this layer's class. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each class narrows it to its own options
  abstract readonly kind: LayerKind<any, any>;

  /** @internal What the network's plan runs for this layer. */
  abstract planEntry(): PlanEntry;

  /** @internal The input width this layer needs, or null when it takes any. */
  inputWidth(): number | null {
    return null;
  }

  /** @internal The width of this layer's output for an input of `width`. */
  outputWidth(width: number): number {
    return width;
  }

  /** Parameters named as in PyTorch's state_dict ('weight', 'bias'). */
  parameters(): Parameter[] {
    return [];
  }

  /** @internal Throws DISPOSED once the layer's memory is gone. */
  assertAlive(): void {}

  abstract toString(): string;
}

/** How a Linear layer's weights start (torch.nn.init). 'default' is nn.Linear's own: weight and bias
 *  ~ U(−1/√in, 1/√in). The others set the weight as named and the bias to zero. Kaiming uses the ReLU
 *  gain √2 and fan-in; Xavier uses fan-in + fan-out. */
export type InitScheme = 'default' | 'kaimingUniform' | 'kaimingNormal' | 'xavierUniform' | 'xavierNormal' | 'zeros';
const INIT_SCHEMES: readonly InitScheme[] = [
  'default',
  'kaimingUniform',
  'kaimingNormal',
  'xavierUniform',
  'xavierNormal',
  'zeros',
];

export interface LinearOptions {
  /** Learn an additive bias (default true, as torch.nn.Linear). */
  bias?: boolean;
  /** Generator for the initial weights; default: the one manualSeed() seeds. */
  generator?: Generator;
  /** Initial weights (default: 'default', PyTorch's nn.Linear init). */
  init?: InitScheme;
}

/** What a saved Linear holds: its sizes and whether it has a bias. */
export interface LinearSpec {
  inFeatures: number;
  outFeatures: number;
  bias: boolean;
}

const size = () => number(0, { min: 1, integer: true });

const constructorOptions: OptionSpecs<Required<LinearOptions>> = {
  bias: boolean(true),
  generator: instance(Generator, 'Generator') as never,
  init: oneOf(INIT_SCHEMES, 'default'),
};

/** z = x·Wᵀ + b with W of shape [outFeatures, inFeatures], as torch.nn.Linear. */
export class Linear extends Layer {
  static readonly kind: LayerKind<Linear, LinearSpec> = {
    type: 'Linear',
    options: { inFeatures: size(), outFeatures: size(), bias: boolean(true) },
    positional: ['inFeatures', 'outFeatures'],
    create: (o) => new Linear(o.inFeatures, o.outFeatures, { bias: o.bias }),
    parameterShapes: (o) => ({ weight: [o.outFeatures, o.inFeatures], ...(o.bias ? { bias: [o.outFeatures] } : {}) }),
    describe: (layer) => ({ inFeatures: layer.inFeatures, outFeatures: layer.outFeatures, bias: layer.hasBias }),
  };
  /** @internal */ readonly kind = Linear.kind;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly hasBias: boolean;
  readonly init: InitScheme;
  private block: WasmBlock | null;
  private readonly params: Parameter[];

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    checkSize(inFeatures, 'inFeatures');
    checkSize(outFeatures, 'outFeatures');
    const o = readOptions('Linear', constructorOptions, options);
    this.init = o.init;
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.hasBias = o.bias;
    // One block: [weight | bias | weightGrad | biasGrad], each part 16-byte aligned.
    const weightFloats = alignFloats(inFeatures * outFeatures);
    const biasFloats = this.hasBias ? alignFloats(outFeatures) : 0;
    const paramFloats = weightFloats + biasFloats;
    this.block = new WasmBlock(checkedBytes(`${this} (its weights and gradients)`, paramFloats, 8), this);
    const base = this.block.ptr;
    this.params = [new Parameter('weight', [outFeatures, inFeatures], this, base, base + paramFloats * 4)];
    if (this.hasBias) {
      this.params.push(
        new Parameter('bias', [outFeatures], this, base + weightFloats * 4, base + (paramFloats + weightFloats) * 4),
      );
    }
    // a new block is zeroed already: 'zeros' has nothing to write (a 1 GB layer then costs one pass, not two)
    if (this.init !== 'zeros') this.resetParameters(o.generator ?? defaultGen());
  }

  /** Draws new weights by this layer's init scheme (weight first, then bias, as PyTorch). */
  resetParameters(generator: Generator = defaultGen()): void {
    this.assertAlive();
    const [weight, bias] = this.params;
    const fanIn = this.inFeatures,
      fanOut = this.outFeatures;
    const uniform = (p: Parameter, bound: number) => generator.fillUniform(p.dataPtr, p.size, -bound, bound);
    const normal = (p: Parameter, std: number) => generator.fillNormal(p.dataPtr, p.size, 0, std);
    switch (this.init) {
      case 'default':
        uniform(weight, 1 / Math.sqrt(fanIn));
        break;
      case 'kaimingUniform':
        uniform(weight, Math.sqrt(2) * Math.sqrt(3 / fanIn));
        break;
      case 'kaimingNormal':
        normal(weight, Math.sqrt(2) / Math.sqrt(fanIn));
        break;
      case 'xavierUniform':
        uniform(weight, Math.sqrt(6 / (fanIn + fanOut)));
        break;
      case 'xavierNormal':
        normal(weight, Math.sqrt(2 / (fanIn + fanOut)));
        break;
      case 'zeros':
        getCore().zeroF32(weight.dataPtr, weight.size);
        break;
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

  /** @internal */
  planEntry(): PlanEntry {
    this.assertAlive();
    const [w, b] = this.params;
    return { kernel: 'Linear', weight: w.dataPtr, weightGrad: w.gradPtr, bias: b?.dataPtr ?? 0, biasGrad: b?.gradPtr ?? 0 };
  }

  /** @internal */
  override inputWidth(): number {
    return this.inFeatures;
  }

  /** @internal */
  override outputWidth(): number {
    return this.outFeatures;
  }

  get disposed(): boolean {
    return this.block === null;
  }

  /** @internal */
  override assertAlive(): void {
    if (this.block === null) throw new BackpropError('DISPOSED', `${this.toString()} has been disposed`);
  }

  override toString(): string {
    return `Linear(in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.hasBias})`;
  }

  protected override freeMemory(): void {
    this.block?.free();
    this.block = null;
  }
}

function checkSize(value: unknown, name: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    const given = value === undefined ? 'nothing' : describeValue(value);
    throw new BackpropError(
      'BAD_OPTION',
      `expected Linear ${name} to be a positive integer, got ${given} (usage: new Linear(inFeatures, outFeatures, options))`,
    );
  }
}
