// The bit-identity suite of the thread pool: training, fitting, predicting and back-propagating networks whose
// products the pool splits (wide layers, widths not multiples of 8, every element-wise and row-wise
// activation, K < 4, long K, norms, Dropout), returning a fingerprint of every float each produced. The same
// suite runs on the plain single-thread core (the reference), on the threads core with several thread counts
// and chunkings (Node), and in Chromium; any difference in any bit changes a fingerprint.
// `lib` is the library's namespace (src in vitest, dist in child processes and the browser).

/** FNV-1a over the bytes of every array, in order: a 32-bit fingerprint and the byte count. */
export function fingerprint(arrays) {
  let hash = 0x811c9dc5,
    bytes = 0;
  for (const array of arrays) {
    const view = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    for (let i = 0; i < view.length; i++) hash = Math.imul(hash ^ view[i], 0x01000193) >>> 0;
    bytes += view.length;
  }
  return `${hash.toString(16).padStart(8, '0')}/${bytes}`;
}

function data(count, seed) {
  let s = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

const labels = (count, classes, seed) => Int32Array.from(data(count, seed), (v) => Math.floor(((v + 1) / 2) * classes) % classes);

/** The networks: [name, layers(lib), loss(lib), target kind]. */
function cases(lib) {
  const activations = [
    ['ReLU', () => new lib.ReLU()],
    ['LeakyReLU', () => new lib.LeakyReLU({ negativeSlope: 0.03 })],
    ['Sigmoid', () => new lib.Sigmoid()],
    ['Tanh', () => new lib.Tanh()],
    ['GELU', () => new lib.GELU()],
    ['GELU-tanh', () => new lib.GELU({ approximate: 'tanh' })],
    ['SiLU', () => new lib.SiLU()],
    ['ELU', () => new lib.ELU()],
    ['Softplus', () => new lib.Softplus()],
    ['Hardtanh', () => new lib.Hardtanh()],
    ['Identity', () => new lib.Identity()],
    ['Softmax', () => new lib.Softmax()],
    ['LogSoftmax', () => new lib.LogSoftmax()],
  ];
  return [
    {
      name: 'wide 300→517 ReLU→259 Sigmoid→10, cross-entropy',
      inF: 300,
      layers: () => [
        new lib.Linear(300, 517),
        new lib.ReLU(),
        new lib.Linear(517, 259),
        new lib.Sigmoid(),
        new lib.Linear(259, 10),
      ],
      loss: () => new lib.CrossEntropyLoss(),
      classes: 10,
    },
    {
      name: 'long K: 40→600 Tanh→600 ReLU→3, MSE',
      inF: 40,
      layers: () => [new lib.Linear(40, 600), new lib.Tanh(), new lib.Linear(600, 600), new lib.ReLU(), new lib.Linear(600, 3)],
      loss: () => new lib.MSELoss(),
      width: 3,
    },
    {
      name: 'K < 4: 2→700 ReLU→1, MSE',
      inF: 2,
      layers: () => [new lib.Linear(2, 700), new lib.ReLU(), new lib.Linear(700, 1)],
      loss: () => new lib.MSELoss(),
      width: 1,
    },
    {
      name: 'norms and dropout: 64→333 LayerNorm ReLU Dropout→130 BatchNorm1d Tanh→5',
      inF: 64,
      layers: () => [
        new lib.Linear(64, 333),
        new lib.LayerNorm(333),
        new lib.ReLU(),
        new lib.Dropout({ p: 0.2 }),
        new lib.Linear(333, 130),
        new lib.BatchNorm1d(130),
        new lib.Tanh(),
        new lib.Linear(130, 5),
      ],
      loss: () => new lib.CrossEntropyLoss(),
      classes: 5,
    },
    ...activations.map(([name, make]) => ({
      name: `${name}: 37→203 ${name}→45 ${name}→6`,
      inF: 37,
      layers: () => [new lib.Linear(37, 203), make(), new lib.Linear(203, 45), make(), new lib.Linear(45, 6)],
      loss: () => new lib.MSELoss(),
      width: 6,
    })),
  ];
}

/** Runs every case; returns { [case name]: fingerprint } and the pool's info. */
export async function runSuite(lib) {
  const out = {};
  for (const c of cases(lib)) {
    const rows = 150;
    const x = data(rows * c.inF, 7);
    const y = c.classes ? labels(rows, c.classes, 8) : data(rows * c.width, 9);
    const width = c.classes ?? c.width;
    const slice = (from, to) => [
      x.subarray(from * c.inF, to * c.inF),
      c.classes ? y.subarray(from, to) : y.subarray(from * width, to * width),
    ];
    const net = new lib.Network(c.layers(), { seed: 11 });
    const optimizer = new lib.Adam(net.parameters(), { lr: 1e-4 });
    const sgd = new lib.SGD(net.parameters(), { lr: 1e-3, momentum: 0.5, nesterov: true });
    const loss = c.loss();
    const produced = [];
    try {
      // trainStep on batches of several sizes (odd, below 8, large), then fit with shuffling
      for (const [from, to] of [
        [0, 67],
        [67, 134],
        [134, 139],
        [139, 150],
      ]) {
        const [bx, by] = slice(from, to);
        produced.push(Float64Array.of(net.trainStep(bx, by, loss, optimizer)));
      }
      const history = await net.fit(x, y, { loss, optimizer: sgd, batchSize: 64, epochs: 2, shuffle: true, seed: 5 });
      produced.push(Float64Array.from(history.epochs.map((e) => e.loss)));
      produced.push(net.predict(x, { batchSize: 97 }));
      // forward and backward (input gradient: dX of the first layer too)
      net.zeroGrad();
      net.train();
      const out = net.forward(x.subarray(0, 120 * c.inF));
      produced.push(out, net.backward(data(out.length, 10)));
      for (const p of net.parameters()) produced.push(p.data, p.grad);
    } finally {
      optimizer.dispose();
      sgd.dispose();
      net.dispose();
    }
    out[c.name] = fingerprint(produced);
  }
  return { results: out, info: lib.threadsInfo() };
}
