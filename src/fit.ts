// Training loops over whole data sets: the data is copied into WASM once per call, batches are gathered
// by index inside WASM, and epochs run inside the core — all of them in one call when nothing needs to
// happen between epochs, else an epoch (or a batch, with onBatchEnd or a per-batch scheduler) per call,
// yielding to the event loop about every 10 ms. The epoch loop itself (validation, metrics, schedulers,
// early stopping, callbacks, the train/eval mode) is shared with fit() over streams (stream.ts).
import { type Ptr, WasmBlock, checkedBytes, getCore, memoryBuffer, readF32, writeF32 } from './core.js';
import { undoPoint } from './undo.js';
import { BackpropError, describeValue } from './errors.js';
import { type MatrixInput, requireFiniteNumber, requirePositiveInteger, stageFinite, toFlatRows } from './input.js';
import { type LossKernel, lossHasAccuracy, lossTarget, readResult, statusName, structBytes, writeStruct } from './kernel.js';
import { Loss } from './losses.js';
import { type Metric, type MetricAccumulator, metricResults, prepareMetrics } from './metrics.js';
import { type Network, networkSession } from './network.js';
import { checkBatchStatistics } from './normalization.js';
import { type Optimizer } from './optimizers.js';
import { checkOptionKeys } from './options.js';
import { Generator, defaultGen } from './random.js';
import { LRScheduler } from './schedulers.js';
import { checkLoss, checkLossAndOptimizer, throwForStatus } from './status.js';

export type TargetInput = MatrixInput | Int32Array;

export interface EpochInfo {
  /** 1-based */
  epoch: number;
  /** Mean training loss over the epoch's samples (the sum over its batches with reduction 'sum'). */
  loss: number;
  valLoss?: number;
  /** Fraction of validation predictions that are right (classification losses only). */
  valAccuracy?: number;
  /** The metrics asked for, over the epoch's training-mode predictions (made as each batch trained). */
  metrics?: Record<string, number>;
  /** The metrics asked for, over the validation data in eval mode. */
  valMetrics?: Record<string, number>;
  /** The learning rate in force at the end of the epoch's training (before an epoch scheduler steps). */
  lr: number;
  seconds: number;
}

export interface BatchInfo {
  epoch: number;
  /** 1-based within the epoch */
  batch: number;
  loss: number;
  size: number;
}

/** What fit() takes besides the data, over arrays and over streams alike. */
export interface CommonFitOptions {
  loss: Loss;
  optimizer: Optimizer;
  epochs?: number;
  /** A learning-rate scheduler over `optimizer`, stepped by fit(): after every epoch (after validation;
   *  ReduceLROnPlateau with the monitored loss), or after every batch for OneCycleLR. */
  scheduler?: LRScheduler;
  /** Metrics to compute every epoch — on the training predictions, and on the validation data — and in the
   *  history: 'accuracy', { type: 'topKAccuracy', k }, 'mae', 'mse', 'r2', 'precision', 'recall', 'f1' (macro),
   *  or functions (pred, target) => number. See metrics.ts. */
  metrics?: Metric[];
  onEpochEnd?: (info: EpochInfo) => void | Promise<void>;
  /** Called after every batch; makes each batch a separate call into WASM. */
  onBatchEnd?: (info: BatchInfo) => void;
  /** Stop when the monitored loss (validation loss if there is validation data, else training loss) has
   *  not improved by more than minDelta for `patience` epochs. */
  earlyStopping?: { patience: number; minDelta?: number; restoreBestWeights?: boolean };
  /** Stops training after the current batch (with onBatchEnd) or epoch; fit() then resolves normally. */
  signal?: AbortSignal;
}

export interface FitOptions extends CommonFitOptions {
  batchSize?: number;
  /** Reshuffle the training samples every epoch (default true), from `seed`. */
  shuffle?: boolean;
  /** Seed of the shuffling order. Without one, each fit() draws its seed from the default generator, so
   *  every call shuffles differently and manualSeed() makes a whole run reproducible. */
  seed?: number;
  /** Held-out data ({ x, y }, or { X, Y }), or the fraction of the samples (the last ones, before
   *  shuffling, as Keras) to hold out. */
  validation?: { x: MatrixInput; y: TargetInput } | { X: MatrixInput; Y: TargetInput } | number;
  /** A weight ≥ 0 per sample (row of x), scaling its loss as Keras's sample_weight: a batch's loss is
   *  Σ_r w_r·loss_r divided by the loss's usual count (the batch's elements for MSE, its rows — or their
   *  summed class weights — for cross-entropy), not by Σ w_r, so weights of 1 are the unweighted loss. Only
   *  the training rows' weights are used (not with validation as a fraction's held-out rows); metrics and
   *  validation are unweighted. */
  sampleWeight?: ArrayLike<number>;
}

export interface History {
  epochs: EpochInfo[];
  loss: number[];
  valLoss: number[];
  valAccuracy: number[];
  /** Each metric's value per epoch, by name. */
  metrics: Record<string, number[]>;
  valMetrics: Record<string, number[]>;
  /** The learning rate at the end of each epoch's training. */
  lr: number[];
  stopReason: 'completed' | 'earlyStopping' | 'aborted';
  /** Epoch (1-based) with the best monitored loss. */
  bestEpoch: number;
}

export interface Evaluation {
  loss: number;
  /** For classification losses: the fraction of right predictions (argmax for cross-entropy, threshold
   *  0.5 on probabilities or 0 on logits per element for BCE). */
  accuracy?: number;
  /** The metrics asked for, by name. */
  metrics?: Record<string, number>;
}

export interface EvaluateOptions {
  batchSize?: number;
  metrics?: Metric[];
}

/** Inputs and targets of a data set in WASM memory (and per-sample weights), with the loss config for its
 *  target form; owned by the training call that made it. */
class WasmDataset {
  readonly rows: number;
  readonly inputRowBytes: number;
  readonly targetRowBytes: number;
  readonly kernel: LossKernel;
  private readonly block: WasmBlock;
  private readonly targetOffset: number;
  private readonly weightOffset: number;
  /** The loss's LossConfig for this data set's target form. */
  readonly lossConfig: Ptr;
  /** Whether sample weights were staged. */
  readonly hasWeights: boolean;

  constructor(net: Network, loss: Loss, x: unknown, y: unknown, name: string, sampleWeight?: unknown) {
    const xRows = toFlatRows(x, `${name}x`, net.inFeatures);
    const prepared = loss.prepareTarget(y, xRows.rows, net.outFeatures, `${name}y`);
    const weights = sampleWeight === undefined ? null : sampleWeightRows(sampleWeight, xRows.rows);
    this.rows = xRows.rows;
    this.inputRowBytes = net.inFeatures * 4;
    this.targetRowBytes = prepared.rowBytes;
    this.kernel = prepared.kernel;
    const inputBytes = checkedBytes(`${name}x (${this.rows} rows of ${net.inFeatures})`, this.rows, this.inputRowBytes);
    const targetBytes = checkedBytes(`${name}y`, this.rows, this.targetRowBytes);
    const weightBytes = weights ? checkedBytes('sampleWeight', this.rows) : 0;
    const configBytes = 256 + net.outFeatures * 4; // the LossConfig and its class weights
    this.targetOffset = Math.ceil(inputBytes / 16) * 16;
    this.weightOffset = this.targetOffset + Math.ceil(targetBytes / 16) * 16;
    const configOffset = this.weightOffset + Math.ceil(weightBytes / 16) * 16;
    this.block = new WasmBlock(checkedBytes(`the ${name || 'training '}data`, configOffset + configBytes, 1));
    try {
      stageFinite(xRows, this.block.ptr, `${name}x`, net.inFeatures);
      loss.stageTarget(prepared, this.targets, net.outFeatures);
      if (weights) writeF32(this.sampleWeights, weights);
      let used = configOffset;
      this.lossConfig = loss.stageConfig(this.kernel, (bytes) => {
        const at = this.block.ptr + used;
        used += Math.ceil(bytes / 16) * 16;
        return at;
      });
    } catch (error) {
      this.free();
      throw error;
    }
    this.hasWeights = weights !== null;
  }

  get inputs(): Ptr {
    return this.block.ptr;
  }

  get targets(): Ptr {
    return this.block.ptr + this.targetOffset;
  }

  get sampleWeights(): Ptr {
    return this.block.ptr + this.weightOffset;
  }

  /** A copy of rows [start, start + count) of the targets: class indices or values. */
  readTargets(start: number, count: number): Float32Array | Int32Array {
    const from = this.targets + start * this.targetRowBytes;
    const length = (count * this.targetRowBytes) / 4;
    if (lossTarget(this.kernel) === 'classes') return new Int32Array(memoryBuffer(), from, length).slice();
    return readF32(from, length);
  }

  free(): void {
    this.block.free();
  }
}

/** Checks sampleWeight: one finite weight ≥ 0 per row. */
export function sampleWeightRows(value: unknown, rows: number, name = 'sampleWeight'): Float32Array {
  const ok = ArrayBuffer.isView(value) || Array.isArray(value);
  if (!ok || (value as ArrayLike<unknown>).length !== rows) {
    throw new BackpropError(
      'SHAPE_MISMATCH',
      `expected ${name} to hold one weight per sample (${rows}), got ${describeValue(value)}`,
    );
  }
  const values = value as ArrayLike<unknown>;
  const out = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isFinite(Math.fround(v)) || v < 0) {
      throw new BackpropError('BAD_OPTION', `expected ${name}[${i}] to be a finite number ≥ 0, got ${describeValue(v)}`);
    }
    out[i] = v;
  }
  return out;
}

/** Loss (and accuracy, and metrics) of the network on rows [start, start + count) of a data set, in eval
 *  mode, in passes of batchSize rows. */
function evaluateRows(
  net: Network,
  loss: Loss,
  data: WasmDataset,
  start: number,
  count: number,
  batchSize: number,
  what: string,
  metrics: MetricAccumulator[],
): Evaluation {
  const session = networkSession(net, what, 'read');
  const plan = session.buffers(Math.min(batchSize, count));
  const width = net.outFeatures;
  const predictions = metrics.length ? new WasmBlock(checkedBytes('the predictions for the metrics', count * width)) : null;
  const config = new WasmBlock(structBytes('EvalConfig'));
  const mode = plan.training;
  try {
    plan.setTraining(false);
    writeStruct('EvalConfig', config.ptr, {
      plan: plan.ptr,
      loss: data.lossConfig,
      inputs: data.inputs + start * data.inputRowBytes,
      inputRowBytes: data.inputRowBytes,
      targets: data.targets + start * data.targetRowBytes,
      targetRowBytes: data.targetRowBytes,
      count,
      batchSize,
      predictions: predictions?.ptr ?? 0,
    });
    const status = getCore().networkEvaluate(config.ptr);
    throwForStatus(status, loss, data.kernel, width, '');
    const result = readResult();
    const evaluation: Evaluation = { loss: result.loss };
    if (lossHasAccuracy(data.kernel)) evaluation.accuracy = result.correct / result.judged;
    if (predictions) {
      const pred = readF32(predictions.ptr, count * width);
      const target = data.readTargets(start, count);
      for (const m of metrics) m.add({ pred, target, rows: count, width, correct: result.correct, judged: result.judged });
      evaluation.metrics = metricResults(metrics);
    }
    return evaluation;
  } finally {
    plan.setTraining(mode);
    predictions?.free();
    config.free();
    session.hold(0);
  }
}

export function evaluateNetwork(net: Network, x: unknown, y: unknown, loss: Loss, options: EvaluateOptions = {}): Evaluation {
  networkSession(net, 'evaluate()', 'read');
  checkLoss(loss);
  checkOptionKeys(options, ['batchSize', 'metrics'], 'evaluate');
  const batchSize = requirePositiveInteger(options.batchSize ?? 1024, 'batchSize');
  const data = new WasmDataset(net, loss, x, y, '');
  try {
    checkBatchStatistics(net.layers, smallestBatch(data.rows, batchSize), false);
    const metrics = prepareMetrics(options.metrics, { kernel: data.kernel, width: net.outFeatures }, 'evaluate');
    return evaluateRows(net, loss, data, 0, data.rows, batchSize, 'evaluate()', metrics());
  } finally {
    data.free();
  }
}

/** The rows of the smallest of the batches that `rows` rows make. */
export function smallestBatch(rows: number, batchSize: number): number {
  return rows <= batchSize ? rows : rows % batchSize || batchSize;
}

/** The options fit() takes over arrays and over streams alike. */
export const COMMON_KEYS = [
  'loss',
  'optimizer',
  'epochs',
  'scheduler',
  'metrics',
  'onEpochEnd',
  'onBatchEnd',
  'earlyStopping',
  'signal',
];
const FIT_KEYS = [...COMMON_KEYS, 'batchSize', 'shuffle', 'seed', 'validation', 'sampleWeight'];

/** The checks every fit() makes of the options it shares with the other (arrays or stream). */
export function checkCommonOptions(options: CommonFitOptions, keys: readonly string[], owner: string) {
  if (options === null || typeof options !== 'object') {
    throw new BackpropError('BAD_OPTION', `expected ${owner} options { loss, optimizer, ... }, got ${describeValue(options)}`);
  }
  checkOptionKeys(options, keys, owner);
  checkLossAndOptimizer(options.loss, options.optimizer);
  const epochs = requirePositiveInteger(options.epochs ?? 1, 'epochs');
  for (const name of ['onEpochEnd', 'onBatchEnd'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') {
      throw new BackpropError('BAD_OPTION', `expected ${name} to be a function, got ${describeValue(options[name])}`);
    }
  }
  const early = options.earlyStopping;
  if (early !== undefined) {
    checkOptionKeys(early, ['patience', 'minDelta', 'restoreBestWeights'], 'earlyStopping');
    requirePositiveInteger(early.patience, 'earlyStopping.patience');
    requireFiniteNumber(early.minDelta ?? 0, 'earlyStopping.minDelta', (v) => v >= 0, '≥ 0');
  }
  const signal = options.signal;
  if (signal !== undefined && (signal === null || typeof signal.aborted !== 'boolean')) {
    throw new BackpropError('BAD_OPTION', `expected signal to be an AbortSignal, got ${describeValue(signal)}`);
  }
  const scheduler = options.scheduler;
  if (scheduler !== undefined) {
    if (!(scheduler instanceof LRScheduler)) {
      throw new BackpropError(
        'BAD_TYPE',
        `expected scheduler to be a scheduler (e.g. new StepLR(optimizer, …)), got ${describeValue(scheduler)}`,
      );
    }
    scheduler.assertUsable('fit()');
    if (scheduler.optimizer !== options.optimizer) {
      throw new BackpropError(
        'BAD_OPTION',
        `the scheduler schedules another optimizer than fit's: build it over options.optimizer`,
      );
    }
  }
  return { epochs };
}

function checkFitOptions(options: FitOptions) {
  const { epochs } = checkCommonOptions(options, FIT_KEYS, 'fit');
  const batchSize = requirePositiveInteger(options.batchSize ?? 32, 'batchSize');
  const shuffle = options.shuffle ?? true;
  if (typeof shuffle !== 'boolean')
    throw new BackpropError('BAD_OPTION', `expected shuffle to be a boolean, got ${describeValue(shuffle)}`);
  if (options.seed !== undefined) new Generator(options.seed).dispose(); // checks the seed
  return { epochs, batchSize, shuffle };
}

/** A per-batch scheduler's room: refuses a fit that would step it past its end, before training. */
export function checkSchedulerRoom(scheduler: LRScheduler | undefined, steps: number): void {
  if (!scheduler || scheduler.interval !== 'batch') return;
  const length = scheduler.kind.length?.(scheduler.options as never);
  if (length !== undefined && scheduler.stepCount + steps > length) {
    throw new BackpropError(
      'BAD_OPTION',
      `${scheduler.kind.type} has ${length - scheduler.stepCount} steps left, but this fit() takes ${steps} more batch${steps === 1 ? '' : 'es'}: ` +
        `build it with totalSteps ≥ ${scheduler.stepCount + steps} (or epochs × stepsPerEpoch)`,
    );
  }
}

/** Held-out data in WASM for fit() over a stream: its evaluation per epoch, and its release. */
export function arrayValidation(
  net: Network,
  loss: Loss,
  validation: unknown,
  metrics: Metric[] | undefined,
): { validate: () => Evaluation; free(): void } {
  const held = heldOutData(validation);
  const data = new WasmDataset(net, loss, held.x, held.y, 'validation.');
  try {
    checkBatchStatistics(net.layers, smallestBatch(data.rows, 256), false, ' (fit: the validation data)');
    const make = prepareMetrics(metrics, { kernel: data.kernel, width: net.outFeatures }, 'fit');
    return {
      validate: () => evaluateRows(net, loss, data, 0, data.rows, 256, 'fit()', make()),
      free: () => data.free(),
    };
  } catch (error) {
    data.free();
    throw error;
  }
}

/** The { x, y } (or { X, Y }) of a validation option. */
export function heldOutData(validation: unknown): { x: unknown; y: unknown } {
  if (validation !== null && typeof validation === 'object') {
    const v = validation as Record<string, unknown>;
    if ('x' in v && 'y' in v) return { x: v.x, y: v.y };
    if ('X' in v && 'Y' in v) return { x: v.X, y: v.Y };
  }
  throw new BackpropError('BAD_OPTION', `expected validation to be { x, y } or a fraction, got ${describeValue(validation)}`);
}

/** Lets timers, I/O and the page run. */
export function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => void };
  return new Promise((resolve) => {
    if (typeof g.setImmediate === 'function') g.setImmediate(resolve);
    else if (typeof MessageChannel !== 'undefined') {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        channel.port1.close();
        resolve();
      };
      channel.port2.postMessage(null);
    } else setTimeout(resolve, 0);
  });
}

/** How long fit() may run between yields to the event loop. */
const YIELD_EVERY_MS = 10;

/** One epoch's training: its loss and training metrics, or null when the signal stopped it mid-epoch. */
export type EpochResult = { loss: number; metrics?: Record<string, number> } | null;

/** @internal The epoch loop of every fit(): trains (in training mode), validates (in eval mode), records the
 *  metrics and rate, steps an epoch scheduler, stops early, calls onEpochEnd, yields; restores the mode the
 *  network had. `trainEpoch` runs the epoch's batches (and steps a per-batch scheduler). */
export async function runEpochs(
  net: Network,
  options: CommonFitOptions,
  epochs: number,
  trainEpoch: (epoch: number) => Promise<EpochResult> | EpochResult,
  validate: (() => Evaluation | Promise<Evaluation>) | null,
): Promise<History> {
  const plan = networkSession(net, 'fit()', 'read').plan;
  const mode = plan.training;
  const history = emptyHistory('completed');
  const { earlyStopping: early, signal, scheduler, optimizer } = options;
  let best = Infinity,
    wait = 0;
  let bestState: (Float32Array | BigInt64Array)[] | null = null;
  const state = () => [...net.parameters().map((p) => p.data), ...net.buffers().map((b) => b.data)];
  let lastYield = performance.now();
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      if (signal?.aborted) {
        history.stopReason = 'aborted';
        break;
      }
      const started = performance.now();
      plan.setTraining(true);
      const trained = await trainEpoch(epoch);
      if (trained === null) {
        history.stopReason = 'aborted';
        break;
      }
      const info: EpochInfo = { epoch, loss: trained.loss, lr: optimizer.lr, seconds: 0 };
      if (trained.metrics) info.metrics = trained.metrics;
      if (validate) {
        const v = await validate();
        info.valLoss = v.loss;
        if (v.accuracy !== undefined) info.valAccuracy = v.accuracy;
        if (v.metrics) info.valMetrics = v.metrics;
      }
      info.seconds = (performance.now() - started) / 1000;
      record(history, info);
      const monitored = info.valLoss ?? info.loss;
      if (monitored < best - (early?.minDelta ?? 0)) {
        best = monitored;
        history.bestEpoch = epoch;
        wait = 0;
        if (early?.restoreBestWeights) bestState = state().map((data) => data.slice());
      } else {
        wait++;
      }
      if (scheduler && scheduler.interval === 'epoch') {
        if (scheduler.kind.takesMetric) scheduler.step(monitored);
        else scheduler.step();
      }
      await options.onEpochEnd?.(info);
      if (early && wait >= early.patience) {
        history.stopReason = 'earlyStopping';
        break;
      }
      if (epoch < epochs && performance.now() - lastYield >= YIELD_EVERY_MS) {
        await yieldToEventLoop();
        lastYield = performance.now();
      }
    }
    if (bestState) state().forEach((data, k) => data.set(bestState![k] as never));
    return history;
  } finally {
    if (!net.disposed) plan.setTraining(mode);
  }
}

/** A history with no epochs yet. */
export function emptyHistory(stopReason: History['stopReason']): History {
  return { epochs: [], loss: [], valLoss: [], valAccuracy: [], metrics: {}, valMetrics: {}, lr: [], stopReason, bestEpoch: 0 };
}

function record(history: History, info: EpochInfo): void {
  history.epochs.push(info);
  history.loss.push(info.loss);
  history.lr.push(info.lr);
  if (info.valLoss !== undefined) history.valLoss.push(info.valLoss);
  if (info.valAccuracy !== undefined) history.valAccuracy.push(info.valAccuracy);
  if (info.metrics) for (const [name, value] of Object.entries(info.metrics)) (history.metrics[name] ??= []).push(value);
  if (info.valMetrics) {
    for (const [name, value] of Object.entries(info.valMetrics)) (history.valMetrics[name] ??= []).push(value);
  }
}

export async function fitNetwork(net: Network, x: MatrixInput, y: TargetInput, options: FitOptions): Promise<History> {
  networkSession(net, 'fit()', 'write');
  const { epochs, batchSize, shuffle } = checkFitOptions(options);
  const { loss, optimizer, validation, signal, scheduler } = options;
  optimizer.readyBlock();
  const owned: { free(): void }[] = [];
  try {
    const data = new WasmDataset(net, loss, x, y, '', options.sampleWeight);
    owned.push(data);
    let trainRows = data.rows;
    let valData: WasmDataset | null = null,
      valStart = 0,
      valRows = 0;
    if (typeof validation === 'number') {
      requireFiniteNumber(validation, 'validation', (v) => v > 0 && v < 1, 'in (0, 1) (a fraction of the samples)');
      valRows = Math.floor(data.rows * validation);
      trainRows = data.rows - valRows;
      if (valRows < 1 || trainRows < 1) {
        throw new BackpropError(
          'BAD_OPTION',
          `validation ${validation} of ${data.rows} samples leaves ${trainRows} to train on and ${valRows} to validate`,
        );
      }
      valData = data;
      valStart = trainRows;
    } else if (validation !== undefined) {
      const held = heldOutData(validation);
      valData = new WasmDataset(net, loss, held.x, held.y, 'validation.');
      owned.push(valData);
      valRows = valData.rows;
    }
    const valBatch = Math.max(batchSize, 256);
    const last = smallestBatch(trainRows, batchSize);
    checkBatchStatistics(net.layers, last, true, ` (fit: ${trainRows} rows in batches of ${batchSize} leave a batch of ${last})`);
    if (valData) checkBatchStatistics(net.layers, smallestBatch(valRows, valBatch), false, ' (fit: the validation data)');
    const width = net.outFeatures;
    const makeMetrics = prepareMetrics(options.metrics, { kernel: data.kernel, width }, 'fit');
    const makeValMetrics = valData ? prepareMetrics(options.metrics, { kernel: valData.kernel, width }, 'fit') : () => [];
    const batches = Math.ceil(trainRows / batchSize);
    checkSchedulerRoom(scheduler, batches * epochs);
    const withMetrics = makeMetrics().length > 0;
    const work = new WasmBlock(
      checkedBytes(
        'the batch order',
        // the indices (padded to 8 bytes), batch and epoch losses (f64), a batch of weights, the predictions
        2 * Math.ceil(trainRows / 2) + 2 * batches + 2 * epochs + batchSize + (withMetrics ? trainRows * width : 0),
        4,
      ) + structBytes('EpochConfig'),
    );
    owned.push(work);
    const indices = work.ptr;
    const batchLosses = indices + Math.ceil(trainRows / 2) * 8;
    const epochLosses = batchLosses + batches * 8;
    const weightBuffer = epochLosses + epochs * 8;
    const predictions = weightBuffer + batchSize * 4;
    const config = predictions + (withMetrics ? trainRows * width * 4 : 0);
    // rows in order (a loop over a view: Int32Array.from with a mapping function costs ~20 ns a row)
    const order = new Int32Array(memoryBuffer(), indices, trainRows);
    for (let i = 0; i < trainRows; i++) order[i] = i;
    // without a seed, the order comes from the default generator: different each call, reproducible under manualSeed()
    const generator = new Generator(options.seed ?? defaultGen().below(0xffffffff));
    owned.push({ free: () => generator.dispose() });
    const perBatch = Boolean(options.onBatchEnd) || scheduler?.interval === 'batch';

    let currentEpoch = 1,
      firstBatch = 0; // where a failing run() was, for its message
    const release = net.holdForTraining('fit()');
    const undo = undoPoint(net, optimizer, scheduler);
    try {
      const quiet =
        !options.onEpochEnd && !perBatch && !valData && !options.earlyStopping && !signal && !scheduler && !withMetrics;
      if (quiet) return await trainQuietly();
      const validate = valData
        ? () => evaluateRows(net, loss, valData, valStart, valRows, valBatch, 'fit()', makeValMetrics())
        : null;
      return await runEpochs(
        net,
        options,
        epochs,
        (epoch) => {
          currentEpoch = epoch;
          const epochLoss = perBatch ? runBatches(epoch) : runEpoch();
          if (epochLoss === null) return null;
          return withMetrics ? { loss: epochLoss, metrics: trainingMetrics() } : { loss: epochLoss };
        },
        validate,
      );
    } catch (error) {
      // a worker that died took a batch down with it: back to the network as fit() found it
      if (error instanceof BackpropError && error.code === 'WORKER_FAILED') undo?.();
      throw error;
    } finally {
      release();
    }

    /** Runs `count` rows from indices[first] as `epochCount` epochs in one call. */
    function run(first: number, count: number, epochCount: number, shuffleInside: boolean, perBatch: boolean): void {
      const session = networkSession(net, 'fit()', 'read');
      const plan = session.buffers(Math.min(batchSize, trainRows));
      writeStruct('EpochConfig', config, {
        plan: plan.ptr,
        loss: data.lossConfig,
        optimizer: optimizer.readyBlock(),
        inputs: data.inputs,
        inputRowBytes: data.inputRowBytes,
        targets: data.targets,
        targetRowBytes: data.targetRowBytes,
        indices: indices + first * 4,
        count,
        batchSize,
        targetBuffer: plan.target,
        batchLosses: perBatch ? batchLosses : 0,
        epochs: epochCount,
        shuffleRng: shuffleInside ? generator.statePtr : 0,
        epochLosses,
        sampleWeights: data.hasWeights ? data.sampleWeights : 0,
        weightBuffer,
        predictions: withMetrics ? predictions : 0,
      });
      const status = getCore().networkTrainEpochs(config);
      session.hold(0);
      if (statusName(status) !== 'ok') {
        const result = readResult();
        throwForStatus(
          status,
          loss,
          data.kernel,
          net.outFeatures,
          ` in epoch ${currentEpoch + result.epoch}, batch ${firstBatch + result.batch + 1}`,
        );
      }
    }

    /** Nothing happens between epochs: all of them in one call into the core, in training mode. */
    async function trainQuietly(): Promise<History> {
      const plan = networkSession(net, 'fit()', 'read').plan;
      const mode = plan.training;
      const history = emptyHistory('completed');
      const started = performance.now();
      try {
        plan.setTraining(true);
        run(0, trainRows, epochs, shuffle, false);
      } finally {
        plan.setTraining(mode);
      }
      const seconds = (performance.now() - started) / 1000 / epochs;
      const losses = new Float64Array(memoryBuffer(), epochLosses, epochs).slice();
      losses.forEach((epochLoss, e) => record(history, { epoch: e + 1, loss: epochLoss, lr: optimizer.lr, seconds }));
      // (a loop, not Math.min(...losses): that spreads every epoch onto the stack)
      history.bestEpoch = losses.reduce((best, value, e) => (value < losses[best] ? e : best), 0) + 1;
      return history;
    }

    /** The metrics over the epoch's training predictions (captured by the core at each row's place). */
    function trainingMetrics(): Record<string, number> {
      const core = getCore();
      core.lossCountCorrect(data.lossConfig, predictions, data.targets, trainRows, width);
      const { correct, judged } = readResult();
      const metrics = makeMetrics();
      const batch = { pred: readF32(predictions, trainRows * width), target: data.readTargets(0, trainRows) };
      for (const m of metrics) m.add({ ...batch, rows: trainRows, width, correct, judged });
      return metricResults(metrics);
    }

    /** One epoch in one call; returns its loss. */
    function runEpoch(): number {
      firstBatch = 0;
      run(0, trainRows, 1, shuffle, false);
      return new Float64Array(memoryBuffer(), epochLosses, 1)[0];
    }

    /** One epoch a batch per call, with onBatchEnd and a per-batch scheduler's step after each; returns
     *  its loss, or null when the signal stopped it between batches. */
    function runBatches(epoch: number): number | null {
      if (shuffle) generator.shuffleI32(indices, trainRows);
      let sum = 0,
        count = 0;
      for (let b = 0; b < batches; b++) {
        const first = b * batchSize,
          size = Math.min(batchSize, trainRows - first);
        firstBatch = b;
        run(first, size, 1, false, true);
        const result = readResult();
        sum += result.lossSum;
        count += result.lossCount;
        if (scheduler?.interval === 'batch') scheduler.step();
        options.onBatchEnd?.({ epoch, batch: b + 1, loss: new Float64Array(memoryBuffer(), batchLosses, 1)[0], size });
        if (signal?.aborted) return null;
      }
      return loss.reduction === 'mean' ? sum / count : sum;
    }
  } finally {
    for (const block of owned.reverse()) block.free();
  }
}
