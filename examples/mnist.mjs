// Trains 784 → 256 ReLU → Dropout → 10 on the MNIST digits of the `mnist` package from a generator of
// augmented batches (recipe in mnist-recipe.mjs), printing per-epoch loss, held-out accuracy, the learning
// rate, time and WASM memory.
import { init } from 'backprop-wasm';
import { trainMnist } from './mnist-recipe.mjs';

await init();
const started = performance.now();
const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(2)} MiB`;
const { net, history, accuracy, memory, trainSize, testSize } = await trainMnist({
  epochs: Number(process.env.EPOCHS ?? 20),
  onEpochEnd: ({ epoch, loss, valLoss, valAccuracy, lr, seconds, memory }) => {
    console.log(
      `epoch ${String(epoch).padStart(2)}  train loss ${loss.toFixed(4)}  test loss ${valLoss.toFixed(4)}  ` +
        `test accuracy ${(100 * valAccuracy).toFixed(2)}%  lr ${lr.toFixed(4)}  ${seconds.toFixed(2)} s  ` +
        `WASM ${mib(memory.wasmBytes)} (${mib(memory.liveBytes)} live in ${memory.liveObjects} blocks)`,
    );
  },
});
const trainSeconds = history.epochs.reduce((s, e) => s + e.seconds, 0);
console.log(
  `${String(net)}\ntrained on ${trainSize} digits (shifted by up to 2 pixels, a new draw each epoch), tested on ${testSize} held-out digits`,
);
const [first, last] = [memory.epochs[0], memory.epochs.at(-1)];
console.log(
  `memoryStats() before fit ${JSON.stringify(memory.started)}; after epoch 1 ${JSON.stringify(first)}; ` +
    `after epoch ${memory.epochs.length} ${JSON.stringify(last)}`,
);
console.log(
  `test accuracy ${(100 * accuracy).toFixed(2)}% after ${history.epochs.length} epochs; ` +
    `${trainSeconds.toFixed(1)} s of training (${Math.round((trainSize * history.epochs.length) / trainSeconds)} samples/s ` +
    `incl. augmentation and evaluation), ${((performance.now() - started) / 1000).toFixed(1)} s in all`,
);
net.dispose();
