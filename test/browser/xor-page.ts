// A page that uses the package as an app would: trains XOR on the main thread and in a Web Worker, and
// reports to the test through window.__result.
import { init, Network, Linear, Tanh, Sigmoid, MSELoss, SGD, createTrainer, Generator, ReLU } from 'backprop-wasm';

async function run() {
  const simd = new URLSearchParams(location.search).get('simd') === 'relaxed' ? 'relaxed' : 'plain';
  await init({ simd });
  const x = [
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ],
    y = [[0], [1], [1], [0]];
  const net = new Network([new Linear(2, 8), new Tanh(), new Linear(8, 1), new Sigmoid()], { seed: 1 });
  const loss = new MSELoss();
  const opt = new SGD(net.parameters(), { lr: 0.5, momentum: 0.9 });
  let last = Infinity;
  for (let i = 0; i < 500; i++) last = net.trainStep(x, y, loss, opt);

  const workerNet = new Network([new Linear(2, 8), new Tanh(), new Linear(8, 1), new Sigmoid()], { seed: 1 });
  const trainer = createTrainer(workerNet);
  const history = await trainer.fit(x, y, {
    loss: { type: 'MSELoss' },
    optimizer: { type: 'SGD', lr: 0.5, momentum: 0.9 },
    epochs: 500,
    batchSize: 4,
    shuffle: false,
  });
  let workerError = '';
  await trainer
    .fit(x, [[NaN], [0], [0], [0]], { loss: { type: 'MSELoss' }, optimizer: { type: 'SGD', lr: 0.1 } })
    .catch((e: Error) => {
      workerError = e.message;
    });
  trainer.terminate();

  // the determinism check of the reliability suite, here in the browser
  const g = new Generator(9);
  const dx = g.normal(32 * 4),
    dy = g.normal(32);
  const dnet = new Network([new Linear(4, 16), new Tanh(), new Linear(16, 8), new ReLU(), new Linear(8, 1)], { seed: 5 });
  const dopt = new SGD(dnet.parameters(), { lr: 0.01, momentum: 0.9 });
  for (let i = 0; i < 1000; i++) dnet.trainStep(dx, dy, loss, dopt);
  const bytes = new Uint8Array(dnet.parameters().flatMap((p) => Array.from(new Uint8Array(p.data.slice().buffer))));
  const digest = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)), (b) =>
    b.toString(16).padStart(2, '0'),
  ).join('');

  return { loss: last, workerLoss: history.loss.at(-1), workerOutput: Array.from(workerNet.forward(x)), workerError, digest };
}

run().then(
  (result) => {
    (window as unknown as { __result: unknown }).__result = result;
  },
  (error) => {
    (window as unknown as { __result: unknown }).__result = { error: String(error?.stack ?? error) };
  },
);
