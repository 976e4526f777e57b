// Learning-rate schedulers with torch.optim.lr_scheduler's names, formulas (their chainable float64 forms,
// operation for operation) and defaults, options as one camelCase object. Each is declared once in its
// class's `kind`: options with defaults and rules, when fit() steps it ('epoch' or 'batch'), and whether its
// step() takes a metric. A scheduler writes the rate it computes to `optimizer.lr` (OneCycleLR also cycles the
// momentum, as torch does by default); the rate in force is always `optimizer.lr`.
import { BackpropError, describeValue } from './errors.js';
import { writeOptimizerParams } from './kernel.js';
import { Optimizer } from './optimizers.js';
import { type OptionSpecs, boolean, integerList, number, oneOf, optionalNumber, readOptions } from './options.js';

/** How one kind of scheduler is built, stepped and checkpointed. */
export interface SchedulerKind<O extends object> {
  /** torch.optim.lr_scheduler's class name: the `type` of specs and checkpoints. */
  readonly type: string;
  readonly options: OptionSpecs<O>;
  /** Options without a default that must be given. */
  readonly required?: readonly string[];
  /** When fit() steps it: after every epoch, or after every batch (OneCycleLR). */
  readonly interval: 'epoch' | 'batch';
  /** Its step() takes the monitored metric (ReduceLROnPlateau). */
  readonly takesMetric?: boolean;
  validate?(options: O): void;
  /** How many step() calls the schedule allows (OneCycleLR's totalSteps), when it has an end. */
  length?(options: O): number;
  create(optimizer: Optimizer, options: O): LRScheduler<O>;
}

/** What a checkpoint keeps of a scheduler's progress (all plain JSON numbers). */
export type SchedulerState = Record<string, number | null>;

function checkOptimizer(optimizer: unknown, type: string): Optimizer {
  if (!(optimizer instanceof Optimizer)) {
    throw new BackpropError(
      'BAD_TYPE',
      `expected ${type}'s optimizer to be an Optimizer (e.g. new SGD(net.parameters())), got ${describeValue(optimizer)}`,
    );
  }
  if (optimizer.disposed)
    throw new BackpropError('DISPOSED', `${type} cannot use this ${optimizer.kind.type}: it has been disposed`);
  return optimizer as Optimizer;
}

export abstract class LRScheduler<O extends object = object> {
  /** @internal */ readonly kind: SchedulerKind<O>;
  readonly optimizer: Optimizer;
  /** The options in force, defaults filled in. */
  readonly options: Readonly<O>;
  /** torch's last_epoch: step() calls so far (0 right after construction). */
  protected lastEpoch = -1;
  /** torch's base_lrs[0] (the group's initial_lr): the optimizer's rate when the scheduler was built. */
  protected baseLr: number;

  protected constructor(kind: SchedulerKind<O>, optimizer: Optimizer, given: unknown) {
    this.kind = kind;
    this.optimizer = checkOptimizer(optimizer, kind.type);
    const options = readOptions(kind.type, kind.options, given ?? {});
    for (const key of kind.required ?? []) {
      if ((options as Record<string, unknown>)[key] === undefined) {
        const example = (kind.options as Record<string, { example?: unknown }>)[key].example;
        throw new BackpropError(
          'BAD_OPTION',
          `${kind.type} needs ${key} (e.g. new ${kind.type}(optimizer, { ${key}: ${JSON.stringify(example)} }))`,
        );
      }
    }
    kind.validate?.(options);
    this.options = Object.freeze(options);
    this.baseLr = optimizer.lr;
  }

  /** torch's _initial_step: the subclass's constructor calls it once its own fields are set. */
  protected start(): void {
    this.lastEpoch = 0;
    this.setLr(this.computeLr());
  }

  /** The rate for step `lastEpoch`, from the rate in force (torch's chainable get_lr). */
  protected abstract computeLr(): number;

  /** The rate in force: the optimizer's. */
  get lr(): number {
    return this.optimizer.lr;
  }

  /** step() calls since construction (torch's last_epoch). */
  get stepCount(): number {
    return this.lastEpoch;
  }

  /** When fit() steps it: 'epoch', or 'batch' (OneCycleLR). */
  get interval(): 'epoch' | 'batch' {
    return this.kind.interval;
  }

  /** Advances the schedule by one step and sets the optimizer's rate. */
  step(metric?: number): void {
    this.assertUsable('step()');
    if (metric !== undefined) {
      throw new BackpropError('BAD_OPTION', `${this.kind.type}.step() takes no metric (only ReduceLROnPlateau does)`);
    }
    this.lastEpoch++;
    try {
      this.setLr(this.computeLr());
    } catch (error) {
      this.lastEpoch--;
      throw error;
    }
  }

  /** @internal Throws DISPOSED when the optimizer (or a parameter's layer) is gone. */
  assertUsable(what: string): void {
    if (this.optimizer.disposed) {
      throw new BackpropError(
        'DISPOSED',
        `${this.kind.type}.${what} cannot run: its ${this.optimizer.kind.type} has been disposed`,
      );
    }
    this.optimizer.readyBlock();
  }

  protected setLr(value: number): void {
    // a chained rate that rounding pushes a hair below 0 (an end factor of 0) is the 0 it stands for
    this.optimizer.lr = Math.max(0, value);
  }

  /** @internal The progress a checkpoint keeps. */
  state(): SchedulerState {
    return { lastEpoch: this.lastEpoch, baseLr: this.baseLr };
  }

  /** @internal Restores state() output (after construction, which already stepped once). */
  restoreState(state: SchedulerState): void {
    this.lastEpoch = numberOf(state, 'lastEpoch');
    this.baseLr = numberOf(state, 'baseLr');
  }

  toString(): string {
    return `${this.kind.type}(${JSON.stringify(this.options)})`;
  }
}

function numberOf(state: SchedulerState, key: string): number {
  const value = state[key];
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new BackpropError('CORRUPT_FILE', `the saved scheduler state has no valid ${key}: ${describeValue(value)}`);
  }
  return value;
}

/** The kind of a scheduler class (a typed identity: declarations read as data). */
function schedulerKind<O extends object>(kind: SchedulerKind<O>): SchedulerKind<O> {
  return kind;
}

// ---- StepLR ----

export interface StepLROptions {
  /** Multiply the rate by gamma every stepSize steps (required). */
  stepSize: number;
  /** Default 0.1. */
  gamma?: number;
}
type ResolvedStepLR = { stepSize: number; gamma: number };

/** lr ← lr·gamma at every stepSize-th step, as torch.optim.lr_scheduler.StepLR. */
export class StepLR extends LRScheduler<ResolvedStepLR> {
  static readonly kind = schedulerKind<ResolvedStepLR>({
    type: 'StepLR',
    options: { stepSize: optionalNumber({ min: 1, integer: true }, 30) as never, gamma: number(0.1, { min: 0 }) },
    required: ['stepSize'],
    interval: 'epoch',
    create: (optimizer, o) => new StepLR(optimizer, o),
  });
  constructor(optimizer: Optimizer, options: StepLROptions) {
    super(StepLR.kind, optimizer, options);
    this.start();
  }
  protected computeLr(): number {
    const lr = this.optimizer.lr;
    return this.lastEpoch === 0 || this.lastEpoch % this.options.stepSize !== 0 ? lr : lr * this.options.gamma;
  }
}

// ---- MultiStepLR ----

export interface MultiStepLROptions {
  /** Steps at which the rate is multiplied by gamma (any order; a step listed twice multiplies twice). */
  milestones: readonly number[];
  /** Default 0.1. */
  gamma?: number;
}
type ResolvedMultiStepLR = { milestones: readonly number[]; gamma: number };

/** lr ← lr·gamma^(times the step is listed) at each milestone, as torch.optim.lr_scheduler.MultiStepLR. */
export class MultiStepLR extends LRScheduler<ResolvedMultiStepLR> {
  static readonly kind = schedulerKind<ResolvedMultiStepLR>({
    type: 'MultiStepLR',
    options: { milestones: integerList({ min: 0 }, [30, 80]) as never, gamma: number(0.1, { min: 0 }) },
    required: ['milestones'],
    interval: 'epoch',
    create: (optimizer, o) => new MultiStepLR(optimizer, o),
  });
  constructor(optimizer: Optimizer, options: MultiStepLROptions) {
    super(MultiStepLR.kind, optimizer, options);
    this.start();
  }
  protected computeLr(): number {
    const times = this.options.milestones.filter((m) => m === this.lastEpoch).length;
    return times === 0 ? this.optimizer.lr : this.optimizer.lr * this.options.gamma ** times;
  }
}

// ---- ExponentialLR ----

export interface ExponentialLROptions {
  /** The factor per step (required). */
  gamma: number;
}
type ResolvedExponentialLR = { gamma: number };

/** lr ← lr·gamma at every step, as torch.optim.lr_scheduler.ExponentialLR. */
export class ExponentialLR extends LRScheduler<ResolvedExponentialLR> {
  static readonly kind = schedulerKind<ResolvedExponentialLR>({
    type: 'ExponentialLR',
    options: { gamma: optionalNumber({ min: 0 }, 0.95) as never },
    required: ['gamma'],
    interval: 'epoch',
    create: (optimizer, o) => new ExponentialLR(optimizer, o),
  });
  constructor(optimizer: Optimizer, options: ExponentialLROptions) {
    super(ExponentialLR.kind, optimizer, options);
    this.start();
  }
  protected computeLr(): number {
    return this.lastEpoch === 0 ? this.optimizer.lr : this.optimizer.lr * this.options.gamma;
  }
}

// ---- CosineAnnealingLR ----

export interface CosineAnnealingLROptions {
  /** Steps of half a cosine period, from the base rate down to etaMin (required). */
  TMax: number;
  /** The lowest rate, ≥ 0 (default 0: the rate reaches exactly 0 at step TMax). */
  etaMin?: number;
}
type ResolvedCosine = { TMax: number; etaMin: number };

/** lr_t = etaMin + (base − etaMin)·(1 + cos(π·t/TMax))/2, by torch's recursive form (the rate climbs back
 *  after TMax), as torch.optim.lr_scheduler.CosineAnnealingLR. */
export class CosineAnnealingLR extends LRScheduler<ResolvedCosine> {
  static readonly kind = schedulerKind<ResolvedCosine>({
    type: 'CosineAnnealingLR',
    options: { TMax: optionalNumber({ min: 1, integer: true }, 50) as never, etaMin: number(0, { min: 0 }) },
    required: ['TMax'],
    interval: 'epoch',
    create: (optimizer, o) => new CosineAnnealingLR(optimizer, o),
  });
  constructor(optimizer: Optimizer, options: CosineAnnealingLROptions) {
    super(CosineAnnealingLR.kind, optimizer, options);
    this.start();
  }
  protected computeLr(): number {
    const { TMax: T, etaMin } = this.options;
    const t = this.lastEpoch,
      lr = this.optimizer.lr;
    if (t === 0) return lr;
    if ((t - 1 - T) % (2 * T) === 0) return lr + ((this.baseLr - etaMin) * (1 - Math.cos(Math.PI / T))) / 2;
    return ((1 + Math.cos((Math.PI * t) / T)) / (1 + Math.cos((Math.PI * (t - 1)) / T))) * (lr - etaMin) + etaMin;
  }
}

// ---- LinearLR ----

export interface LinearLROptions {
  /** Factor of the base rate at step 0, in (0, 1] (default 1/3). */
  startFactor?: number;
  /** Factor of the base rate from step totalIters on, in [0, 1] (default 1). */
  endFactor?: number;
  /** Steps of the ramp (default 5). */
  totalIters?: number;
}
type ResolvedLinearLR = { startFactor: number; endFactor: number; totalIters: number };

/** The rate moves linearly from startFactor·base to endFactor·base over totalIters steps, as
 *  torch.optim.lr_scheduler.LinearLR (which sets startFactor·base at construction). */
export class LinearLR extends LRScheduler<ResolvedLinearLR> {
  static readonly kind = schedulerKind<ResolvedLinearLR>({
    type: 'LinearLR',
    options: {
      startFactor: number(1 / 3, { above: 0, max: 1 }),
      endFactor: number(1, { min: 0, max: 1 }),
      totalIters: number(5, { min: 1, integer: true }),
    },
    interval: 'epoch',
    create: (optimizer, o) => new LinearLR(optimizer, o),
  });
  constructor(optimizer: Optimizer, options: LinearLROptions = {}) {
    super(LinearLR.kind, optimizer, options);
    this.start();
  }
  protected computeLr(): number {
    const { startFactor: s, endFactor: e, totalIters: n } = this.options;
    const t = this.lastEpoch,
      lr = this.optimizer.lr;
    if (t === 0) return lr * s;
    if (t > n) return lr;
    return lr * (1 + (e - s) / (n * s + (t - 1) * (e - s)));
  }
}

// ---- OneCycleLR ----

export interface OneCycleLROptions {
  /** The peak rate (required). */
  maxLr: number;
  /** Steps of the whole cycle (or give epochs and stepsPerEpoch). */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** Fraction of the cycle spent rising to maxLr, in [0, 1] (default 0.3). */
  pctStart?: number;
  /** 'cos' (default) or 'linear'. */
  annealStrategy?: 'cos' | 'linear';
  /** Cycle the momentum (SGD's and RMSprop's momentum, Adam's beta1) inversely to the rate (default true, as
   *  torch). SGD and RMSprop need a momentum > 0 to have a momentum buffer. */
  cycleMomentum?: boolean;
  /** Default 0.85. */
  baseMomentum?: number;
  /** Default 0.95. */
  maxMomentum?: number;
  /** initial rate = maxLr / divFactor (default 25). */
  divFactor?: number;
  /** final rate = initial rate / finalDivFactor (default 1e4). */
  finalDivFactor?: number;
  /** A third phase: up, back down to the initial rate, then annihilate (default false). */
  threePhase?: boolean;
}
type ResolvedOneCycle = {
  maxLr: number;
  totalSteps: number | undefined;
  epochs: number | undefined;
  stepsPerEpoch: number | undefined;
  pctStart: number;
  annealStrategy: 'cos' | 'linear';
  cycleMomentum: boolean;
  baseMomentum: number;
  maxMomentum: number;
  divFactor: number;
  finalDivFactor: number;
  threePhase: boolean;
};

interface Phase {
  end: number;
  startLr: number;
  endLr: number;
  startMomentum: number;
  endMomentum: number;
}

const cycleLength = (o: ResolvedOneCycle) => o.totalSteps ?? o.epochs! * o.stepsPerEpoch!;

/** The 1cycle policy, as torch.optim.lr_scheduler.OneCycleLR: from maxLr/divFactor up to maxLr over pctStart of
 *  the steps, then down to maxLr/divFactor/finalDivFactor; stepped after every batch. With cycleMomentum (the
 *  default) the momentum moves the other way, between maxMomentum and baseMomentum. */
export class OneCycleLR extends LRScheduler<ResolvedOneCycle> {
  static readonly kind = schedulerKind<ResolvedOneCycle>({
    type: 'OneCycleLR',
    options: {
      maxLr: optionalNumber({ above: 0 }, 0.1) as never,
      totalSteps: optionalNumber({ min: 1, integer: true }, 100),
      epochs: optionalNumber({ min: 1, integer: true }, 10),
      stepsPerEpoch: optionalNumber({ min: 1, integer: true }, 10),
      pctStart: number(0.3, { min: 0, max: 1 }),
      annealStrategy: oneOf(['cos', 'linear'] as const, 'cos'),
      cycleMomentum: boolean(true),
      baseMomentum: number(0.85, { min: 0, below: 1 }),
      maxMomentum: number(0.95, { min: 0, below: 1 }),
      divFactor: number(25, { above: 0 }),
      finalDivFactor: number(1e4, { above: 0 }),
      threePhase: boolean(false),
    },
    required: ['maxLr'],
    interval: 'batch',
    validate(o) {
      if (o.totalSteps === undefined && (o.epochs === undefined || o.stepsPerEpoch === undefined)) {
        throw new BackpropError('BAD_OPTION', 'OneCycleLR needs totalSteps, or epochs and stepsPerEpoch');
      }
    },
    length: cycleLength,
    create: (optimizer, o) => new OneCycleLR(optimizer, o),
  });
  private readonly phases: Phase[];
  private readonly momentum: MomentumAccess | null;

  constructor(optimizer: Optimizer, options: OneCycleLROptions) {
    super(OneCycleLR.kind, optimizer, options);
    const o = this.options;
    const total = cycleLength(o);
    const initial = o.maxLr / o.divFactor,
      min = initial / o.finalDivFactor;
    const [top, bottom] = [o.maxMomentum, o.baseMomentum];
    const rise = o.pctStart * total - 1;
    this.phases = o.threePhase
      ? [
          { end: rise, startLr: initial, endLr: o.maxLr, startMomentum: top, endMomentum: bottom },
          { end: 2 * o.pctStart * total - 2, startLr: o.maxLr, endLr: initial, startMomentum: bottom, endMomentum: top },
          { end: total - 1, startLr: initial, endLr: min, startMomentum: top, endMomentum: top },
        ]
      : [
          { end: rise, startLr: initial, endLr: o.maxLr, startMomentum: top, endMomentum: bottom },
          { end: total - 1, startLr: o.maxLr, endLr: min, startMomentum: bottom, endMomentum: top },
        ];
    this.momentum = o.cycleMomentum ? momentumAccess(optimizer) : null;
    this.baseLr = initial;
    this.momentum?.set(top);
    this.start();
  }

  /** The schedule's length: step() may be called this many times. */
  get totalSteps(): number {
    return cycleLength(this.options);
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.options.annealStrategy === 'linear') return (end - start) * pct + start;
    return end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
  }

  protected computeLr(): number {
    const t = this.lastEpoch;
    if (t > this.totalSteps) {
      throw new BackpropError(
        'BAD_STATE',
        `OneCycleLR was stepped ${t} times, but its totalSteps is ${this.totalSteps}: build it with more steps ` +
          '(totalSteps, or epochs and stepsPerEpoch)',
      );
    }
    let start = 0;
    for (const [i, phase] of this.phases.entries()) {
      if (t <= phase.end || i === this.phases.length - 1) {
        const pct = (t - start) / (phase.end - start);
        this.momentum?.set(this.anneal(phase.startMomentum, phase.endMomentum, pct));
        return this.anneal(phase.startLr, phase.endLr, pct);
      }
      start = phase.end;
    }
    throw new Error('internal: OneCycleLR has no phases');
  }
}

/** Reads and sets an optimizer's momentum as torch's schedulers see it: `momentum` (SGD, RMSprop) or betas[0]
 *  (Adam, AdamW), written to its kernel's parameter block. */
interface MomentumAccess {
  set(value: number): void;
}

/** @internal Writes an optimizer's kernel parameter block again from its options (after a scheduler or a
 *  checkpoint changed them). */
export function rewriteOptimizerParams(optimizer: Optimizer): void {
  const options = optimizer.options as unknown as Record<string, unknown>;
  writeOptimizerParams(optimizer.readyBlock(), optimizer.kind.kernel, optimizer.kind.params?.(optimizer.options) ?? options);
}

function momentumAccess(optimizer: Optimizer): MomentumAccess {
  const options = optimizer.options as unknown as Record<string, unknown>;
  const rewrite = () => rewriteOptimizerParams(optimizer);
  if (Array.isArray(options.betas)) {
    return {
      set(value) {
        options.betas = Object.freeze([value, (options.betas as number[])[1]]);
        rewrite();
      },
    };
  }
  if (typeof options.momentum === 'number') {
    if (options.momentum === 0) {
      throw new BackpropError(
        'BAD_OPTION',
        `OneCycleLR cycles the momentum (cycleMomentum: true, as torch), but this ${optimizer.kind.type} was built with ` +
          'momentum 0 and so keeps no momentum buffer: give it a momentum (e.g. 0.9), or pass cycleMomentum: false',
      );
    }
    return {
      set(value) {
        options.momentum = value;
        rewrite();
      },
    };
  }
  throw new BackpropError(
    'BAD_OPTION',
    `OneCycleLR cycleMomentum needs an optimizer with momentum (SGD, RMSprop) or betas (Adam, AdamW); ` +
      `${optimizer.kind.type} has neither: pass cycleMomentum: false`,
  );
}

// ---- ReduceLROnPlateau ----

export interface ReduceLROnPlateauOptions {
  /** 'min' (default): lower is better; 'max': higher is better. */
  mode?: 'min' | 'max';
  /** new rate = rate·factor, in [0, 1) (default 0.1). */
  factor?: number;
  /** Steps without improvement before the rate drops (default 10). */
  patience?: number;
  /** How much better counts as better (default 1e-4). */
  threshold?: number;
  /** 'rel' (default): relative to the best; 'abs': absolute. */
  thresholdMode?: 'rel' | 'abs';
  /** Steps to wait after a drop before counting again (default 0). */
  cooldown?: number;
  /** The rate never drops below this (default 0). */
  minLr?: number;
  /** Drops smaller than this are skipped (default 1e-8). */
  eps?: number;
}
type ResolvedPlateau = Required<ReduceLROnPlateauOptions>;

/** Multiplies the rate by factor when the metric given to step(metric) has not improved for `patience` steps,
 *  as torch.optim.lr_scheduler.ReduceLROnPlateau. fit() steps it after every epoch with the monitored loss
 *  (the validation loss when there is validation data, else the training loss). */
export class ReduceLROnPlateau extends LRScheduler<ResolvedPlateau> {
  static readonly kind = schedulerKind<ResolvedPlateau>({
    type: 'ReduceLROnPlateau',
    options: {
      mode: oneOf(['min', 'max'] as const, 'min'),
      factor: number(0.1, { min: 0, below: 1 }),
      patience: number(10, { min: 0, integer: true }),
      threshold: number(1e-4, { min: 0 }),
      thresholdMode: oneOf(['rel', 'abs'] as const, 'rel'),
      cooldown: number(0, { min: 0, integer: true }),
      minLr: number(0, { min: 0 }),
      eps: number(1e-8, { min: 0 }),
    },
    interval: 'epoch',
    takesMetric: true,
    create: (optimizer, o) => new ReduceLROnPlateau(optimizer, o),
  });
  private best: number;
  private badSteps = 0;
  private cooldownLeft = 0;

  constructor(optimizer: Optimizer, options: ReduceLROnPlateauOptions = {}) {
    super(ReduceLROnPlateau.kind, optimizer, options);
    this.best = this.options.mode === 'min' ? Infinity : -Infinity;
    this.lastEpoch = 0;
  }

  /** Records this step's metric (e.g. the validation loss) and lowers the rate after a plateau. */
  override step(metric?: number): void {
    this.assertUsable('step()');
    if (typeof metric !== 'number') {
      throw new BackpropError(
        'BAD_OPTION',
        `ReduceLROnPlateau.step(metric) needs the metric, a number, got ${describeValue(metric)}`,
      );
    }
    const { factor, patience, cooldown, minLr, eps } = this.options;
    if (this.isBetter(metric)) {
      this.best = metric;
      this.badSteps = 0;
    } else {
      this.badSteps++;
    }
    if (this.cooldownLeft > 0) {
      this.cooldownLeft--;
      this.badSteps = 0;
    }
    if (this.badSteps > patience) {
      const old = this.optimizer.lr;
      const next = Math.max(old * factor, minLr);
      if (old - next > eps) this.setLr(next);
      this.cooldownLeft = cooldown;
      this.badSteps = 0;
    }
    this.lastEpoch++;
  }

  private isBetter(value: number): boolean {
    const { mode, threshold, thresholdMode } = this.options;
    if (mode === 'min') return thresholdMode === 'rel' ? value < this.best * (1 - threshold) : value < this.best - threshold;
    return thresholdMode === 'rel' ? value > this.best * (threshold + 1) : value > this.best + threshold;
  }

  protected computeLr(): number {
    return this.optimizer.lr;
  }

  /** @internal */
  override state(): SchedulerState {
    // ±Infinity (no metric yet) is not JSON: null stands for it
    return {
      ...super.state(),
      best: Number.isFinite(this.best) ? this.best : null,
      badSteps: this.badSteps,
      cooldownLeft: this.cooldownLeft,
    };
  }

  /** @internal */
  override restoreState(state: SchedulerState): void {
    super.restoreState(state);
    this.best = state.best ?? (this.options.mode === 'min' ? Infinity : -Infinity);
    this.badSteps = numberOf(state, 'badSteps');
    this.cooldownLeft = numberOf(state, 'cooldownLeft');
  }
}
