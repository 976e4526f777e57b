// 1,000 seeded training steps in a fresh Node process, hashed: the reference digest that the reliability
// suite compares across processes and the browser suite compares with Chromium (test/browser/xor-page.ts
// trains the same network on the same data).
import { runModule } from './node-child';
import { resolve } from 'node:path';

const script = `
  import { init, Network, Linear, Tanh, ReLU, MSELoss, SGD, Generator } from ${JSON.stringify(resolve(__dirname, '../dist/index.js'))};
  import { createHash } from 'node:crypto';
  await init();
  const g = new Generator(9);
  const x = g.normal(32 * 4), y = g.normal(32);
  const net = new Network([new Linear(4, 16), new Tanh(), new Linear(16, 8), new ReLU(), new Linear(8, 1)], { seed: 5 });
  const opt = new SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
  const loss = new MSELoss();
  for (let i = 0; i < 1000; i++) net.trainStep(x, y, loss, opt);
  const hash = createHash('sha256');
  for (const p of net.parameters()) hash.update(new Uint8Array(p.data.slice().buffer));
  console.log(hash.digest('hex'));`;

/** SHA-256 of the weights after 1,000 seeded steps, computed in a new Node process. */
export function nodeDigest(): string {
  return runModule(script);
}
