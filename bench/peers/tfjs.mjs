// TensorFlow.js peers: the custom loop (tf.variableGrads inside tf.tidy, then optimizer.applyGradients)
// and tfjs-layers' model.fit, on the WASM backend (SIMD, one thread) or the CPU backend.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

const require = createRequire(import.meta.url);
setWasmPaths(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + '/');
tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);

export { tf };

export async function useBackend(name) {
  if (tf.getBackend() !== name) await tf.setBackend(name);
  await tf.ready();
}

function activation(name, z) {
  if (name === 'relu') return tf.relu(z);
  if (name === 'sigmoid') return tf.sigmoid(z);
  return z;
}

/** Variables of a dense stack (kernel [in, out], the TF layout) with a custom training step. */
export function customLoop(sizes, { hidden, output, loss, lr }) {
  const vars = sizes.slice(1).map((out, k) => {
    const bound = 1 / Math.sqrt(sizes[k]);
    return {
      w: tf.variable(tf.randomUniform([sizes[k], out], -bound, bound)),
      b: tf.variable(tf.randomUniform([out], -bound, bound)),
    };
  });
  const optimizer = tf.train.sgd(lr);
  const predict = (x) =>
    vars.reduce((h, { w, b }, k) => activation(k === vars.length - 1 ? output : hidden, tf.add(tf.matMul(h, w), b)), x);
  const lossOf = (x, y) =>
    loss === 'mse' ? tf.losses.meanSquaredError(y, predict(x)) : tf.losses.softmaxCrossEntropy(y, predict(x));
  return {
    step(x, y) {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => lossOf(x, y));
        optimizer.applyGradients(grads);
      });
    },
    dispose() {
      vars.forEach(({ w, b }) => {
        w.dispose();
        b.dispose();
      });
      optimizer.dispose();
    },
  };
}

/** A tfjs-layers Sequential model compiled with SGD. */
export function layersModel(sizes, { hidden, output, loss, lr }) {
  const model = tfl.sequential();
  sizes.slice(1).forEach((units, k) => {
    const last = k === sizes.length - 2;
    model.add(
      tfl.layers.dense({
        units,
        inputShape: k === 0 ? [sizes[0]] : undefined,
        activation: last ? (output === 'none' ? 'linear' : output) : hidden,
      }),
    );
  });
  model.compile({ optimizer: tf.train.sgd(lr), loss: loss === 'mse' ? 'meanSquaredError' : tf.losses.softmaxCrossEntropy });
  return model;
}
