// Checks shared by every training entry point, and the errors that the WASM training statuses stand for.
import { readResult } from './core.js';
import { BackpropError, describeValue } from './errors.js';
import { Loss } from './losses.js';
import { Optimizer } from './optimizers.js';

/** Status codes of networkTrainStep / networkTrainEpoch (assembly/network.ts). */
export const enum TrainStatus { Ok = 0, InvalidPrediction = 1, NonFiniteLoss = 2, NonFiniteGradient = 3 }

export function checkLossAndOptimizer(loss: unknown, optimizer: unknown): void {
  if (!(loss instanceof Loss)) {
    throw new BackpropError('BAD_TYPE', `expected loss to be a Loss (e.g. new MSELoss()), got ${describeValue(loss)}`);
  }
  if (!(optimizer instanceof Optimizer)) {
    throw new BackpropError('BAD_TYPE', `expected optimizer to be an Optimizer (e.g. new SGD(...)), got ${describeValue(optimizer)}`);
  }
}

/** The error for a network output that the loss cannot take (BCE outside [0, 1]), at flat index `position`
 *  of rows of `width`; `where` adds context such as the epoch and batch. */
export function outputOutOfRange(loss: Loss, position: number, width: number, where = ''): BackpropError {
  return new BackpropError(
    'OUT_OF_RANGE',
    `${loss.constructor.name} expects the network's outputs in [0, 1]${where}, got a value outside at ` +
      `output[${Math.floor(position / width)}][${position % width}] (end the network with Sigmoid, or use BCEWithLogitsLoss)`,
  );
}

/** Turns a training status into the error it stands for (`where` names the batch in fit). */
export function throwForStatus(status: number, loss: Loss, width: number, where: string): void {
  if (status === TrainStatus.Ok) return;
  const { where: position } = readResult();
  const kept = 'the step was not taken: parameters and optimizer state are as they were before it';
  switch (status) {
    case TrainStatus.InvalidPrediction:
      throw outputOutOfRange(loss, position, width, where);
    case TrainStatus.NonFiniteLoss:
      throw new BackpropError('NON_FINITE', `the loss became ${readResult().loss}${where}; ${kept}. Try a lower learning rate.`);
    default:
      throw new BackpropError('NON_FINITE', `a gradient of layers[${position}] became NaN or Infinity${where}; ${kept}. Try a lower learning rate.`);
  }
}
