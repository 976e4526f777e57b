// Trains 784 → 128 ReLU → 10 on the MNIST digits of the `mnist` package (recipe in mnist-recipe.mjs),
// printing per-epoch loss, held-out accuracy and time.
import { init } from 'backprop-wasm';
import { trainMnist } from './mnist-recipe.mjs';

await init();
const started = performance.now();
const { net, history, accuracy, trainSize, testSize } = await trainMnist({
  epochs: Number(process.env.EPOCHS ?? 15),
  onEpochEnd: ({ epoch, loss, valLoss, valAccuracy, seconds }) => {
    console.log(
      `epoch ${String(epoch).padStart(2)}  train loss ${loss.toFixed(4)}  test loss ${valLoss.toFixed(4)}  ` +
        `test accuracy ${(100 * valAccuracy).toFixed(2)}%  ${seconds.toFixed(2)} s`,
    );
  },
});
const trainSeconds = history.epochs.reduce((s, e) => s + e.seconds, 0);
console.log(`${String(net)}\ntrained on ${trainSize} digits, tested on ${testSize} held-out digits (the mnist package's 10,000)`);
console.log(
  `test accuracy ${(100 * accuracy).toFixed(2)}% after ${history.epochs.length} epochs; ` +
    `${trainSeconds.toFixed(1)} s of training (${Math.round((trainSize * history.epochs.length) / trainSeconds)} samples/s ` +
    `incl. evaluation), ${((performance.now() - started) / 1000).toFixed(1)} s in all`,
);
net.dispose();
