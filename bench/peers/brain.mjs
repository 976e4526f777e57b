// brain.js's NeuralNetwork (1.x, CPU): online training, one sample at a time, with its closest settings
// (hidden activation, learning rate; its momentum stays at the default 0.1, as it refuses 0). Its output
// layer is always a sigmoid.
import { createRequire } from 'node:module';

const brain = createRequire(import.meta.url)('brain.js');

export function brainNetwork(hiddenLayers, activation, learningRate) {
  return new brain.NeuralNetwork({ hiddenLayers, activation, learningRate }); // brain.js refuses momentum 0: its default 0.1 stays
}

/** Rows of { input, output } as brain.js takes them. */
export function brainData(x, inputs, y, outputs, rows) {
  return Array.from({ length: rows }, (_, r) => ({
    input: Array.from(x.subarray(r * inputs, (r + 1) * inputs)),
    output: Array.from(y.subarray(r * outputs, (r + 1) * outputs)),
  }));
}

/** One pass over the data (each sample one update). */
export function brainEpoch(net, data, learningRate) {
  net.train(data, { iterations: 1, errorThresh: 1e-9, learningRate, log: false });
}
