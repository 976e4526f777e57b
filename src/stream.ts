// fit() over a stream of batches: data that need not fit in memory, from an (async) iterable of { x, y }
// batches. Each batch is checked and staged in the library's scratch area, then trained by the core's
// training step; the scratch area and the plan's buffers grow to the largest batch and are reused, so the
// WASM footprint stays fixed however much data flows. The same source gives the same result (with the
// same seeds): the order is the source's.
import { beginStaging, checkedBytes, getCore, readF32 } from './core.js';
import { BackpropError, describeValue } from './errors.js';
import {
  type CommonFitOptions,
  type EpochResult,
  type Evaluation,
  type History,
  type TargetInput,
  arrayValidation,
  checkCommonOptions,
  checkSchedulerRoom,
  runEpochs,
  sampleWeightRows,
  yieldToEventLoop,
  COMMON_KEYS,
} from './fit.js';
import { type MatrixInput, stageFinite, toFlatRows } from './input.js';
import { lossHasAccuracy, lossTarget, readResult, structBytes, writeStruct } from './kernel.js';
import { type Loss } from './losses.js';
import { type MetricAccumulator, metricResults, prepareMetrics } from './metrics.js';
import { type Network, networkSession } from './network.js';
import { checkBatchStatistics } from './normalization.js';
import { throwForStatus } from './status.js';

/** One batch of a stream: rows of x, their targets, and optionally a weight per row. */
export interface StreamBatch {
  x: MatrixInput;
  y: TargetInput;
  sampleWeight?: ArrayLike<number>;
}

type Batches = Iterable<StreamBatch> | AsyncIterable<StreamBatch>;

/** Where fit() gets its batches: an (async) iterable, iterated once per epoch — a generator object can be
 *  iterated only once, so for several epochs give a function that returns a fresh iterable each epoch
 *  (`() => batches()`), or an object whose [Symbol.asyncIterator]() / [Symbol.iterator]() starts over. */
export type BatchSource = Batches | (() => Batches);

export interface StreamFitOptions extends CommonFitOptions {
  /** Held-out data: { x, y } (or { X, Y }) in memory, or a batch source of its own; evaluated in eval mode after
   *  every epoch. */
  validation?: { x: MatrixInput; y: TargetInput } | { X: MatrixInput; Y: TargetInput } | BatchSource;
}

const STREAM_KEYS = [...COMMON_KEYS, 'validation'];

const isObject = (value: unknown): value is Record<string | symbol, unknown> => value !== null && typeof value === 'object';

/** Whether fit()'s first argument is a batch source rather than rows of x. */
export function isBatchSource(value: unknown): value is BatchSource {
  if (typeof value === 'function') return true;
  if (!isObject(value) || ArrayBuffer.isView(value)) return false;
  if (Array.isArray(value)) return value.length > 0 && isObject(value[0]) && !Array.isArray(value[0]) && 'x' in value[0];
  return typeof value[Symbol.asyncIterator] === 'function' || typeof value[Symbol.iterator] === 'function';
}

/** A fresh iterator over the source's batches (for one epoch). */
function iterate(source: BatchSource, what: string): AsyncIterator<StreamBatch> | Iterator<StreamBatch> {
  const batches = typeof source === 'function' ? source() : source;
  if (isObject(batches) && typeof batches[Symbol.asyncIterator] === 'function') {
    return (batches as AsyncIterable<StreamBatch>)[Symbol.asyncIterator]();
  }
  if (isObject(batches) && typeof batches[Symbol.iterator] === 'function') {
    return (batches as Iterable<StreamBatch>)[Symbol.iterator]();
  }
  throw new BackpropError(
    'BAD_TYPE',
    `expected ${what} to give an (async) iterable of { x, y } batches, got ${describeValue(batches)}`,
  );
}

/** Prefixes a BackpropError's message with where it happened (the data's own checks name x and y). */
function at<T>(where: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof BackpropError) throw new BackpropError(error.code, `${where}: ${error.message}`);
    throw error;
  }
}

/** A batch staged in scratch memory, checked: x, target, weights, the loss config for its target form. */
function stageBatch(net: Network, loss: Loss, batch: unknown, where: string) {
  if (!isObject(batch) || !('x' in batch) || !('y' in batch)) {
    throw new BackpropError('BAD_TYPE', `${where}: expected a batch { x, y }, got ${describeValue(batch)}`);
  }
  const extra = Object.keys(batch).filter((k) => k !== 'x' && k !== 'y' && k !== 'sampleWeight');
  if (extra.length)
    throw new BackpropError('BAD_OPTION', `${where}: unknown batch field "${extra[0]}"; expected x, y, sampleWeight`);
  return at(where, () => {
    const xRows = toFlatRows(batch.x, 'x', net.inFeatures);
    const rows = xRows.rows;
    const prepared = loss.prepareTarget(batch.y, rows, net.outFeatures, 'y');
    const weights = batch.sampleWeight === undefined ? null : sampleWeightRows(batch.sampleWeight, rows);
    const staging = beginStaging();
    const x = staging.floats(xRows.values.length, 'x');
    stageFinite(xRows, x, 'x', net.inFeatures);
    const target = staging.alloc(checkedBytes('y', rows, prepared.rowBytes));
    loss.stageTarget(prepared, target, net.outFeatures);
    let weightPtr = 0;
    if (weights) {
      weightPtr = staging.floats(rows, 'sampleWeight');
      new Float32Array(getCore().memory.buffer, weightPtr, rows).set(weights);
    }
    const lossConfig = loss.stageConfig(prepared.kernel, (bytes) => staging.alloc(bytes));
    const step = staging.alloc(Math.max(structBytes('StepConfig'), structBytes('EvalConfig')));
    return { rows, x, target, weights: weightPtr, lossConfig, kernel: prepared.kernel, targetRowBytes: prepared.rowBytes, step };
  });
}

/** Feeds a batch's predictions (the plan's output) and targets to the metrics. */
function addToMetrics(metrics: MetricAccumulator[], staged: ReturnType<typeof stageBatch>, output: number, width: number): void {
  if (!metrics.length) return;
  const core = getCore();
  core.lossCountCorrect(staged.lossConfig, output, staged.target, staged.rows, width);
  const { correct, judged } = readResult();
  const pred = readF32(output, staged.rows * width);
  const target =
    lossTarget(staged.kernel) === 'classes'
      ? new Int32Array(core.memory.buffer, staged.target, staged.rows).slice()
      : readF32(staged.target, (staged.rows * staged.targetRowBytes) / 4);
  for (const m of metrics) m.add({ pred, target, rows: staged.rows, width, correct, judged });
}

const YIELD_EVERY_MS = 10;

export async function fitStream(net: Network, source: BatchSource, options: StreamFitOptions): Promise<History> {
  networkSession(net, 'fit()', 'write');
  const { epochs } = checkCommonOptions(options, STREAM_KEYS, 'fit');
  const { loss, optimizer, scheduler, signal } = options;
  optimizer.readyBlock();
  const width = net.outFeatures;
  // the metrics are checked against the first batch's target form; a different form later is refused there
  let makeMetrics: (() => MetricAccumulator[]) | null = null;
  let validation: { validate: () => Evaluation; free(): void } | null = null;
  const validationOption = options.validation;
  if (validationOption !== undefined && !isBatchSource(validationOption)) {
    validation = arrayValidation(net, loss, validationOption, options.metrics);
  }
  const release = net.holdForTraining('fit()');
  try {
    const validate = validation
      ? validation.validate
      : validationOption !== undefined
        ? () => evaluateSource(net, loss, validationOption as BatchSource, options)
        : null;
    return await runEpochs(net, options, epochs, trainEpoch, validate);
  } finally {
    release();
    validation?.free();
  }

  async function trainEpoch(epoch: number): Promise<EpochResult> {
    const iterator = iterate(source, 'the batch source');
    let sum = 0,
      count = 0,
      index = 0;
    let metrics: MetricAccumulator[] = [];
    let lastYield = performance.now();
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      index++;
      const where = `epoch ${epoch}, batch ${index}`;
      const staged = stageBatch(net, loss, next.value, where);
      if (index === 1) {
        makeMetrics ??= at(where, () => prepareMetrics(options.metrics, { kernel: staged.kernel, width }, 'fit'));
        metrics = makeMetrics();
      }
      at(where, () => checkBatchStatistics(net.layers, staged.rows, true));
      if (scheduler?.interval === 'batch') at(where, () => checkSchedulerRoom(scheduler, 1));
      const session = networkSession(net, 'fit()', 'read');
      const plan = session.buffers(staged.rows);
      writeStruct('StepConfig', staged.step, {
        plan: plan.ptr,
        loss: staged.lossConfig,
        optimizer: optimizer.readyBlock(),
        target: staged.target,
        batch: staged.rows,
        update: true,
        inputGrad: false,
        sampleWeights: staged.weights,
      });
      const core = getCore();
      core.copyF32(plan.input, staged.x, staged.rows * net.inFeatures);
      const status = core.networkTrainStep(staged.step);
      session.hold(0);
      throwForStatus(status, loss, staged.kernel, width, ` in ${where}`, () => readF32(plan.output, staged.rows * width));
      const result = readResult();
      sum += result.lossSum;
      count += result.lossCount;
      addToMetrics(metrics, staged, plan.output, width);
      if (scheduler?.interval === 'batch') scheduler.step();
      options.onBatchEnd?.({ epoch, batch: index, loss: result.loss, size: staged.rows });
      if (signal?.aborted) return null;
      if (performance.now() - lastYield >= YIELD_EVERY_MS) {
        await yieldToEventLoop();
        lastYield = performance.now();
      }
    }
    if (index === 0) {
      throw new BackpropError(
        'BAD_STATE',
        `the batch source gave no batches in epoch ${epoch}` +
          (epoch > 1
            ? ': a generator can be iterated only once; for several epochs pass a function that returns a new one (() => batches())'
            : ''),
      );
    }
    const epochLoss = loss.reduction === 'mean' ? sum / count : sum;
    return metrics.length ? { loss: epochLoss, metrics: metricResults(metrics) } : { loss: epochLoss };
  }
}

/** The loss (accuracy, metrics) over a validation source, in eval mode, a batch at a time. */
async function evaluateSource(net: Network, loss: Loss, source: BatchSource, options: StreamFitOptions): Promise<Evaluation> {
  const plan = networkSession(net, 'fit()', 'read').plan;
  const mode = plan.training;
  plan.setTraining(false);
  try {
    return await evaluateBatches(net, loss, source, options);
  } finally {
    plan.setTraining(mode);
  }
}

async function evaluateBatches(net: Network, loss: Loss, source: BatchSource, options: StreamFitOptions): Promise<Evaluation> {
  const iterator = iterate(source, 'the validation source');
  const width = net.outFeatures;
  let sum = 0,
    count = 0,
    correct = 0,
    judged = 0,
    index = 0,
    hasAccuracy = false;
  let metrics: MetricAccumulator[] = [];
  for (;;) {
    const next = await iterator.next();
    if (next.done) break;
    index++;
    const where = `validation batch ${index}`;
    const staged = stageBatch(net, loss, next.value, where);
    if (index === 1) metrics = at(where, () => prepareMetrics(options.metrics, { kernel: staged.kernel, width }, 'fit')());
    at(where, () => checkBatchStatistics(net.layers, staged.rows, false));
    const session = networkSession(net, 'fit()', 'read');
    const buffers = session.buffers(staged.rows);
    writeStruct('EvalConfig', staged.step, {
      plan: buffers.ptr,
      loss: staged.lossConfig,
      inputs: staged.x,
      inputRowBytes: net.inFeatures * 4,
      targets: staged.target,
      targetRowBytes: staged.targetRowBytes,
      count: staged.rows,
      batchSize: staged.rows,
      predictions: 0,
    });
    const status = getCore().networkEvaluate(staged.step);
    session.hold(0);
    throwForStatus(status, loss, staged.kernel, width, ` in ${where}`);
    const result = readResult();
    sum += result.lossSum;
    count += result.lossCount;
    correct += result.correct;
    judged += result.judged;
    hasAccuracy = lossHasAccuracy(staged.kernel);
    addToMetrics(metrics, staged, buffers.output, width);
  }
  if (index === 0) throw new BackpropError('BAD_STATE', 'the validation source gave no batches');
  const evaluation: Evaluation = { loss: loss.reduction === 'mean' ? sum / count : sum };
  if (hasAccuracy) evaluation.accuracy = correct / judged;
  if (metrics.length) evaluation.metrics = metricResults(metrics);
  return evaluation;
}
