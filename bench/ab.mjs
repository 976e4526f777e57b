// Interleaved A/B of two builds of backprop-wasm on W1–W4, in one process, alternating the order per trial.
// Usage: node bench/ab.mjs <dir of build A> <dir of build B>  (each dir holds a built dist/; ONLY=W1,W4step; TRIALS=21).
// Used to check that a refactor is no slower: build an older commit in a worktree, then compare.
const [oldDir, newDir] = process.argv
  .slice(2)
  .map((d) => new URL(d.endsWith('/') ? d : d + '/', `file://${process.cwd()}/`).href);
const libs = {
  old: await import(new URL('dist/index.js', oldDir).href),
  new: await import(new URL('dist/index.js', newDir).href),
};
for (const l of Object.values(libs)) await l.init();
const TRIALS = Number(process.env.TRIALS ?? 21);

function lcg(seed) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}
function data(n, seed) {
  const r = lcg(seed);
  return Float32Array.from({ length: n }, r);
}
function labels(n, k, seed) {
  const r = lcg(seed);
  return Int32Array.from({ length: n }, () => Math.floor(((r() + 1) / 2) * k) % k);
}

const workloads = {
  W1: (L) => {
    const x = data(100, 1),
      y = data(100, 2);
    const net = new L.Network([new L.Linear(1, 10), new L.Relu(), new L.Linear(10, 1)], { seed: 1 });
    const opt = new L.SGD(net.parameters(), { lr: 0.01 }),
      loss = new L.MSELoss();
    return {
      unit: 'steps',
      per: 1,
      run: () => net.trainStep(x, y, loss, opt),
      dispose: () => {
        net.dispose();
        opt.dispose();
      },
    };
  },
  W2: (L) => {
    const x = data(4096 * 784, 3),
      y = labels(4096, 10, 4);
    const net = new L.Network([new L.Linear(784, 128), new L.Relu(), new L.Linear(128, 10)], { seed: 1 });
    const opt = new L.SGD(net.parameters(), { lr: 0.05 }),
      loss = new L.CrossEntropyLoss();
    return {
      unit: 'samples',
      per: 4096,
      async: true,
      run: () => net.fit(x, y, { loss, optimizer: opt, batchSize: 64, epochs: 1, shuffle: true }),
      dispose: () => {
        net.dispose();
        opt.dispose();
      },
    };
  },
  W3: (L) => {
    const x = data(2048 * 256, 5),
      y = labels(2048, 10, 6);
    const net = new L.Network(
      [new L.Linear(256, 512), new L.Relu(), new L.Linear(512, 512), new L.Relu(), new L.Linear(512, 10)],
      { seed: 1 },
    );
    const opt = new L.SGD(net.parameters(), { lr: 0.05 }),
      loss = new L.CrossEntropyLoss();
    return {
      unit: 'samples',
      per: 2048,
      async: true,
      run: () => net.fit(x, y, { loss, optimizer: opt, batchSize: 128, epochs: 1, shuffle: true }),
      dispose: () => {
        net.dispose();
        opt.dispose();
      },
    };
  },
  W4step: (L) => {
    const xor = [
      [0, 0, 0],
      [0, 1, 1],
      [1, 0, 1],
      [1, 1, 0],
    ].map(([a, b, t]) => [Float32Array.of(a, b), Float32Array.of(t)]);
    const net = new L.Network([new L.Linear(2, 8), new L.Sigmoid(), new L.Linear(8, 1), new L.Sigmoid()], { seed: 1 });
    const opt = new L.SGD(net.parameters(), { lr: 0.5 }),
      loss = new L.MSELoss();
    let i = 0;
    return {
      unit: 'steps',
      per: 1,
      run: () => {
        const [a, b] = xor[i++ & 3];
        net.trainStep(a, b, loss, opt);
      },
      dispose: () => {
        net.dispose();
        opt.dispose();
      },
    };
  },
  W4fit: (L) => {
    const xor = [
      [0, 0, 0],
      [0, 1, 1],
      [1, 0, 1],
      [1, 1, 0],
    ];
    const rows = 4096;
    const x = Float32Array.from({ length: rows * 2 }, (_, i) => xor[(i >> 1) % 4][i & 1]);
    const y = Float32Array.from({ length: rows }, (_, r) => xor[r % 4][2]);
    const net = new L.Network([new L.Linear(2, 8), new L.Sigmoid(), new L.Linear(8, 1), new L.Sigmoid()], { seed: 1 });
    const opt = new L.SGD(net.parameters(), { lr: 0.5 }),
      loss = new L.MSELoss();
    return {
      unit: 'steps',
      per: rows,
      async: true,
      run: () => net.fit(x, y, { loss, optimizer: opt, batchSize: 1, epochs: 1, shuffle: false }),
      dispose: () => {
        net.dispose();
        opt.dispose();
      },
    };
  },
};

async function trial(w, ms = 150) {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    if (w.async) await w.run();
    else w.run();
    n++;
    t = performance.now();
  }
  return (n * w.per) / ((t - t0) / 1000);
}
const med = (a) => {
  const s = [...a].sort((p, q) => p - q);
  return s[s.length >> 1];
};
const only = process.env.ONLY?.split(',');
for (const [name, make] of Object.entries(workloads)) {
  if (only && !only.includes(name)) continue;
  const w = { old: make(libs.old), new: make(libs.new) };
  for (const k of ['old', 'new']) for (let i = 0; i < 3; i++) await trial(w[k], 50); // warm-up
  const rates = { old: [], new: [] },
    ratios = [];
  for (let i = 0; i < TRIALS; i++) {
    const order = i & 1 ? ['new', 'old'] : ['old', 'new'];
    const r = {};
    for (const k of order) r[k] = await trial(w[k]);
    rates.old.push(r.old);
    rates.new.push(r.new);
    ratios.push(r.new / r.old);
  }
  w.old.dispose();
  w.new.dispose();
  const f = (v) => Math.round(v).toLocaleString('en-US');
  console.log(
    `${name}: old ${f(med(rates.old))} ${w.old.unit}/s, new ${f(med(rates.new))}; new÷old per pair median ${med(ratios).toFixed(2)}× (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}), ${TRIALS} interleaved pairs`,
  );
}
