// npm run bench: every workload for every peer, interleaved, repeated; then the GEMM kernels against the
// machine's WASM-SIMD peak. Writes bench/results/latest.json and latest.md, and the README's table.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import b from 'benny';
import { WORKLOADS } from './workloads.mjs';
import { tf, useBackend } from './peers/tfjs.mjs';

const REPS = Number(process.env.BENCH_REPS ?? 3);
const QUICK = process.env.BENCH_QUICK === '1';
const ONLY = process.env.BENCH_ONLY?.split(',');
const microOptions = QUICK ? { minSamples: 3, maxTime: 0.3 } : { minSamples: 5, maxTime: 1 };

const median = (v) => {
  const s = [...v].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Steps (or samples) per second of one peer, measured once. */
async function measure(workload, setup) {
  const peer = await setup();
  try {
    if (workload.kind === 'micro' && !peer.async) {
      let ops = 0;
      await b.suite(
        'case',
        b.add('run', peer.run, microOptions),
        b.complete((s) => {
          ops = s.results[0].ops;
        }),
      );
      return ops * peer.samplesPerRun;
    }
    await peer.run(); // warm-up epoch
    // W2/W3: 3 epochs after the warm-up; an async micro case (fit) repeats its epochs for at least 0.5 s
    const minEpochs = QUICK ? 1 : 3,
      minSeconds = workload.kind === 'micro' ? 0.5 : 0;
    const started = performance.now();
    let epochs = 0;
    while (epochs < minEpochs || (performance.now() - started) / 1000 < minSeconds) {
      await peer.run();
      epochs++;
    }
    return (peer.samplesPerRun * epochs) / ((performance.now() - started) / 1000);
  } finally {
    peer.dispose?.();
  }
}

const toUnit = (workload, rate) => (workload.unit === 'µs/step' ? 1e6 / rate : rate);

async function runWorkloads() {
  const results = {};
  const selected = WORKLOADS.filter((w) => !ONLY || ONLY.includes(w.id));
  for (const w of selected) results[w.id] = { name: w.name, unit: w.unit, higherIsBetter: w.higherIsBetter, peers: {} };
  for (let rep = 0; rep < REPS; rep++) {
    for (const w of selected) {
      const peers = w.peers();
      // rotate the order each repetition so no peer always runs first (or after the same neighbour)
      const order = peers.map((_, i) => peers[(i + rep) % peers.length]);
      for (const [name, setup] of order) {
        const value = toUnit(w, await measure(w, setup));
        (results[w.id].peers[name] ??= { values: [] }).values.push(value);
        console.log(
          `rep ${rep + 1}/${REPS}  ${w.id}  ${name.padEnd(44)} ${value.toFixed(w.unit === 'µs/step' ? 1 : 0)} ${w.unit}`,
        );
      }
    }
  }
  for (const w of Object.values(results)) {
    for (const p of Object.values(w.peers))
      Object.assign(p, { median: median(p.values), min: Math.min(...p.values), max: Math.max(...p.values) });
  }
  return results;
}

// ---- GEMM kernels ----

async function runGemm() {
  const { instance } = await WebAssembly.instantiate(readFileSync(new URL('../build/backprop.wasm', import.meta.url)), {});
  const core = instance.exports;
  const peak = (await WebAssembly.instantiate(readFileSync(new URL('../build/peak.wasm', import.meta.url)), {})).instance.exports;
  const shapes = [
    [64, 784, 128],
    [128, 512, 256],
    [256, 256, 256],
  ]; // batch M × in K × out N
  const rows = [];
  const peakValues = [];
  await useBackend('wasm');
  for (let rep = 0; rep < REPS; rep++) {
    // the peak is what the machine can do: the best of three ~0.1 s trials, so a disturbed trial does not lower it
    const iterations = 40_000_000;
    peak.peakMulAdd(100_000, 0.999);
    let best = 0;
    for (let trial = 0; trial < 3; trial++) {
      const started = performance.now();
      peak.peakMulAdd(iterations, 0.999);
      best = Math.max(best, (iterations * 64) / ((performance.now() - started) / 1000) / 1e9);
    }
    peakValues.push(best);
    for (const [m, k, n] of shapes) {
      const x = core.alloc(m * k * 4),
        w = core.alloc(n * k * 4),
        z = core.alloc(m * n * 4),
        gx = core.alloc(m * k * 4),
        gw = core.alloc(n * k * 4),
        bias = core.alloc(n * 4);
      const heap = new Float32Array(core.memory.buffer);
      for (let i = 0; i < m * k; i++) heap[x / 4 + i] = Math.sin(i);
      for (let i = 0; i < n * k; i++) heap[w / 4 + i] = Math.cos(i);
      for (let i = 0; i < m * n; i++) heap[z / 4 + i] = Math.sin(3 * i);
      const tx = tf.tensor2d(heap.slice(x / 4, x / 4 + m * k), [m, k]),
        tw = tf.tensor2d(heap.slice(w / 4, w / 4 + n * k), [n, k]);
      const tz = tf.tensor2d(heap.slice(z / 4, z / 4 + m * n), [m, n]);
      const kernels = [
        ['backprop-wasm forward X·Wᵀ', () => core.linearForward(x, w, bias, z, m, k, n)],
        ['backprop-wasm dX = dZ·W', () => core.linearBackwardInput(z, w, gx, m, k, n)],
        ['backprop-wasm dW += dZᵀ·X', () => core.linearBackwardParams(z, x, gw, 0, m, k, n)],
        [
          'tfjs-wasm matMul X·Wᵀ',
          () =>
            tf.tidy(() => {
              tf.matMul(tx, tw, false, true);
            }),
        ],
        [
          'tfjs-wasm matMul dZ·W',
          () =>
            tf.tidy(() => {
              tf.matMul(tz, tw);
            }),
        ],
        [
          'tfjs-wasm matMul dZᵀ·X',
          () =>
            tf.tidy(() => {
              tf.matMul(tz, tx, true, false);
            }),
        ],
      ];
      for (const [name, fn] of kernels) {
        let ops = 0;
        await b.suite(
          'gemm',
          b.add(name, fn, microOptions),
          b.complete((s) => {
            ops = s.results[0].ops;
          }),
        );
        const key = `${m}×${k}×${n}`;
        let row = rows.find((r) => r.shape === key && r.kernel === name);
        if (!row) rows.push((row = { shape: key, kernel: name, values: [] }));
        row.values.push((2 * m * k * n * ops) / 1e9);
        console.log(`rep ${rep + 1}/${REPS}  GEMM ${key} ${name.padEnd(30)} ${row.values.at(-1).toFixed(2)} GFLOP/s`);
      }
      [tx, tw, tz].forEach((t) => t.dispose());
      [x, w, z, gx, gw, bias].forEach((p) => core.free(p));
    }
  }
  for (const r of rows) Object.assign(r, { median: median(r.values), min: Math.min(...r.values), max: Math.max(...r.values) });
  return {
    peak: { values: peakValues, median: median(peakValues), min: Math.min(...peakValues), max: Math.max(...peakValues) },
    kernels: rows,
  };
}

// ---- report ----

const fmt = (v) => (v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(v >= 10 ? 1 : 2));

function markdown(report) {
  const lines = [
    `Measured ${report.date} on ${report.cpu} (${report.node}), ${report.reps} interleaved repetitions; median (min–max).`,
    '',
  ];
  for (const [id, w] of Object.entries(report.workloads)) {
    const ours = Object.entries(w.peers).filter(([n]) => n.startsWith('backprop-wasm'));
    const best = ours.reduce((a, c) => ((w.higherIsBetter ? c[1].median > a[1].median : c[1].median < a[1].median) ? c : a));
    lines.push(`**${id} ${w.name}** (${w.unit}, ${w.higherIsBetter ? 'higher' : 'lower'} is better)`, '');
    lines.push(`| library | median | min–max | ${best[0]} is … faster |`, '|---|---:|---:|---:|');
    for (const [name, p] of Object.entries(w.peers)) {
      const ratio = w.higherIsBetter ? best[1].median / p.median : p.median / best[1].median;
      lines.push(
        `| ${name} | ${fmt(p.median)} | ${fmt(p.min)}–${fmt(p.max)} | ${name === best[0] ? '—' : `${ratio.toFixed(1)}×`} |`,
      );
    }
    lines.push('');
  }
  if (report.gemm) {
    const peak = report.gemm.peak;
    lines.push(
      `**GEMM kernels** (GFLOP/s; WASM-SIMD peak measured in the same run by a register-only f32x4 multiply-add loop: ${fmt(peak.median)} (${fmt(peak.min)}–${fmt(peak.max)}))`,
      '',
    );
    lines.push('| M×K×N (batch × in × out) | kernel | median | min–max | % of peak |', '|---|---|---:|---:|---:|');
    for (const r of report.gemm.kernels)
      lines.push(
        `| ${r.shape} | ${r.kernel} | ${fmt(r.median)} | ${fmt(r.min)}–${fmt(r.max)} | ${Math.round((100 * r.median) / peak.median)}% |`,
      );
    lines.push('');
  }
  return lines.join('\n');
}

const report = {
  date: new Date().toISOString().slice(0, 10),
  node: process.version,
  cpu: `${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores)`,
  reps: REPS,
  quick: QUICK,
  workloads: await runWorkloads(),
};
if (!ONLY || ONLY.includes('GEMM')) report.gemm = await runGemm();
const table = markdown(report);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
const suffix = QUICK || ONLY ? '-partial' : '';
writeFileSync(new URL(`./results/latest${suffix}.json`, import.meta.url), JSON.stringify(report, null, 2) + '\n');
writeFileSync(new URL(`./results/latest${suffix}.md`, import.meta.url), table + '\n');
if (!suffix) {
  const readmeUrl = new URL('../README.md', import.meta.url);
  const readme = readFileSync(readmeUrl, 'utf8');
  const updated = readme.replace(
    /<!-- bench:start -->[\s\S]*<!-- bench:end -->/,
    `<!-- bench:start -->\n${table}\n<!-- bench:end -->`,
  );
  writeFileSync(readmeUrl, updated);
}
console.log('\n' + table);
