// The MNIST recipe shared by `npm run example:mnist` and the test suite: 784 → 256 ReLU → Dropout(0.2) → 10,
// trained from a generator of batches — each digit shifted by up to 2 pixels at random, a new draw every
// epoch (data augmentation: a stream, not an array) — with cross-entropy and label smoothing 0.1, SGD with
// momentum and a one-cycle learning-rate schedule (stepped after every batch), batches of 64; standardised
// pixels. It also reports WASM memory at the end of each epoch: training from a stream keeps it flat.
import { init, memoryStats, Network, Linear, ReLU, Dropout, CrossEntropyLoss, SGD, OneCycleLR } from 'backprop-wasm';
import { loadMnist, PIXELS } from './mnist-data.mjs';

const SIDE = 28;

/** The training set's pixel mean and standard deviation. */
function pixelStats(x) {
  let sum = 0,
    squares = 0;
  for (const v of x) {
    sum += v;
    squares += v * v;
  }
  const mean = sum / x.length;
  return { mean, std: Math.sqrt(squares / x.length - mean * mean) };
}

/** A deterministic stream of floats in [0, 1) (mulberry32). */
function randomStream(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One epoch of batches { x, y }: the digits in a shuffled order, each shifted by up to `shift` pixels in x and y
 *  (zeros shifted in) and standardised. The same seed gives the same batches. */
export function* augmentedBatches(x, y, { batchSize = 64, shift = 2, seed = 0, mean = 0, std = 1 } = {}) {
  const random = randomStream(seed);
  const rows = y.length;
  const order = Int32Array.from({ length: rows }, (_, i) => i);
  for (let i = rows - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (let start = 0; start < rows; start += batchSize) {
    const count = Math.min(batchSize, rows - start);
    const bx = new Float32Array(count * PIXELS),
      by = new Int32Array(count);
    for (let k = 0; k < count; k++) {
      const i = order[start + k];
      by[k] = y[i];
      const dx = Math.floor(random() * (2 * shift + 1)) - shift,
        dy = Math.floor(random() * (2 * shift + 1)) - shift;
      for (let row = 0; row < SIDE; row++) {
        for (let col = 0; col < SIDE; col++) {
          const r = row - dy,
            c = col - dx;
          const v = r >= 0 && r < SIDE && c >= 0 && c < SIDE ? x[i * PIXELS + r * SIDE + c] : 0;
          bx[k * PIXELS + row * SIDE + col] = (v - mean) / std;
        }
      }
    }
    yield { x: bx, y: by };
  }
}

export async function trainMnist({ perClass = Infinity, epochs = 20, onEpochEnd = () => {} } = {}) {
  await init();
  const data = loadMnist({ perClass });
  const { mean, std } = pixelStats(data.trainX);
  const testX = data.testX.map((v) => (v - mean) / std);
  const net = new Network([new Linear(PIXELS, 256), new ReLU(), new Dropout({ p: 0.2 }), new Linear(256, 10)], { seed: 1 });
  const loss = new CrossEntropyLoss({ labelSmoothing: 0.1 });
  const optimizer = new SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
  const stepsPerEpoch = Math.ceil(data.trainY.length / 64);
  const scheduler = new OneCycleLR(optimizer, { maxLr: 0.1, epochs, stepsPerEpoch });
  const memory = [];
  let epoch = 0;
  const batches = () => augmentedBatches(data.trainX, data.trainY, { batchSize: 64, shift: 2, seed: ++epoch, mean, std });
  const started = memoryStats();
  const history = await net.fit(batches, {
    loss,
    optimizer,
    scheduler,
    epochs,
    validation: { x: testX, y: data.testY },
    onEpochEnd: (info) => {
      memory.push(memoryStats());
      onEpochEnd({ ...info, memory: memory.at(-1) });
    },
  });
  const { accuracy } = net.evaluate(testX, data.testY, loss);
  optimizer.dispose();
  return {
    net,
    history,
    accuracy,
    memory: { started, epochs: memory },
    trainSize: data.trainY.length,
    testSize: data.testY.length,
  };
}
