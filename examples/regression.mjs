// The seed experiment: fit make_regression-like data with a linear network and with a ReLU network,
// 50 steps of SGD (lr 0.01) on the MSE, printing the loss per step and drawing both fits.
import { mkdirSync, writeFileSync } from 'node:fs';
import { init, Network, Linear, Relu, MSELoss, SGD } from 'backprop-wasm';
import { regressionSvg } from './plot.mjs';
import { makeRegressionLikeSklearn } from './sklearn-regression.mjs';

await init();
// sklearn.datasets.make_regression(100, n_features=1, noise=10, random_state=3), number for number
const { x, y } = makeRegressionLikeSklearn({ samples: 100, noise: 10, randomState: 3 });

function train(name, layers) {
  const net = new Network(layers, { seed: 3 });
  const loss = new MSELoss();
  const optimizer = new SGD(net.parameters(), { lr: 0.01 });
  const losses = [];
  for (let step = 0; step < 50; step++) losses.push(net.trainStep(x, y, loss, optimizer));
  console.log(`\n${name}\n${net}`);
  losses.forEach((l, step) => console.log(`step ${String(step + 1).padStart(2)}  loss ${l.toFixed(3)}`));
  return { name, net, losses };
}

const runs = [
  train('Linear(1,10) → Linear(10,1)', [new Linear(1, 10), new Linear(10, 1)]),
  train('Linear(1,10) → ReLU → Linear(10,1)', [new Linear(1, 10), new Relu(), new Linear(10, 1)]),
];

const xs = Array.from(x);
const lo = Math.min(...xs),
  hi = Math.max(...xs);
const grid = Float32Array.from({ length: 200 }, (_, i) => lo + ((hi - lo) * i) / 199);
const curves = runs.map(({ name, net }) => ({ name, x: grid, y: net.forward(grid) }));

mkdirSync('demo-output', { recursive: true });
writeFileSync('demo-output/regression.svg', regressionSvg({ x, y }, curves));
console.log('\nsummary');
for (const { name, losses } of runs) {
  console.log(`  ${name}: loss ${losses[0].toFixed(3)} → ${losses.at(-1).toFixed(3)}`);
}
console.log('wrote demo-output/regression.svg');
for (const { net } of runs) net.dispose();
