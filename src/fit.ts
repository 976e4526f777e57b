// Training loops over whole data sets: the data is copied into WASM once per call, batches are gathered
// by index inside WASM, and an epoch without per-batch callbacks is one call into the core.
import { WasmBlock, getCore, readResult, writeI32 } from './core.js';
import { BackpropError, describeValue } from './errors.js';
import { type MatrixInput, checkOptionKeys, requireFiniteNumber, requirePositiveInteger, stageFinite, toFlatRows } from './input.js';
import { Loss, LossKernel } from './losses.js';
import type { Network } from './network.js';
import { Optimizer } from './optimizers.js';
import { Generator } from './random.js';
import { checkLossAndOptimizer, outputOutOfRange, throwForStatus } from './status.js';

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

/** Inputs and targets of a data set in WASM memory, owned by the training call that made it. */
class WasmDataset {
  readonly rows: number;
  readonly rowBytes: number;
  readonly kernel: LossKernel;
  private readonly inputs: WasmBlock;
  private readonly targets: WasmBlock;

  constructor(net: Network, loss: Loss, x: unknown, y: unknown, name: string) {
    const xRows = toFlatRows(x, `${name}x`, net.inFeatures);
    const prepared = loss.prepareTarget(y, xRows.rows, net.outFeatures, `${name}y`);
    this.rows = xRows.rows;
    this.rowBytes = prepared.rowBytes;
    this.kernel = prepared.kernel;
    this.inputs = new WasmBlock(xRows.values.length * 4);
    try {
      this.targets = new WasmBlock(this.rows * this.rowBytes);
    } catch (error) {
      this.inputs.free();
      throw error;
    }
    try {
      stageFinite(xRows, this.inputs.ptr, `${name}x`, net.inFeatures);
      loss.stageTarget(prepared, this.targets.ptr, net.outFeatures);
    } catch (error) {
      this.free();
      throw error;
    }
  }

  inputRow(net: Network, row: number): number {
    return this.inputs.ptr + row * net.inFeatures * 4;
  }

  targetRow(row: number): number {
    return this.targets.ptr + row * this.rowBytes;
  }

  free(): void {
    this.inputs.free();
    this.targets.free();
  }
}

/** Loss (and accuracy) of the network on rows [start, start + count) of a data set. */
function evaluateRows(net: Network, loss: Loss, data: WasmDataset, start: number, count: number, batchSize: number): Evaluation {
  const core = getCore();
  const width = net.outFeatures;
  let total = 0, correct = 0;
  net.forEachChunk(data.inputRow(net, start), count, batchSize, (output, first, rows) => {
    const invalid = core.lossFirstInvalidInput(data.kernel, output, rows, width);
    if (invalid >= 0) throw outputOutOfRange(loss, (start + first) * width + invalid, width);
    const target = data.targetRow(start + first);
    total += core.lossForward(data.kernel, 1, loss.smoothing, output, target, rows, width);
    if (loss.hasAccuracy) correct += core.countCorrect(data.kernel, output, target, rows, width);
  });
  net.setHeldBatch(0);
  const perRow = data.kernel === LossKernel.CrossEntropyIndex || data.kernel === LossKernel.CrossEntropyProb;
  const items = perRow ? count : count * width;
  const result: Evaluation = { loss: loss.reduction === 'mean' ? total / items : total };
  if (loss.hasAccuracy) result.accuracy = correct / items;
  return result;
}

export function evaluateNetwork(net: Network, x: unknown, y: unknown, loss: Loss, options: { batchSize?: number } = {}): Evaluation {
  net.alivePlan();
  net.assertNotFitting('evaluate()');
  if (!(loss instanceof Loss)) {
    throw new BackpropError('BAD_TYPE', `expected loss to be a Loss (e.g. new CrossEntropyLoss()), got ${describeValue(loss)}`);
  }
  checkOptionKeys(options, ['batchSize'], 'evaluate');
  const batchSize = requirePositiveInteger(options.batchSize ?? 1024, 'batchSize');
  const data = new WasmDataset(net, loss, x, y, '');
  try {
    return evaluateRows(net, loss, data, 0, data.rows, batchSize);
  } finally {
    data.free();
  }
}

const FIT_KEYS = ['loss', 'optimizer', 'epochs', 'batchSize', 'shuffle', 'seed', 'validation', 'onEpochEnd', 'onBatchEnd', 'earlyStopping', 'signal'];

function checkFitOptions(options: FitOptions) {
  checkOptionKeys(options, FIT_KEYS, 'fit');
  checkLossAndOptimizer(options.loss, options.optimizer);
  const epochs = requirePositiveInteger(options.epochs ?? 1, 'epochs');
  const batchSize = requirePositiveInteger(options.batchSize ?? 32, 'batchSize');
  const shuffle = options.shuffle ?? true;
  if (typeof shuffle !== 'boolean') throw new BackpropError('BAD_OPTION', `expected shuffle to be a boolean, got ${describeValue(shuffle)}`);
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

/** Lets timers, I/O and the page run between epochs. */
function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => void };
  return new Promise((resolve) => {
    if (typeof g.setImmediate === 'function') g.setImmediate(resolve);
    else if (typeof MessageChannel !== 'undefined') {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => { channel.port1.close(); resolve(); };
      channel.port2.postMessage(null);
    } else setTimeout(resolve, 0);
  });
}

export async function fitNetwork(net: Network, x: MatrixInput, y: TargetInput, options: FitOptions): Promise<History> {
  net.alivePlan();
  net.assertNotFitting('fit()');
  if (options === null || typeof options !== 'object') {
    throw new BackpropError('BAD_OPTION', `expected fit options { loss, optimizer, ... }, got ${describeValue(options)}`);
  }
  const { epochs, batchSize, shuffle } = checkFitOptions(options);
  const { loss, optimizer, validation, signal } = options;
  optimizer.readyBlock();
  const generator = new Generator(options.seed ?? 0);
  const owned: { free(): void }[] = [{ free: () => generator.dispose() }];
  try {
    const data = new WasmDataset(net, loss, x, y, '');
    owned.push(data);
    let trainRows = data.rows;
    let valData: WasmDataset | null = null, valStart = 0, valRows = 0;
    if (typeof validation === 'number') {
      requireFiniteNumber(validation, 'validation', (v) => v > 0 && v < 1, 'in (0, 1) (a fraction of the samples)');
      valRows = Math.floor(data.rows * validation);
      trainRows = data.rows - valRows;
      if (valRows < 1 || trainRows < 1) {
        throw new BackpropError('BAD_OPTION', `validation ${validation} of ${data.rows} samples leaves ${trainRows} to train on and ${valRows} to validate`);
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
    const indices = new WasmBlock(trainRows * 4);
    owned.push(indices);
    writeI32(indices.ptr, Int32Array.from({ length: trainRows }, (_, i) => i));
    const batchLosses = new WasmBlock(batches * 8);
    owned.push(batchLosses);

    net.fitting = true;
    try {
      return await trainEpochs();
    } finally {
      net.fitting = false;
      net.setHeldBatch(0);
    }

    async function trainEpochs(): Promise<History> {
      const history: History = { epochs: [], loss: [], valLoss: [], valAccuracy: [], stopReason: 'completed', bestEpoch: 0 };
      const early = options.earlyStopping;
      let best = Infinity, wait = 0;
      let bestWeights: Float32Array[] | null = null;
      for (let epoch = 1; epoch <= epochs; epoch++) {
        if (signal?.aborted) { history.stopReason = 'aborted'; break; }
        const started = performance.now();
        if (shuffle) generator.shuffleI32(indices.ptr, trainRows);
        const epochLoss = runEpoch(epoch);
        if (epochLoss === null) { history.stopReason = 'aborted'; break; }
        const info: EpochInfo = { epoch, loss: epochLoss, seconds: 0 };
        if (valData) {
          const v = evaluateRows(net, loss, valData, valStart, valRows, Math.max(batchSize, 256));
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
        if (early && wait >= early.patience) { history.stopReason = 'earlyStopping'; break; }
        if (epoch < epochs) await yieldToEventLoop();
      }
      if (bestWeights) net.parameters().forEach((p, k) => p.data.set(bestWeights![k]));
      return history;
    }

    /** One epoch; returns its loss, or null when the signal stopped it between batches. */
    function runEpoch(epoch: number): number | null {
      const core = getCore();
      const optimizerPtr = optimizer.readyBlock();
      const buffers = net.batchBuffers(Math.min(batchSize, trainRows));
      const run = (first: number, count: number, lossSlot: number) => core.networkTrainEpoch(
        buffers.plan, net.layers.length, data.inputRow(net, 0), net.inFeatures * 4, data.targetRow(0), data.rowBytes,
        indices.ptr + first * 4, count, batchSize, data.kernel, loss.reductionCode, loss.smoothing,
        buffers.target, optimizerPtr, batchLosses.ptr + lossSlot * 8,
      );
      const losses = () => new Float64Array(core.memory.buffer, batchLosses.ptr, batches);
      if (!options.onBatchEnd) {
        const status = run(0, trainRows, 0);
        throwForStatus(status, loss, net.outFeatures, ` in epoch ${epoch}, batch ${readResult().batch + 1}`);
      } else {
        for (let b = 0; b < batches; b++) {
          const first = b * batchSize, size = Math.min(batchSize, trainRows - first);
          throwForStatus(run(first, size, b), loss, net.outFeatures, ` in epoch ${epoch}, batch ${b + 1}`);
          options.onBatchEnd({ epoch, batch: b + 1, loss: losses()[b], size });
          if (signal?.aborted) return null;
        }
      }
      const values = losses();
      let total = 0;
      for (let b = 0; b < batches; b++) {
        const size = Math.min(batchSize, trainRows - b * batchSize);
        total += loss.reduction === 'mean' ? values[b] * size : values[b];
      }
      return loss.reduction === 'mean' ? total / trainRows : total;
    }
  } finally {
    for (const block of owned.reverse()) block.free();
  }
}
