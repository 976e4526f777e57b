// Training loops over whole data sets: the data is copied into WASM once per call, batches are gathered
// by index inside WASM, and epochs run inside the core — all of them in one call when nothing needs to
// happen between epochs, else an epoch (or a batch, with onBatchEnd) per call, yielding to the event loop
// about every 10 ms.
import { type Ptr, WasmBlock, checkedBytes, getCore, memoryBuffer, writeI32 } from './core.js';
import { BackpropError, describeValue } from './errors.js';
import { type MatrixInput, requireFiniteNumber, requirePositiveInteger, stageFinite, toFlatRows } from './input.js';
import { type LossKernel, lossHasAccuracy, readResult, statusName, structBytes, writeStruct } from './kernel.js';
import { Loss } from './losses.js';
import { type Network, networkSession } from './network.js';
import { type Optimizer } from './optimizers.js';
import { checkOptionKeys } from './options.js';
import { Generator, defaultGen } from './random.js';
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
  seconds: number;
}

export interface BatchInfo {
  epoch: number;
  /** 1-based within the epoch */
  batch: number;
  loss: number;
  size: number;
}

export interface FitOptions {
  loss: Loss;
  optimizer: Optimizer;
  epochs?: number;
  batchSize?: number;
  /** Reshuffle the training samples every epoch (default true), from `seed`. */
  shuffle?: boolean;
  /** Seed of the shuffling order. Without one, each fit() draws its seed from the default generator, so
   *  every call shuffles differently and manualSeed() makes a whole run reproducible. */
  seed?: number;
  /** Held-out data ({ x, y }, or { X, Y }), or the fraction of the samples (the last ones, before
   *  shuffling, as Keras) to hold out. */
  validation?: { x: MatrixInput; y: TargetInput } | { X: MatrixInput; Y: TargetInput } | number;
  onEpochEnd?: (info: EpochInfo) => void | Promise<void>;
  /** Called after every batch; makes each batch a separate call into WASM. */
  onBatchEnd?: (info: BatchInfo) => void;
  /** Stop when the monitored loss (validation loss if there is validation data, else training loss) has
   *  not improved by more than minDelta for `patience` epochs. */
  earlyStopping?: { patience: number; minDelta?: number; restoreBestWeights?: boolean };
  /** Stops training after the current batch (with onBatchEnd) or epoch; fit() then resolves normally. */
  signal?: AbortSignal;
}

export interface History {
  epochs: EpochInfo[];
  loss: number[];
  valLoss: number[];
  valAccuracy: number[];
  stopReason: 'completed' | 'earlyStopping' | 'aborted';
  /** Epoch (1-based) with the best monitored loss. */
  bestEpoch: number;
}

export interface Evaluation {
  loss: number;
  /** For classification losses: the fraction of right predictions (argmax for cross-entropy, threshold
   *  0.5 on probabilities or 0 on logits per element for BCE). */
  accuracy?: number;
}

/** Inputs and targets of a data set in WASM memory, with the loss config for its target form; owned by the
 *  training call that made it. */
class WasmDataset {
  readonly rows: number;
  readonly inputRowBytes: number;
  readonly targetRowBytes: number;
  readonly kernel: LossKernel;
  private readonly block: WasmBlock;
  private readonly targetOffset: number;
  /** The loss's LossConfig for this data set's target form. */
  readonly lossConfig: Ptr;

  constructor(net: Network, loss: Loss, x: unknown, y: unknown, name: string) {
    const xRows = toFlatRows(x, `${name}x`, net.inFeatures);
    const prepared = loss.prepareTarget(y, xRows.rows, net.outFeatures, `${name}y`);
    this.rows = xRows.rows;
    this.inputRowBytes = net.inFeatures * 4;
    this.targetRowBytes = prepared.rowBytes;
    this.kernel = prepared.kernel;
    const inputBytes = checkedBytes(`${name}x (${this.rows} rows of ${net.inFeatures})`, this.rows, this.inputRowBytes);
    const targetBytes = checkedBytes(`${name}y`, this.rows, this.targetRowBytes);
    const configBytes = 256 + net.outFeatures * 4; // the LossConfig and its class weights
    this.targetOffset = Math.ceil(inputBytes / 16) * 16;
    const configOffset = this.targetOffset + Math.ceil(targetBytes / 16) * 16;
    this.block = new WasmBlock(checkedBytes(`the ${name || 'training '}data`, configOffset + configBytes, 1));
    try {
      stageFinite(xRows, this.block.ptr, `${name}x`, net.inFeatures);
      loss.stageTarget(prepared, this.targets, net.outFeatures);
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
  }

  get inputs(): Ptr {
    return this.block.ptr;
  }

  get targets(): Ptr {
    return this.block.ptr + this.targetOffset;
  }

  free(): void {
    this.block.free();
  }
}

/** Loss (and accuracy) of the network on rows [start, start + count) of a data set, in eval passes. */
function evaluateRows(
  net: Network,
  loss: Loss,
  data: WasmDataset,
  start: number,
  count: number,
  batchSize: number,
  what: string,
): Evaluation {
  const session = networkSession(net, what, 'read');
  const plan = session.buffers(Math.min(batchSize, count));
  const config = new WasmBlock(structBytes('EvalConfig'));
  try {
    writeStruct('EvalConfig', config.ptr, {
      plan: plan.ptr,
      loss: data.lossConfig,
      inputs: data.inputs + start * data.inputRowBytes,
      inputRowBytes: data.inputRowBytes,
      targets: data.targets + start * data.targetRowBytes,
      targetRowBytes: data.targetRowBytes,
      count,
      batchSize,
    });
    const status = getCore().networkEvaluate(config.ptr);
    throwForStatus(status, loss, data.kernel, net.outFeatures, '');
  } finally {
    config.free();
    session.hold(0);
  }
  const result = readResult();
  const evaluation: Evaluation = { loss: result.loss };
  if (lossHasAccuracy(data.kernel)) evaluation.accuracy = result.correct / result.judged;
  return evaluation;
}

export function evaluateNetwork(
  net: Network,
  x: unknown,
  y: unknown,
  loss: Loss,
  options: { batchSize?: number } = {},
): Evaluation {
  networkSession(net, 'evaluate()', 'read');
  checkLoss(loss);
  checkOptionKeys(options, ['batchSize'], 'evaluate');
  const batchSize = requirePositiveInteger(options.batchSize ?? 1024, 'batchSize');
  const data = new WasmDataset(net, loss, x, y, '');
  try {
    return evaluateRows(net, loss, data, 0, data.rows, batchSize, 'evaluate()');
  } finally {
    data.free();
  }
}

const FIT_KEYS = [
  'loss',
  'optimizer',
  'epochs',
  'batchSize',
  'shuffle',
  'seed',
  'validation',
  'onEpochEnd',
  'onBatchEnd',
  'earlyStopping',
  'signal',
];

function checkFitOptions(options: FitOptions) {
  if (options === null || typeof options !== 'object') {
    throw new BackpropError('BAD_OPTION', `expected fit options { loss, optimizer, ... }, got ${describeValue(options)}`);
  }
  checkOptionKeys(options, FIT_KEYS, 'fit');
  checkLossAndOptimizer(options.loss, options.optimizer);
  const epochs = requirePositiveInteger(options.epochs ?? 1, 'epochs');
  const batchSize = requirePositiveInteger(options.batchSize ?? 32, 'batchSize');
  const shuffle = options.shuffle ?? true;
  if (typeof shuffle !== 'boolean')
    throw new BackpropError('BAD_OPTION', `expected shuffle to be a boolean, got ${describeValue(shuffle)}`);
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
  if (options.seed !== undefined) new Generator(options.seed).dispose(); // checks the seed
  return { epochs, batchSize, shuffle };
}

/** The { x, y } (or { X, Y }) of a validation option. */
function heldOutData(validation: unknown): { x: unknown; y: unknown } {
  if (validation !== null && typeof validation === 'object') {
    const v = validation as Record<string, unknown>;
    if ('x' in v && 'y' in v) return { x: v.x, y: v.y };
    if ('X' in v && 'Y' in v) return { x: v.X, y: v.Y };
  }
  throw new BackpropError('BAD_OPTION', `expected validation to be { x, y } or a fraction, got ${describeValue(validation)}`);
}

/** Lets timers, I/O and the page run. */
function yieldToEventLoop(): Promise<void> {
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

export async function fitNetwork(net: Network, x: MatrixInput, y: TargetInput, options: FitOptions): Promise<History> {
  networkSession(net, 'fit()', 'write');
  const { epochs, batchSize, shuffle } = checkFitOptions(options);
  const { loss, optimizer, validation, signal } = options;
  optimizer.readyBlock();
  const owned: { free(): void }[] = [];
  try {
    const data = new WasmDataset(net, loss, x, y, '');
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
    const batches = Math.ceil(trainRows / batchSize);
    const work = new WasmBlock(
      checkedBytes('the batch order', trainRows + 2 * batches + 2 * epochs, 4) + structBytes('EpochConfig'),
    );
    owned.push(work);
    const indices = work.ptr;
    const batchLosses = indices + Math.ceil(trainRows / 2) * 8;
    const epochLosses = batchLosses + batches * 8;
    const config = epochLosses + epochs * 8;
    writeI32(
      indices,
      Int32Array.from({ length: trainRows }, (_, i) => i),
    );
    // without a seed, the order comes from the default generator: different each call, reproducible under manualSeed()
    const generator = new Generator(options.seed ?? defaultGen().below(0xffffffff));
    owned.push({ free: () => generator.dispose() });

    let currentEpoch = 1,
      firstBatch = 0; // where a failing run() was, for its message
    const release = net.holdForTraining('fit()');
    try {
      return await trainEpochs();
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

    async function trainEpochs(): Promise<History> {
      const history: History = { epochs: [], loss: [], valLoss: [], valAccuracy: [], stopReason: 'completed', bestEpoch: 0 };
      const early = options.earlyStopping;
      const quiet = !options.onEpochEnd && !options.onBatchEnd && !valData && !early && !signal;
      if (quiet) {
        // nothing happens between epochs: all of them in one call into the core
        const started = performance.now();
        run(0, trainRows, epochs, shuffle, false);
        const seconds = (performance.now() - started) / 1000 / epochs;
        const losses = new Float64Array(memoryBuffer(), epochLosses, epochs).slice();
        losses.forEach((epochLoss, e) => {
          history.epochs.push({ epoch: e + 1, loss: epochLoss, seconds });
          history.loss.push(epochLoss);
        });
        history.bestEpoch = losses.indexOf(Math.min(...losses)) + 1;
        return history;
      }
      let best = Infinity,
        wait = 0;
      let bestWeights: Float32Array[] | null = null;
      let lastYield = performance.now();
      for (let epoch = 1; epoch <= epochs; epoch++) {
        if (signal?.aborted) {
          history.stopReason = 'aborted';
          break;
        }
        const started = performance.now();
        currentEpoch = epoch;
        const epochLoss = options.onBatchEnd ? runBatches(epoch) : runEpoch();
        if (epochLoss === null) {
          history.stopReason = 'aborted';
          break;
        }
        const info: EpochInfo = { epoch, loss: epochLoss, seconds: 0 };
        if (valData) {
          const v = evaluateRows(net, loss, valData, valStart, valRows, Math.max(batchSize, 256), 'fit()');
          info.valLoss = v.loss;
          if (v.accuracy !== undefined) info.valAccuracy = v.accuracy;
        }
        info.seconds = (performance.now() - started) / 1000;
        history.epochs.push(info);
        history.loss.push(info.loss);
        if (info.valLoss !== undefined) history.valLoss.push(info.valLoss);
        if (info.valAccuracy !== undefined) history.valAccuracy.push(info.valAccuracy);
        const monitored = info.valLoss ?? info.loss;
        if (monitored < best - (early?.minDelta ?? 0)) {
          best = monitored;
          history.bestEpoch = epoch;
          wait = 0;
          if (early?.restoreBestWeights) bestWeights = net.parameters().map((p) => p.data.slice());
        } else {
          wait++;
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
      if (bestWeights) net.parameters().forEach((p, k) => p.data.set(bestWeights![k]));
      return history;
    }

    /** One epoch in one call; returns its loss. */
    function runEpoch(): number {
      firstBatch = 0;
      run(0, trainRows, 1, shuffle, false);
      return new Float64Array(memoryBuffer(), epochLosses, 1)[0];
    }

    /** One epoch a batch per call, with onBatchEnd after each; returns its loss, or null when the signal
     *  stopped it between batches. */
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
        options.onBatchEnd!({ epoch, batch: b + 1, loss: new Float64Array(memoryBuffer(), batchLosses, 1)[0], size });
        if (signal?.aborted) return null;
      }
      return loss.reduction === 'mean' ? sum / count : sum;
    }
  } finally {
    for (const block of owned.reverse()) block.free();
  }
}
