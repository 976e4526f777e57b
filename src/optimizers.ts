// Optimizers, each declared once in its class's `kind`: torch.optim's class name, its kernel, its options
// (default and rule each) and which of the kernel's state buffers those options use. The base class is
// generic: it lays out one WASM block — header with the kernel's parameter block, a row per parameter,
// then the state buffers (as many per parameter as the kernel names) — and checkpoints whatever state
// the kind declares. A new optimizer adds its kernel and a class here; nothing in the base changes.
import { type Ptr, WasmBlock, alignFloats, checkedBytes, getCore, memoryBuffer } from './core.js';
import { BackpropError, describeValue } from './errors.js';
import {
  type OptimizerKernel,
  optimizerRowBytes,
  optimizerStateSlots,
  optimizerTableOffset,
  readStructField,
  setStructField,
  writeOptimizerHeader,
  writeStruct,
} from './kernel.js';
import { Parameter } from './layers.js';
import { type OptionSpecs, boolean, number, optionalNumber, pair, readOptions } from './options.js';

/** Options every optimizer has. */
export interface BaseOptimizerOptions {
  /** Learning rate, ≥ 0 (0 is allowed: a schedule may end there). */
  lr?: number;
  /** Scale the gradients down when their global L2 norm exceeds this (torch.nn.utils.clip_grad_norm_). */
  clipGradNorm?: number;
}

type Resolved = { lr: number; clipGradNorm: number | undefined };

/** How one kind of optimizer is built, run and checkpointed. */
export interface OptimizerKind<O extends Resolved> {
  /** torch.optim's class name: the `type` in checkpoints and the worker protocol. */
  readonly type: string;
  readonly kernel: OptimizerKernel;
  readonly options: OptionSpecs<O>;
  /** The kernel's parameter block values (default: the options themselves). */
  params?(options: O): Record<string, unknown>;
  /** The state buffers these options use, by torch's state_dict names (a subset of the kernel's slots). */
  state(options: O): readonly string[];
  /** A starting value for state buffers other than 0, by name (Adagrad's initial accumulator). */
  initialState?(options: O): Record<string, number>;
  validate?(options: O): void;
  create(params: Parameter[], options: O): Optimizer<O>;
}

const lrOption = (defaultValue: number) => number(defaultValue, { min: 0 });
const clipOption = () => optionalNumber({ above: 0 });

function checkParams(params: unknown): Parameter[] {
  if (!Array.isArray(params) || params.length === 0) {
    throw new BackpropError(
      'BAD_TYPE',
      `expected a non-empty array of parameters (net.parameters()), got ${describeValue(params)}`,
    );
  }
  const seen = new Set<number>();
  params.forEach((p, i) => {
    if (!(p instanceof Parameter)) {
      throw new BackpropError(
        'BAD_TYPE',
        `expected params[${i}] to be a Parameter from net.parameters(), got ${describeValue(p)}`,
      );
    }
    p.owner.assertAlive();
    if (seen.has(p.dataPtr)) throw new BackpropError('BAD_OPTION', `params[${i}] (${p.name}) appears more than once`);
    seen.add(p.dataPtr);
  });
  return [...params];
}

export abstract class Optimizer<O extends Resolved = Resolved> {
  readonly params: readonly Parameter[];
  /** @internal */ readonly kind: OptimizerKind<O>;
  /** The options in force (lr as last set), defaults filled in. */
  readonly options: Readonly<O>;
  /** @internal Names of the state buffers kept per parameter, as in torch.optim's state_dict. */
  readonly stateNames: readonly string[];
  private block: WasmBlock | null;
  /** Float offset of each used state buffer within a parameter's state (slot · stride). */
  private readonly slots: number[];

  protected constructor(kind: OptimizerKind<O>, params: Parameter[], given: unknown) {
    const options = readOptions(kind.type, kind.options, given ?? {});
    kind.validate?.(options);
    this.kind = kind;
    this.options = options;
    this.params = Object.freeze(checkParams(params));
    this.stateNames = kind.state(options);
    const allSlots = optimizerStateSlots(kind.kernel);
    this.slots = this.stateNames.map((name) => allSlots.indexOf(name));
    const slotCount = Math.max(0, ...this.slots.map((s) => s + 1));
    const tableBytes = alignFloats((this.params.length * optimizerRowBytes()) / 4) * 4;
    const stateFloats = this.params.reduce((sum, p) => sum + alignFloats(p.size) * slotCount, 0);
    const bytes = optimizerTableOffset() + tableBytes + checkedBytes(`${kind.type}'s state`, stateFloats);
    this.block = new WasmBlock(checkedBytes(`${kind.type}'s state`, bytes, 1), this);
    this.writeBlock(tableBytes, slotCount, options);
    // the state goes with the parameters: disposing their network (or layer) disposes this optimizer
    this.detach = [...new Set(this.params.map((p) => p.owner))].map((layer) => layer.attachDependent(this));
  }

  private readonly detach: (() => void)[];

  private writeBlock(tableBytes: number, slotCount: number, options: O): void {
    const base = this.block!.ptr;
    writeOptimizerHeader(
      base,
      this.kind.kernel,
      { count: this.params.length, lr: options.lr, clipGradNorm: options.clipGradNorm ?? 0 },
      this.kind.params?.(options) ?? options,
    );
    let state = base + optimizerTableOffset() + tableBytes;
    this.params.forEach((p, k) => {
      const stride = alignFloats(p.size);
      writeStruct('OptimizerRow', this.rowPtr(k), { data: p.dataPtr, grad: p.gradPtr, size: p.size, stateStride: stride, state });
      state += stride * slotCount * 4;
    });
    const initial = this.kind.initialState?.(options) ?? {};
    this.forEachState((name, view) => view.fill(initial[name] ?? 0));
  }

  private rowPtr(k: number): Ptr {
    return this.alivePtr() + optimizerTableOffset() + k * optimizerRowBytes();
  }

  /** Calls `visit` with a live view of every used state buffer, parameter by parameter. */
  private forEachState(visit: (name: string, view: Float32Array) => void): void {
    const memory = memoryBuffer();
    this.params.forEach((p, k) => {
      const state = readStructField('OptimizerRow', this.rowPtr(k), 'state');
      const stride = readStructField('OptimizerRow', this.rowPtr(k), 'stateStride');
      this.stateNames.forEach((name, i) => visit(name, new Float32Array(memory, state + this.slots[i] * stride * 4, p.size)));
    });
  }

  /** The learning rate; set it to schedule (takes effect at the next step). */
  get lr(): number {
    return this.options.lr;
  }
  set lr(value: number) {
    const lr = lrOption(0).check(value, `${this.kind.type} lr`);
    setStructField('OptimizerHeader', this.alivePtr(), 'lr', lr);
    (this.options as Resolved).lr = lr;
  }

  get clipGradNorm(): number | undefined {
    return this.options.clipGradNorm;
  }

  private alivePtr(): Ptr {
    if (!this.block) throw new BackpropError('DISPOSED', `this ${this.kind.type} has been disposed`);
    return this.block.ptr;
  }

  /** @internal The block pointer, after checking the optimizer is alive. That covers its parameters: the
   *  layer that owns one disposes this optimizer before it frees its memory (attachDependent), so a live
   *  optimizer has live parameters. (A check per parameter cost ~7 % of a small network's trainStep.) */
  readyBlock(): Ptr {
    return this.alivePtr();
  }

  /** @internal The options that rebuild this optimizer (its checkpoint config). */
  config(): Record<string, unknown> {
    return Object.fromEntries(Object.entries(this.options).filter(([, v]) => v !== undefined));
  }

  /** @internal A copy of the optimizer's whole WASM block (header, table, state), for tests. */
  snapshot(): Uint8Array {
    return new Uint8Array(memoryBuffer(), this.alivePtr(), this.block!.bytes).slice();
  }

  /** @internal Copies of the per-parameter state buffers, parameter by parameter in stateNames order. */
  stateBuffers(): Float32Array[] {
    this.alivePtr();
    const out: Float32Array[] = [];
    this.forEachState((_, view) => out.push(view.slice()));
    return out;
  }

  /** @internal Sets the step count and state buffers (as stateBuffers() returns them), for checkpoints. */
  restoreState(step: number, buffers: Float32Array[]): void {
    this.alivePtr();
    let next = 0;
    this.forEachState((_, view) => view.set(buffers[next++]));
    setStructField('OptimizerHeader', this.alivePtr(), 'step', step);
  }

  /** How many times step() has run. */
  get stepCount(): number {
    return readStructField('OptimizerHeader', this.alivePtr(), 'step');
  }

  /** Updates every parameter from its gradient. */
  step(): void {
    getCore().optimizerStep(this.readyBlock());
  }

  /** Sets the gradients of this optimizer's parameters to zero. */
  zeroGrad(): void {
    getCore().optimizerZeroGrad(this.readyBlock());
  }

  get disposed(): boolean {
    return this.block === null;
  }

  /** Frees the optimizer's state (momentum buffers, moments); the parameters belong to their layers. Done
   *  for you when the network of its parameters is disposed. */
  dispose(): void {
    if (!this.block) return;
    this.block.free();
    this.block = null;
    this.detach.forEach((detach) => detach());
  }

  toString(): string {
    return `${this.kind.type}(${JSON.stringify(this.config())})`;
  }
}

/** The kind of an optimizer class (a typed identity: declarations read as data). */
function optimizerKind<O extends Resolved>(kind: OptimizerKind<O>): OptimizerKind<O> {
  return kind;
}

export interface SGDOptions extends BaseOptimizerOptions {
  /** Momentum factor, ≥ 0 (default 0). */
  momentum?: number;
  /** Dampening for momentum, in [0, 1] (default 0). */
  dampening?: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0). */
  nesterov?: boolean;
  /** L2 penalty added to the gradient, ≥ 0 (default 0). */
  weightDecay?: number;
}
type ResolvedSGD = Resolved & { momentum: number; dampening: number; nesterov: boolean; weightDecay: number };

/** Stochastic gradient descent with PyTorch's exact update (torch.optim.SGD); lr defaults to 1e-3. */
export class SGD extends Optimizer<ResolvedSGD> {
  static readonly kind = optimizerKind<ResolvedSGD>({
    type: 'SGD',
    kernel: 'SGD',
    options: {
      lr: lrOption(1e-3),
      momentum: number(0, { min: 0 }),
      dampening: number(0, { min: 0, max: 1 }),
      nesterov: boolean(false),
      weightDecay: number(0, { min: 0 }),
      clipGradNorm: clipOption(),
    },
    validate(o) {
      if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
        throw new BackpropError(
          'BAD_OPTION',
          `Nesterov momentum needs momentum > 0 and dampening 0, got momentum ${o.momentum} and dampening ${o.dampening}`,
        );
      }
    },
    state: (o) => (o.momentum !== 0 ? ['momentum_buffer'] : []),
    create: (params, o) => new SGD(params, o),
  });
  constructor(params: Parameter[], options: SGDOptions = {}) {
    super(SGD.kind, params, options);
  }
  get momentum(): number {
    return this.options.momentum;
  }
  get dampening(): number {
    return this.options.dampening;
  }
  get nesterov(): boolean {
    return this.options.nesterov;
  }
  get weightDecay(): number {
    return this.options.weightDecay;
  }
}

export interface AdamOptions extends BaseOptimizerOptions {
  /** Decay rates of the moment estimates, each in [0, 1) (default [0.9, 0.999]). */
  betas?: readonly [number, number];
  /** Added to the denominator for stability, > 0 (default 1e-8). */
  eps?: number;
  /** Adam: L2 penalty added to the gradient; AdamW: decoupled decay (defaults 0 and 0.01). */
  weightDecay?: number;
  /** Normalise by the largest second moment seen so far (AMSGrad; default false). */
  amsgrad?: boolean;
}
type ResolvedAdam = Resolved & { betas: readonly [number, number]; eps: number; weightDecay: number; amsgrad: boolean };

function adamKind(
  type: 'Adam' | 'AdamW',
  defaultDecay: number,
  create: (params: Parameter[], o: ResolvedAdam) => Optimizer<ResolvedAdam>,
) {
  return optimizerKind<ResolvedAdam>({
    type,
    kernel: 'Adam',
    options: {
      lr: lrOption(1e-3),
      betas: pair([0.9, 0.999], { min: 0, below: 1 }),
      eps: number(1e-8, { above: 0 }),
      weightDecay: number(defaultDecay, { min: 0 }),
      amsgrad: boolean(false),
      clipGradNorm: clipOption(),
    },
    params: (o) => ({
      beta1: o.betas[0],
      beta2: o.betas[1],
      eps: o.eps,
      weightDecay: o.weightDecay,
      amsgrad: o.amsgrad,
      decoupled: type === 'AdamW',
    }),
    state: (o) => (o.amsgrad ? ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'] : ['exp_avg', 'exp_avg_sq']),
    create,
  });
}

/** Adam (torch.optim.Adam): moment estimates with bias correction, optionally AMSGrad. */
export class Adam extends Optimizer<ResolvedAdam> {
  static readonly kind = adamKind('Adam', 0, (params, o) => new Adam(params, o));
  constructor(params: Parameter[], options: AdamOptions = {}) {
    super(Adam.kind, params, options);
  }
  get betas(): readonly [number, number] {
    return this.options.betas;
  }
  get eps(): number {
    return this.options.eps;
  }
  get weightDecay(): number {
    return this.options.weightDecay;
  }
}

/** AdamW (torch.optim.AdamW): Adam with decoupled weight decay p ← p·(1 − lr·weightDecay), default 0.01. */
export class AdamW extends Optimizer<ResolvedAdam> {
  static readonly kind = adamKind('AdamW', 0.01, (params, o) => new AdamW(params, o));
  constructor(params: Parameter[], options: AdamOptions = {}) {
    super(AdamW.kind, params, options);
  }
  get betas(): readonly [number, number] {
    return this.options.betas;
  }
  get eps(): number {
    return this.options.eps;
  }
  get weightDecay(): number {
    return this.options.weightDecay;
  }
}

export interface RMSpropOptions extends BaseOptimizerOptions {
  /** Smoothing constant of the squared-gradient average, in [0, 1] (default 0.99). */
  alpha?: number;
  /** Added to the denominator, ≥ 0 (default 1e-8). */
  eps?: number;
  /** L2 penalty added to the gradient, ≥ 0 (default 0). */
  weightDecay?: number;
  /** Momentum factor, ≥ 0 (default 0). */
  momentum?: number;
  /** Divide by the variance (squared average less the squared mean gradient) instead (default false). */
  centered?: boolean;
}
type ResolvedRMSprop = Resolved & { alpha: number; eps: number; weightDecay: number; momentum: number; centered: boolean };

/** RMSprop (torch.optim.RMSprop); lr defaults to 1e-2, as torch. */
export class RMSprop extends Optimizer<ResolvedRMSprop> {
  static readonly kind = optimizerKind<ResolvedRMSprop>({
    type: 'RMSprop',
    kernel: 'RMSprop',
    options: {
      lr: lrOption(1e-2),
      alpha: number(0.99, { min: 0, max: 1 }),
      eps: number(1e-8, { min: 0 }),
      weightDecay: number(0, { min: 0 }),
      momentum: number(0, { min: 0 }),
      centered: boolean(false),
      clipGradNorm: clipOption(),
    },
    state: (o) => ['square_avg', ...(o.momentum > 0 ? ['momentum_buffer'] : []), ...(o.centered ? ['grad_avg'] : [])],
    create: (params, o) => new RMSprop(params, o),
  });
  constructor(params: Parameter[], options: RMSpropOptions = {}) {
    super(RMSprop.kind, params, options);
  }
}

export interface AdagradOptions extends BaseOptimizerOptions {
  /** Learning-rate decay per step, ≥ 0: lr / (1 + (t − 1)·lrDecay) (default 0). */
  lrDecay?: number;
  /** L2 penalty added to the gradient, ≥ 0 (default 0). */
  weightDecay?: number;
  /** Starting value of the squared-gradient sum, ≥ 0 (default 0). */
  initialAccumulatorValue?: number;
  /** Added to the denominator, ≥ 0 (default 1e-10, as torch). */
  eps?: number;
}
type ResolvedAdagrad = Resolved & { lrDecay: number; weightDecay: number; initialAccumulatorValue: number; eps: number };

/** Adagrad (torch.optim.Adagrad); lr defaults to 1e-2, as torch. */
export class Adagrad extends Optimizer<ResolvedAdagrad> {
  static readonly kind = optimizerKind<ResolvedAdagrad>({
    type: 'Adagrad',
    kernel: 'Adagrad',
    options: {
      lr: lrOption(1e-2),
      lrDecay: number(0, { min: 0 }),
      weightDecay: number(0, { min: 0 }),
      initialAccumulatorValue: number(0, { min: 0 }),
      eps: number(1e-10, { min: 0 }),
      clipGradNorm: clipOption(),
    },
    state: () => ['sum'],
    initialState: (o) => ({ sum: o.initialAccumulatorValue }),
    create: (params, o) => new Adagrad(params, o),
  });
  constructor(params: Parameter[], options: AdagradOptions = {}) {
    super(Adagrad.kind, params, options);
  }
}
