// Real data: the MNIST example's recipe (run against the built package) on a 2,000-digit subset
// (1,600 train, 400 held out), from its generator of augmented batches: it learns, and WASM memory stays flat
// from epoch to epoch.
import { expect, it } from 'vitest';
// @ts-expect-error: a plain JS module of the examples
import { trainMnist } from '../examples/mnist-recipe.mjs';

it('784 → 256 ReLU → Dropout → 10 from a stream of batches reaches ≥ 90% on held-out digits in flat memory', async () => {
  const { net, history, accuracy, memory, trainSize, testSize } = await trainMnist({ perClass: 200, epochs: 12 });
  expect([trainSize, testSize]).toEqual([1600, 400]);
  expect(accuracy).toBeGreaterThanOrEqual(0.9);
  expect(history.loss.at(-1)).toBeLessThan(history.loss[0]);
  for (const stats of memory.epochs.slice(1)) expect(stats).toEqual(memory.epochs[0]);
  net.dispose();
});
