// Optimizers: hyper-parameters, the parameter table and per-parameter state live in one WASM block that
// assembly/optimizers.ts reads (OPT_* offsets there mirror the ones here).
import { WasmBlock, alignFloats, getCore } from './core.js';
import { BackpropError, describeValue } from './errors.js';
import { checkOptionKeys, requireFiniteNumber } from './input.js';
import { Parameter } from './layers.js';

const HEADER_BYTES = 96;
const ROW_BYTES = 20;
/** Header fields: i32 slots by their i32 index, f64 hyper-parameters by their f64 index. */
const enum HeaderI32 { Kind = 0, Count = 1, Step = 2, Nesterov = 3 }
const enum HeaderF64 { Lr = 2, Momentum = 3, Dampening = 4, WeightDecay = 5, Beta1 = 6, Beta2 = 7, Eps = 8, ClipGradNorm = 9 }
const enum OptimizerKernel { Sgd = 1, Adam = 2, AdamW = 3 }

function checkParams(params: unknown): Parameter[] {
  if (!Array.isArray(params) || params.length === 0) {
    throw new BackpropError('BAD_TYPE', `expected a non-empty array of parameters (net.parameters()), got ${describeValue(params)}`);
  }
  const seen = new Set<number>();
  params.forEach((p, i) => {
    if (!(p instanceof Parameter)) {
      throw new BackpropError('BAD_TYPE', `expected params[${i}] to be a Parameter from net.parameters(), got ${describeValue(p)}`);
    }
    p.owner.assertAlive();
    if (seen.has(p.dataPtr)) throw new BackpropError('BAD_OPTION', `params[${i}] (${p.name}) appears more than once`);
    seen.add(p.dataPtr);
  });
  return [...params];
}

export abstract class Optimizer {
  readonly params: readonly Parameter[];
  private block: WasmBlock | null;
  /** @internal Names of the per-parameter state buffers, as in torch.optim's state_dict. */
  abstract readonly stateNames: readonly string[];
  /** @internal The hyper-parameters, to rebuild the optimizer from a checkpoint. */
  abstract config(): Record<string, unknown>;

  readonly clipGradNorm: number | undefined;
  private learningRate = 0;

  protected constructor(params: Parameter[], kernel: number, stateBuffers: number, lr: number, clipGradNorm: number | undefined) {
    this.params = Object.freeze(checkParams(params));
    const tableBytes = alignFloats(this.params.length * (ROW_BYTES / 4)) * 4;
    const stateFloats = this.params.map((p) => alignFloats(p.size));
    const block = new WasmBlock(HEADER_BYTES + tableBytes + stateBuffers * stateFloats.reduce((a, b) => a + b, 0) * 4, this);
    this.block = block;
    const memory = getCore().memory.buffer;
    const header = new Int32Array(memory, block.ptr, HEADER_BYTES / 4);
    header[HeaderI32.Kind] = kernel;
    header[HeaderI32.Count] = this.params.length;
    const table = new Int32Array(memory, block.ptr + HEADER_BYTES, this.params.length * (ROW_BYTES / 4));
    let state = block.ptr + HEADER_BYTES + tableBytes;
    this.params.forEach((p, k) => {
      const row = k * (ROW_BYTES / 4);
      table[row] = p.dataPtr;
      table[row + 1] = p.gradPtr;
      table[row + 2] = p.size;
      for (let s = 0; s < stateBuffers; s++) {
        table[row + 3 + s] = state;
        state += stateFloats[k] * 4;
      }
    });
    this.lr = lr;
    this.clipGradNorm = clipGradNorm;
    this.writeHeaderF64(HeaderF64.ClipGradNorm, clipGradNorm ?? 0);
  }

  /** The learning rate; set it to schedule (takes effect at the next step). */
  get lr(): number {
    return this.learningRate;
  }
  set lr(value: number) {
    this.writeHeaderF64(HeaderF64.Lr, checkLr(value));
    this.learningRate = value;
  }

  /** The clipGradNorm option as config() reports it. */
  protected clipConfig(): { clipGradNorm?: number } {
    return this.clipGradNorm === undefined ? {} : { clipGradNorm: this.clipGradNorm };
  }

  private headerI32(): Int32Array {
    return new Int32Array(getCore().memory.buffer, this.alivePtr(), HEADER_BYTES / 4);
  }

  /** @internal */
  protected writeHeaderF64(field: HeaderF64, value: number): void {
    new Float64Array(getCore().memory.buffer, this.alivePtr(), HEADER_BYTES / 8)[field] = value;
  }

  /** @internal */
  protected writeHeaderI32(field: HeaderI32, value: number): void {
    this.headerI32()[field] = value;
  }

  private alivePtr(): number {
    if (!this.block) throw new BackpropError('DISPOSED', `this ${this.constructor.name} has been disposed`);
    return this.block.ptr;
  }

  /** @internal The block pointer, after checking the optimizer and all its parameters are alive. */
  readyBlock(): number {
    const ptr = this.alivePtr();
    for (const p of this.params) p.owner.assertAlive();
    return ptr;
  }

  /** @internal A copy of the optimizer's whole WASM block (header, table, state), for tests. */
  snapshot(): Uint8Array {
    return new Uint8Array(getCore().memory.buffer, this.alivePtr(), this.block!.bytes).slice();
  }

  /** @internal Copies of the per-parameter state buffers (momentum, ...), in parameter order. */
  stateBuffers(): Float32Array[] {
    const memory = getCore().memory.buffer;
    const table = new Int32Array(memory, this.alivePtr() + HEADER_BYTES, this.params.length * (ROW_BYTES / 4));
    return this.params.flatMap((p, k) => [3, 4]
      .map((field) => table[k * (ROW_BYTES / 4) + field])
      .filter((ptr) => ptr !== 0)
      .map((ptr) => new Float32Array(memory, ptr, p.size).slice()));
  }

  /** @internal Sets the step count and state buffers (as stateBuffers() returns them), for checkpoints. */
  restoreState(step: number, buffers: Float32Array[]): void {
    const memory = getCore().memory.buffer;
    const table = new Int32Array(memory, this.alivePtr() + HEADER_BYTES, this.params.length * (ROW_BYTES / 4));
    let next = 0;
    this.params.forEach((p, k) => {
      for (const field of [3, 4]) {
        const ptr = table[k * (ROW_BYTES / 4) + field];
        if (ptr !== 0) new Float32Array(memory, ptr, p.size).set(buffers[next++]);
      }
    });
    this.writeHeaderI32(HeaderI32.Step, step);
  }

  /** How many times step() has run. */
  get stepCount(): number {
    return this.headerI32()[HeaderI32.Step];
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

  /** Frees the optimizer's state (momentum buffers); the parameters belong to their layers. */
  dispose(): void {
    this.block?.free();
    this.block = null;
  }
}

export interface SGDOptions {
  /** Learning rate, > 0 (default 0.001, as PyTorch). */
  lr?: number;
  /** Momentum factor, ≥ 0 (default 0). */
  momentum?: number;
  /** Dampening for momentum, in [0, 1] (default 0). */
  dampening?: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0). */
  nesterov?: boolean;
  /** L2 penalty added to the gradient, ≥ 0 (default 0). */
  weightDecay?: number;
  /** Scale the gradients down when their global L2 norm exceeds this (torch.nn.utils.clip_grad_norm_). */
  clipGradNorm?: number;
}

/** Stochastic gradient descent with PyTorch's exact update (torch.optim.SGD). */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  /** @internal */ readonly stateNames: readonly string[];

  constructor(params: Parameter[], options: SGDOptions = {}) {
    checkOptionKeys(options, ['lr', 'momentum', 'dampening', 'nesterov', 'weightDecay', 'clipGradNorm'], 'SGD');
    const clipGradNorm = checkClip(options.clipGradNorm, 'SGD');
    const lr = checkLr(options.lr ?? 1e-3);
    const momentum = requireFiniteNumber(options.momentum ?? 0, 'SGD momentum', (v) => v >= 0, '≥ 0');
    const dampening = requireFiniteNumber(options.dampening ?? 0, 'SGD dampening', (v) => v >= 0 && v <= 1, 'in [0, 1]');
    const weightDecay = requireFiniteNumber(options.weightDecay ?? 0, 'SGD weightDecay', (v) => v >= 0, '≥ 0');
    const nesterov = options.nesterov ?? false;
    if (typeof nesterov !== 'boolean') {
      throw new BackpropError('BAD_OPTION', `expected SGD nesterov to be a boolean, got ${describeValue(nesterov)}`);
    }
    if (nesterov && (momentum <= 0 || dampening !== 0)) {
      throw new BackpropError(
        'BAD_OPTION',
        `Nesterov momentum needs momentum > 0 and dampening 0, got momentum ${momentum} and dampening ${dampening}`,
      );
    }
    super(params, OptimizerKernel.Sgd, momentum !== 0 ? 1 : 0, lr, clipGradNorm);
    this.stateNames = momentum !== 0 ? ['momentum_buffer'] : [];
    this.momentum = momentum;
    this.dampening = dampening;
    this.nesterov = nesterov;
    this.weightDecay = weightDecay;
    this.writeHeaderF64(HeaderF64.Momentum, momentum);
    this.writeHeaderF64(HeaderF64.Dampening, dampening);
    this.writeHeaderF64(HeaderF64.WeightDecay, weightDecay);
    this.writeHeaderI32(HeaderI32.Nesterov, nesterov ? 1 : 0);
  }

  /** @internal */
  config(): SGDOptions & Record<string, unknown> {
    return {
      lr: this.lr, momentum: this.momentum, dampening: this.dampening, nesterov: this.nesterov, weightDecay: this.weightDecay,
      ...this.clipConfig(),
    };
  }
}

export interface AdamOptions {
  /** Learning rate, > 0 (default 0.001). */
  lr?: number;
  /** Decay rates of the moment estimates, each in [0, 1) (default [0.9, 0.999]). */
  betas?: [number, number];
  /** Added to the denominator for stability, > 0 (default 1e-8). */
  eps?: number;
  /** Adam: L2 penalty added to the gradient; AdamW: decoupled decay (defaults 0 and 0.01). */
  weightDecay?: number;
  /** Scale the gradients down when their global L2 norm exceeds this (torch.nn.utils.clip_grad_norm_). */
  clipGradNorm?: number;
}

/** Adam (torch.optim.Adam): moment estimates with bias correction; its state (m, v) lives in WASM. */
export class Adam extends Optimizer {
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  /** @internal */ readonly stateNames: readonly string[] = ['exp_avg', 'exp_avg_sq'];

  constructor(params: Parameter[], options: AdamOptions = {}, kernel: number = OptimizerKernel.Adam, defaultDecay = 0) {
    const name = kernel === OptimizerKernel.Adam ? 'Adam' : 'AdamW';
    checkOptionKeys(options, ['lr', 'betas', 'eps', 'weightDecay', 'clipGradNorm'], name);
    const clipGradNorm = checkClip(options.clipGradNorm, name);
    const lr = checkLr(options.lr ?? 1e-3);
    const betas = options.betas ?? [0.9, 0.999];
    if (!Array.isArray(betas) || betas.length !== 2) {
      throw new BackpropError('BAD_OPTION', `expected ${name} betas to be [beta1, beta2], got ${describeValue(betas)}`);
    }
    betas.forEach((b, i) => requireFiniteNumber(b, `${name} betas[${i}]`, (v) => v >= 0 && v < 1, 'in [0, 1)'));
    const eps = requireFiniteNumber(options.eps ?? 1e-8, `${name} eps`, (v) => v > 0, '> 0');
    const weightDecay = requireFiniteNumber(options.weightDecay ?? defaultDecay, `${name} weightDecay`, (v) => v >= 0, '≥ 0');
    super(params, kernel, 2, lr, clipGradNorm);
    this.betas = Object.freeze([betas[0], betas[1]]) as unknown as readonly [number, number];
    this.eps = eps;
    this.weightDecay = weightDecay;
    this.writeHeaderF64(HeaderF64.Beta1, betas[0]);
    this.writeHeaderF64(HeaderF64.Beta2, betas[1]);
    this.writeHeaderF64(HeaderF64.Eps, eps);
    this.writeHeaderF64(HeaderF64.WeightDecay, weightDecay);
  }

  /** @internal */
  config(): AdamOptions & Record<string, unknown> {
    return {
      lr: this.lr, betas: [this.betas[0], this.betas[1]], eps: this.eps, weightDecay: this.weightDecay,
      ...this.clipConfig(),
    };
  }
}

/** AdamW (torch.optim.AdamW): Adam with decoupled weight decay p ← p·(1 − lr·weightDecay), default 0.01. */
export class AdamW extends Adam {
  constructor(params: Parameter[], options: AdamOptions = {}) {
    super(params, options, OptimizerKernel.AdamW, 0.01);
  }
}

function checkClip(value: unknown, owner: string): number | undefined {
  if (value === undefined) return undefined;
  return requireFiniteNumber(value, `${owner} clipGradNorm`, (v) => v > 0, '> 0');
}

function checkLr(lr: unknown): number {
  return requireFiniteNumber(lr, 'lr', (v) => v > 0, '> 0');
}
