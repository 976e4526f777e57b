// The four training workloads, with seeded synthetic data and the same shapes and hyper-parameters for
// every library. Each peer's setup() returns { run, samplesPerRun, dispose } where run() is one unit of
// work: a step (W1, W4 per call) or an epoch (W2, W3, and fit on W4) — or { measure } when the peer times
// itself (PyTorch, in its own process, on the same data). Then the width sweep (SWEEP).
import { init, Network, Linear, Relu, Sigmoid, MSELoss, CrossEntropyLoss, SGD, Generator } from '../dist/index.js';
import { makeRegressionLikeSklearn } from '../examples/sklearn-regression.mjs';
import { NaiveMlp } from './peers/naive.mjs';
import { TightMlp } from './peers/tight.mjs';
import { torchAvailable, torchPeer, dataFile } from './peers/torch.mjs';
import { tf, useBackend, customLoop, layersModel } from './peers/tfjs.mjs';
import { brainNetwork, brainData, brainEpoch } from './peers/brain.mjs';
import { threadsPeer, threadsPeerName } from './peers/threads.mjs';
import { spawn } from 'node:child_process';

await init();

function classification(rows, features, classes, seed) {
  const g = new Generator(seed);
  const x = g.uniform(rows * features);
  const labels = Int32Array.from({ length: rows }, () => g.below(classes));
  g.dispose();
  const oneHot = new Float32Array(rows * classes);
  labels.forEach((c, r) => {
    oneHot[r * classes + c] = 1;
  });
  return { x, labels, oneHot };
}

const CLASSIFIERS = {
  W2: { id: 'W2', sizes: [784, 128, 10], rows: 4096, batchSize: 64, lr: 0.05, seed: 2, slowRows: 1024 },
  W3: { id: 'W3', sizes: [256, 512, 512, 10], rows: 2048, batchSize: 128, lr: 0.05, seed: 3, slowRows: 512 },
};

/** A peer's setup with another process spinning on a core for as long as the peer is measured. */
function withBusyCore(setup) {
  return async () => {
    const hog = spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    try {
      const peer = await setup();
      return {
        ...peer,
        dispose: () => {
          peer.dispose?.();
          hog.kill('SIGKILL');
        },
      };
    } catch (error) {
      hog.kill('SIGKILL');
      throw error;
    }
  };
}

/** PyTorch with 1 and 2 threads on the same task and data, when /usr/bin/python3 has torch (else no rows). */
function torchPeers(task, threadCounts = [1, 2]) {
  if (!torchAvailable) return [];
  return threadCounts.map((threads) => [`PyTorch ${threads} thread${threads > 1 ? 's' : ''}`, torchPeer(threads, task)]);
}

function batches(rows, batchSize) {
  const out = [];
  for (let start = 0; start < rows; start += batchSize) out.push([start, Math.min(rows, start + batchSize)]);
  return out;
}

/** Peers for the mini-batch classification workloads (W2, W3; the width sweep keeps only ours and PyTorch). */
/** Our threads and relaxed-SIMD rows of W2 and W3: [threads, simd] per child process. */
const OUR_THREADS = [
  [2, 'plain'],
  [1, 'relaxed'],
  [2, 'relaxed'],
];

function classifierPeers({
  id,
  sizes,
  rows,
  batchSize,
  lr,
  seed,
  slowRows,
  torchThreads = [1, 2],
  ourThreads = OUR_THREADS,
  threadsGroup = '',
  others = true,
}) {
  const classes = sizes.at(-1),
    features = sizes[0];
  const data = classification(rows, features, classes, seed);
  const torchTask = {
    sizes,
    hidden: 'relu',
    output: 'none',
    loss: 'ce',
    lr,
    batch: batchSize,
    rows,
    mode: 'epoch',
    shuffle: true,
    x: dataFile(`${id}-x`, data.x),
    y: dataFile(`${id}-labels`, data.labels),
  };
  const layers = () =>
    sizes
      .slice(1)
      .flatMap((out, k) => (k < sizes.length - 2 ? [new Linear(sizes[k], out), new Relu()] : [new Linear(sizes[k], out)]));
  const slow = Math.min(rows, slowRows); // slow peers train on fewer rows per epoch; samples/s is a rate
  return [
    [
      'backprop-wasm fit',
      async () => {
        const net = new Network(layers(), { seed: 1 });
        const optimizer = new SGD(net.parameters(), { lr });
        const loss = new CrossEntropyLoss();
        return {
          samplesPerRun: rows,
          run: () => net.fit(data.x, data.labels, { loss, optimizer, batchSize, epochs: 1, shuffle: true }),
          dispose: () => {
            net.dispose();
            optimizer.dispose();
          },
        };
      },
    ],
    ...ourThreads.map(([threads, simd]) => [threadsPeerName(threads, simd), threadsPeer(threads, simd, torchTask, threadsGroup)]),
    ...torchPeers(torchTask, torchThreads),
  ].concat(
    others
      ? [
          ...['tight JS', 'naive JS'].map((name) => [
            name,
            async () => {
              const net =
                name === 'tight JS'
                  ? new TightMlp(sizes, { hidden: 'relu', output: 'none', maxBatch: batchSize })
                  : new NaiveMlp(sizes, { hidden: 'relu', output: 'none' });
              const parts = batches(slow, batchSize);
              return {
                samplesPerRun: slow,
                run: () => {
                  for (const [s, e] of parts)
                    net.trainStep(data.x.subarray(s * features, e * features), data.labels.subarray(s, e), e - s, 'ce', lr);
                },
              };
            },
          ]),
          [
            'brain.js',
            async () => {
              const net = brainNetwork(sizes.slice(1, -1), 'relu', lr);
              const rowsForBrain = Math.min(slow, 512);
              const set = brainData(data.x, features, data.oneHot, classes, rowsForBrain);
              return { samplesPerRun: rowsForBrain, run: () => brainEpoch(net, set, lr) };
            },
          ],
          ...['wasm', 'cpu'].map((backend) => [
            `tfjs-${backend} custom loop`,
            async () => {
              await useBackend(backend);
              const model = customLoop(sizes, { hidden: 'relu', output: 'none', loss: 'ce', lr });
              const count = backend === 'cpu' ? slow : rows;
              const parts = batches(count, batchSize).map(([s, e]) => [
                tf.tensor2d(data.x.subarray(s * features, e * features), [e - s, features]),
                tf.tensor2d(data.oneHot.subarray(s * classes, e * classes), [e - s, classes]),
              ]);
              return {
                samplesPerRun: count,
                run: () => {
                  for (const [x, y] of parts) model.step(x, y);
                },
                dispose: () => {
                  model.dispose();
                  parts.flat().forEach((t) => t.dispose());
                },
              };
            },
          ]),
          [
            'tfjs-wasm model.fit',
            async () => {
              await useBackend('wasm');
              const model = layersModel(sizes, { hidden: 'relu', output: 'none', loss: 'ce', lr });
              const x = tf.tensor2d(data.x, [rows, features]),
                y = tf.tensor2d(data.oneHot, [rows, classes]);
              return {
                samplesPerRun: rows,
                run: () => model.fit(x, y, { batchSize, epochs: 1, shuffle: true, verbose: 0 }),
                dispose: () => {
                  model.dispose();
                  x.dispose();
                  y.dispose();
                },
              };
            },
          ],
        ]
      : [],
  );
}

export const WORKLOADS = [
  {
    id: 'W1',
    name: 'seed-regression: X 100×1, 1 → 10 ReLU → 1, MSE, SGD lr 0.01, full batch',
    unit: 'µs/step',
    kind: 'micro',
    higherIsBetter: false,
    peers() {
      const { x, y } = makeRegressionLikeSklearn({ samples: 100, noise: 10, randomState: 3 });
      const sizes = [1, 10, 1];
      return [
        [
          'backprop-wasm trainStep',
          async () => {
            const net = new Network([new Linear(1, 10), new Relu(), new Linear(10, 1)], { seed: 3 });
            const opt = new SGD(net.parameters(), { lr: 0.01 });
            const mse = new MSELoss();
            return {
              samplesPerRun: 1,
              run: () => net.trainStep(x, y, mse, opt),
              dispose: () => {
                net.dispose();
                opt.dispose();
              },
            };
          },
        ],
        [
          'tight JS',
          async () => {
            const net = new TightMlp(sizes, { hidden: 'relu', output: 'none', maxBatch: 100 });
            return { samplesPerRun: 1, run: () => net.trainStep(x, y, 100, 'mse', 0.01) };
          },
        ],
        [
          'naive JS',
          async () => {
            const net = new NaiveMlp(sizes, { hidden: 'relu', output: 'none' });
            return { samplesPerRun: 1, run: () => net.trainStep(x, y, 100, 'mse', 0.01) };
          },
        ],
        ...torchPeers({
          sizes,
          hidden: 'relu',
          output: 'none',
          loss: 'mse',
          lr: 0.01,
          batch: 100,
          rows: 100,
          mode: 'step',
          x: dataFile('W1-x', Float32Array.from(x)),
          y: dataFile('W1-y', Float32Array.from(y)),
        }),
        [
          'brain.js (one online pass over the 100 rows)',
          async () => {
            const net = brainNetwork([10], 'relu', 0.01);
            const scale = Math.max(...y.map(Math.abs));
            const set = brainData(
              x,
              1,
              y.map((v) => 0.5 + v / (2 * scale)),
              1,
              100,
            ); // brain.js outputs a sigmoid
            return { samplesPerRun: 1, run: () => brainEpoch(net, set, 0.01) };
          },
        ],
        ...['wasm', 'cpu'].map((backend) => [
          `tfjs-${backend} custom loop`,
          async () => {
            await useBackend(backend);
            const model = customLoop(sizes, { hidden: 'relu', output: 'none', loss: 'mse', lr: 0.01 });
            const xs = tf.tensor2d(x, [100, 1]),
              ys = tf.tensor2d(y, [100, 1]);
            return {
              samplesPerRun: 1,
              run: () => model.step(xs, ys),
              dispose: () => {
                model.dispose();
                xs.dispose();
                ys.dispose();
              },
            };
          },
        ]),
      ];
    },
  },
  {
    id: 'W2',
    name: 'mnist-mlp: 4096×784, 784 → 128 ReLU → 10, softmax cross-entropy, SGD lr 0.05, batch 64',
    unit: 'samples/s',
    kind: 'epoch',
    higherIsBetter: true,
    twoCoreCeiling: true, // bench/peers/two-cores.mjs, measured at each repetition beside the thread rows
    ratios: ['tight JS', 'backprop-wasm fit', 'PyTorch 1 thread', 'PyTorch 2 threads'],
    peers: () => classifierPeers(CLASSIFIERS.W2),
  },
  {
    id: 'W3',
    name: 'wide-mlp: 2048×256, 256 → 512 ReLU → 512 ReLU → 10, cross-entropy, SGD, batch 128',
    unit: 'samples/s',
    kind: 'epoch',
    higherIsBetter: true,
    twoCoreCeiling: true, // bench/peers/two-cores.mjs, measured at each repetition beside the thread rows
    ratios: ['tight JS', 'backprop-wasm fit', 'PyTorch 1 thread', 'PyTorch 2 threads'],
    peers: () => classifierPeers(CLASSIFIERS.W3),
  },
  ...['W2', 'W3'].map((base) => ({
    id: `${base}-busy`,
    name: `${base} while another process keeps one core busy (node -e 'for(;;){}', started before each peer and stopped after it)`,
    unit: 'samples/s',
    kind: 'epoch',
    higherIsBetter: true,
    ratios: ['backprop-wasm fit', 'PyTorch 1 thread'],
    peers: () =>
      classifierPeers({ ...CLASSIFIERS[base], others: false, ourThreads: [[2, 'plain']], threadsGroup: 'busy' }).map(
        ([name, setup]) => [name, withBusyCore(setup)],
      ),
  })),
  {
    id: 'W4',
    name: 'xor-online: 2 → 8 Sigmoid → 1 Sigmoid, MSE, SGD lr 0.5, batch 1',
    unit: 'steps/s',
    kind: 'micro',
    higherIsBetter: true,
    peers() {
      const xor = [
        [0, 0, 0],
        [0, 1, 1],
        [1, 0, 1],
        [1, 1, 0],
      ];
      const rows = 4096;
      const x = Float32Array.from({ length: rows * 2 }, (_, i) => xor[(i >> 1) % 4][i & 1]);
      const y = Float32Array.from({ length: rows }, (_, r) => xor[r % 4][2]);
      const layers = () => [new Linear(2, 8), new Sigmoid(), new Linear(8, 1), new Sigmoid()];
      return [
        [
          'backprop-wasm fit (epochs inside WASM)',
          async () => {
            const net = new Network(layers(), { seed: 1 });
            const optimizer = new SGD(net.parameters(), { lr: 0.5 });
            const loss = new MSELoss();
            return {
              async: true,
              samplesPerRun: rows,
              run: () => net.fit(x, y, { loss, optimizer, batchSize: 1, epochs: 1, shuffle: false }),
              dispose: () => {
                net.dispose();
                optimizer.dispose();
              },
            };
          },
        ],
        [
          'backprop-wasm trainStep (one call per step)',
          async () => {
            const net = new Network(layers(), { seed: 1 });
            const opt = new SGD(net.parameters(), { lr: 0.5 });
            const mse = new MSELoss();
            const samples = xor.map(([a, b, t]) => [Float32Array.of(a, b), Float32Array.of(t)]);
            let i = 0;
            return {
              samplesPerRun: 1,
              run: () => {
                const [xs, ys] = samples[i++ & 3];
                net.trainStep(xs, ys, mse, opt);
              },
              dispose: () => {
                net.dispose();
                opt.dispose();
              },
            };
          },
        ],
        ...['tight JS', 'naive JS'].map((name) => [
          name,
          async () => {
            const net =
              name === 'tight JS'
                ? new TightMlp([2, 8, 1], { hidden: 'sigmoid', output: 'sigmoid' })
                : new NaiveMlp([2, 8, 1], { hidden: 'sigmoid', output: 'sigmoid' });
            const samples = xor.map(([a, b, t]) => [Float32Array.of(a, b), Float32Array.of(t)]);
            let i = 0;
            return {
              samplesPerRun: 1,
              run: () => {
                const [xs, ys] = samples[i++ & 3];
                net.trainStep(xs, ys, 1, 'mse', 0.5);
              },
            };
          },
        ]),
        ...torchPeers({
          sizes: [2, 8, 1],
          hidden: 'sigmoid',
          output: 'sigmoid',
          loss: 'mse',
          lr: 0.5,
          batch: 1,
          rows,
          mode: 'step',
          x: dataFile('W4-x', x),
          y: dataFile('W4-y', y),
        }),
        [
          'brain.js',
          async () => {
            const net = brainNetwork([8], 'sigmoid', 0.5);
            const set = xor.map(([a, b, t]) => ({ input: [a, b], output: [t] }));
            return { samplesPerRun: 4, run: () => brainEpoch(net, set, 0.5) };
          },
        ],
        ...['wasm', 'cpu'].map((backend) => [
          `tfjs-${backend} custom loop`,
          async () => {
            await useBackend(backend);
            const model = customLoop([2, 8, 1], { hidden: 'sigmoid', output: 'sigmoid', loss: 'mse', lr: 0.5 });
            const samples = xor.map(([a, b, t]) => [tf.tensor2d([[a, b]]), tf.tensor2d([[t]])]);
            let i = 0;
            return {
              samplesPerRun: 1,
              run: () => {
                const [xs, ys] = samples[i++ & 3];
                model.step(xs, ys);
              },
              dispose: () => {
                model.dispose();
                samples.flat().forEach((t) => t.dispose());
              },
            };
          },
        ]),
      ];
    },
  },
];

/** The width sweep of issue 11: 256 → h ReLU → 10, batch 64 — does a wide layer keep the efficiency of a
 *  256-wide one? Ours against PyTorch with 1 thread; bench/run.mjs also times each GEMM of its step. */
export const SWEEP_WIDTHS = [4, 16, 64, 256, 1024, 2048];
export const SWEEP_BATCH = 64;
export const SWEEP = SWEEP_WIDTHS.map((h) => ({
  id: `h${h}`,
  name: `256 → ${h} ReLU → 10, cross-entropy, SGD lr 0.05, batch ${SWEEP_BATCH}, 2048 rows`,
  h,
  unit: 'samples/s',
  kind: 'epoch',
  higherIsBetter: true,
  minSeconds: 0.25,
  peers: () =>
    classifierPeers({
      id: `sweep-h${h}`,
      sizes: [256, h, 10],
      rows: 2048,
      batchSize: SWEEP_BATCH,
      lr: 0.05,
      seed: 5,
      slowRows: 0,
      torchThreads: [1],
      ourThreads: [[2, 'plain']],
      others: false,
    }),
}));
