// The MNIST recipe shared by `npm run example:mnist` and the test suite: standardised pixels,
// 784 → 128 ReLU → 10, cross-entropy with label smoothing 0.1, SGD with momentum 0.9 and a cosine
// learning-rate schedule from 0.05, batches of 64.
import { init, Network, Linear, Relu, CrossEntropyLoss, SGD } from 'backprop-wasm';
import { loadMnist } from './mnist-data.mjs';

/** Scales pixels by the training set's mean and standard deviation. */
function standardise(train, ...others) {
  let sum = 0,
    squares = 0;
  for (const v of train) {
    sum += v;
    squares += v * v;
  }
  const mean = sum / train.length,
    std = Math.sqrt(squares / train.length - mean * mean);
  return [train, ...others].map((x) => x.map((v) => (v - mean) / std));
}

export async function trainMnist({ perClass = Infinity, epochs = 15, onEpochEnd = () => {} } = {}) {
  await init();
  const data = loadMnist({ perClass });
  const [trainX, testX] = standardise(data.trainX, data.testX);
  const net = new Network([new Linear(784, 128), new Relu(), new Linear(128, 10)], { seed: 1 });
  const loss = new CrossEntropyLoss({ labelSmoothing: 0.1 });
  const baseLr = 0.05;
  const optimizer = new SGD(net.parameters(), { lr: baseLr, momentum: 0.9 });
  const history = await net.fit(trainX, data.trainY, {
    loss,
    optimizer,
    epochs,
    batchSize: 64,
    seed: 1,
    validation: { x: testX, y: data.testY },
    onEpochEnd: (info) => {
      optimizer.lr = baseLr * 0.5 * (1 + Math.cos((Math.PI * info.epoch) / epochs)) + 1e-5;
      onEpochEnd(info);
    },
  });
  const { accuracy } = net.evaluate(testX, data.testY, loss);
  optimizer.dispose();
  return { net, history, accuracy, trainSize: data.trainY.length, testSize: data.testY.length };
}
