// Checks shared by every training entry point, and the errors that the core's statuses stand for.
import { BackpropError, describeValue } from './errors.js';
import { type LossKernel, lossPredictionRange, readResult, statusName } from './kernel.js';
import { Loss } from './losses.js';
import { Optimizer } from './optimizers.js';
import { workerFailed } from './threads.js';

export function checkLossAndOptimizer(loss: unknown, optimizer: unknown): void {
  checkLoss(loss, 'e.g. new MSELoss()');
  if (!(optimizer instanceof Optimizer)) {
    throw new BackpropError(
      'BAD_TYPE',
      `expected optimizer to be an Optimizer (e.g. new SGD(...)), got ${describeValue(optimizer)}`,
    );
  }
}

export function checkLoss(loss: unknown, example = 'e.g. new CrossEntropyLoss()'): asserts loss is Loss {
  if (!(loss instanceof Loss))
    throw new BackpropError('BAD_TYPE', `expected loss to be a Loss (${example}), got ${describeValue(loss)}`);
}

/** The error for a prediction that `loss` cannot take (BCE: outside [0, 1]) at flat index `position` of
 *  rows of `width`. `name` is 'output' for a network's outputs, 'pred' for loss.forward's; `where` adds
 *  context such as the epoch and batch. */
export function lossRejects(
  loss: Loss,
  kernel: LossKernel,
  position: number,
  width: number,
  where: string,
  name: 'output' | 'pred',
  value?: number,
): BackpropError {
  const [low, high] = lossPredictionRange(kernel) ?? [-Infinity, Infinity];
  const at =
    width === 1 && name === 'pred' ? `pred[${position}]` : `${name}[${Math.floor(position / width)}][${position % width}]`;
  const what = name === 'output' ? "the network's outputs" : 'pred values';
  const got = value === undefined ? 'a value outside' : describeValue(value);
  const hint = loss.kind.predictionHint ? ` (${loss.kind.predictionHint})` : '';
  return new BackpropError(
    'OUT_OF_RANGE',
    `${loss.kind.type} expects ${what} in [${low}, ${high}]${where}, got ${got} at ${at}${hint}`,
  );
}

/** Turns a training status into the error it stands for (`where` names the epoch and batch in fit). */
export function throwForStatus(
  code: number,
  loss: Loss,
  kernel: LossKernel,
  width: number,
  where: string,
  outputs?: () => Float32Array,
): void {
  const status = statusName(code);
  if (status === 'ok') return;
  const result = readResult();
  const kept = 'the step was not taken: parameters and optimizer state are as they were before it';
  switch (status) {
    case 'invalidPrediction':
      throw lossRejects(loss, kernel, result.where, width, where, 'output', outputs?.()[result.where]);
    case 'nonFiniteLoss':
      throw new BackpropError('NON_FINITE', `the loss became ${result.loss}${where}; ${kept}. Try a lower learning rate.`);
    case 'nonFiniteGradient':
      throw new BackpropError(
        'NON_FINITE',
        `a gradient of layers[${result.where}] became NaN or Infinity${where}; ${kept}. Try a lower learning rate.`,
      );
    case 'workerFailed':
      throw workerFailed(where);
  }
}
