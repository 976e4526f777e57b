// npm run bench: every workload for every peer, interleaved, repeated; the width sweep (ours against PyTorch
// with 1 thread, and each GEMM of its training step against the per-core peak); then the GEMM kernels against
// the machine's WASM-SIMD peak. Writes bench/results/latest.json and latest.md, and the README's table.
// BENCH_ONLY=W1,W2,W3,W4,SWEEP,GEMM picks sections (results go to latest-partial.*); BENCH_REPS, BENCH_QUICK=1.
// Run it directly as `node --expose-gc bench/run.mjs`, as npm run bench does: it collects between peers (settle).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import b from 'benny';
import { WORKLOADS, SWEEP, SWEEP_WIDTHS, SWEEP_BATCH } from './workloads.mjs';
import { tf, useBackend } from './peers/tfjs.mjs';
import { torchAvailable, torchMissing, torchInfo, closeTorch } from './peers/torch.mjs';
import { closeThreadPeers, threadsPeerInfo } from './peers/threads.mjs';
import { twoCoreCeiling } from './peers/two-cores.mjs';

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
    if (peer.measure) return await peer.measure({ quick: QUICK, kind: workload.kind, minSeconds: workload.minSeconds });
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
      minSeconds = workload.minSeconds ?? (workload.kind === 'micro' ? 0.5 : 0);
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

/** Lets this process's own background work finish before the next peer: after a heavy JS peer (brain.js,
 *  tfjs-cpu, the JS MLPs) V8's concurrent GC and compiler threads ran on for a while on the second core and
 *  took it from the next 2-thread row. A W3 probe with those peers in the rotation, 2 threads ÷ 1 thread:
 *  1.16–1.34× without this, 1.41–2.2× with it (4 repetitions each, 2026-12-07). gc() where node runs with
 *  --expose-gc (npm run bench does). */
const SETTLE_MS = 500;
async function settle() {
  globalThis.gc?.();
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
}

async function runWorkloads(selected) {
  const results = {};
  for (const w of selected)
    results[w.id] = { name: w.name, unit: w.unit, higherIsBetter: w.higherIsBetter, ratios: w.ratios, peers: {} };
  for (let rep = 0; rep < REPS; rep++) {
    for (const w of selected) {
      if (w.twoCoreCeiling) {
        const { ratio } = await twoCoreCeiling();
        (results[w.id].ceiling ??= { values: [] }).values.push(ratio);
        console.log(`rep ${rep + 1}/${REPS}  ${w.id}  two cores' ceiling (peak loop, 2 threads ÷ 1)   ${ratio.toFixed(2)}×`);
      }
      const peers = w.peers();
      // rotate the order each repetition so no peer always runs first (or after the same neighbour)
      const order = peers.map((_, i) => peers[(i + rep) % peers.length]);
      for (const [name, setup] of order) {
        await settle();
        const value = toUnit(w, await measure(w, setup));
        (results[w.id].peers[name] ??= { values: [] }).values.push(value);
        console.log(
          `rep ${rep + 1}/${REPS}  ${w.id}  ${name.padEnd(44)} ${value.toFixed(w.unit === 'µs/step' ? 1 : 0)} ${w.unit}`,
        );
      }
    }
  }
  return results;
}

// ---- GEMM kernels ----
// Timed with pairedShare below rather than benny: the share of the peak must come from trials next to the
// kernel's own, or a neighbour's load between them makes it meaningless (it showed 150 %).

const loadWasm = async (file) =>
  (await WebAssembly.instantiate(readFileSync(new URL(`../build/${file}`, import.meta.url)), {})).instance.exports;

/** The machine's WASM-SIMD peak in GFLOP/s: the best of three ~0.1 s trials of bench/assembly/peak.ts, so a
 *  disturbed trial does not lower it. */
function measurePeak(peak) {
  const iterations = 20_000_000;
  peak.peakMulAdd(100_000, 0.999);
  let best = 0;
  for (let trial = 0; trial < 3; trial++) {
    const started = performance.now();
    peak.peakMulAdd(iterations, 0.999);
    best = Math.max(best, (iterations * peak.PEAK_FLOPS_PER_ITERATION.value) / ((performance.now() - started) / 1000) / 1e9);
  }
  return best;
}

const stats = (values) => ({ values, median: median(values), min: Math.min(...values), max: Math.max(...values) });

async function runGemm() {
  const core = await loadWasm('backprop-test.wasm');
  const peak = await loadWasm('peak.wasm');
  const shapes = [
    [64, 784, 128],
    [128, 512, 256],
    [256, 256, 256],
  ]; // batch M × in K × out N
  const rows = [];
  const peakValues = [];
  await useBackend('wasm');
  for (let rep = 0; rep < REPS; rep++) {
    peakValues.push(measurePeak(peak));
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
        ['backprop-wasm dW += dZᵀ·X', () => core.linearBackwardParams(z, x, gw, 0, m, k, n, 1)],
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
        const { gflops, share } = pairedShare(peak, fn, 2 * m * k * n);
        const key = `${m}×${k}×${n}`;
        let row = rows.find((r) => r.shape === key && r.kernel === name);
        if (!row) rows.push((row = { shape: key, kernel: name, values: [], shares: [] }));
        row.values.push(gflops);
        row.shares.push(share);
        console.log(
          `rep ${rep + 1}/${REPS}  GEMM ${key} ${name.padEnd(30)} ${gflops.toFixed(2)} GFLOP/s  ${(100 * share).toFixed(0)}% of peak`,
        );
      }
      [tx, tw, tz].forEach((t) => t.dispose());
      [x, w, z, gx, gw, bias].forEach((p) => core.free(p));
    }
  }
  for (const r of rows) Object.assign(r, stats(r.values), { share: stats(r.shares) });
  return { peak: stats(peakValues), kernels: rows };
}

/** GFLOP/s of fn (flops per call) and its share of the peak: seven ~10 ms trials of the peak loop interleaved
 *  with seven of fn, so both see the same stretch of a shared machine (other processes come and go), and the
 *  best of each — a disturbance only ever slows a trial down. */
function pairedShare(peak, fn, flops) {
  const calibrate = (run, unitFlops) => {
    let calls = 1;
    for (;;) {
      const started = performance.now();
      run(calls);
      const ms = performance.now() - started;
      if (ms >= 10) return { calls, rate: (unitFlops * calls) / (ms / 1000) / 1e9 };
      calls *= 2;
    }
  };
  const peakRun = (n) => peak.peakMulAdd(n * 10_000, 0.999);
  const peakFlops = 10_000 * peak.PEAK_FLOPS_PER_ITERATION.value;
  const fnRun = (n) => {
    for (let i = 0; i < n; i++) fn();
  };
  const peakCalls = calibrate(peakRun, peakFlops).calls,
    fnCalls = calibrate(fnRun, flops).calls;
  let bestPeak = 0,
    best = 0;
  for (let pair = 0; pair < 7; pair++) {
    let started = performance.now();
    peakRun(peakCalls);
    bestPeak = Math.max(bestPeak, (peakFlops * peakCalls) / ((performance.now() - started) / 1000) / 1e9);
    started = performance.now();
    fnRun(fnCalls);
    best = Math.max(best, (flops * fnCalls) / ((performance.now() - started) / 1000) / 1e9);
  }
  return { share: best / bestPeak, gflops: best };
}

/** The GEMMs of one training step of the sweep's network (256 → h → 10, batch 64), each as a share of the
 *  peak (the forward without its ReLU epilogue). Layer 1's dX is not needed in training (its input is the data)
 *  but is listed: it is the K = h case of dX. The kernels come from the test build, which exports them. */
const SWEEP_GEMMS = ['L1 forward', 'L1 dX', 'L1 dW', 'L2 forward', 'L2 dX', 'L2 dW'];

async function runSweepGemm() {
  const core = await loadWasm('backprop-test.wasm');
  const peak = await loadWasm('peak.wasm');
  const batch = SWEEP_BATCH;
  const cells = {}; // `${h} ${gemm}` → { gflops: [], share: [] }
  const peakValues = [];
  for (let rep = 0; rep < REPS; rep++) {
    peakValues.push(measurePeak(peak));
    for (const h of SWEEP_WIDTHS) {
      for (const [layer, inF, outF] of [
        ['L1', 256, h],
        ['L2', h, 10],
      ]) {
        const x = core.alloc(batch * inF * 4),
          w = core.alloc(outF * inF * 4),
          bias = core.alloc(outF * 4),
          z = core.alloc(batch * outF * 4);
        const gz = core.alloc(batch * outF * 4),
          gx = core.alloc(batch * inF * 4),
          gw = core.alloc(outF * inF * 4),
          gb = core.alloc(outF * 4);
        const heap = new Float32Array(core.memory.buffer);
        for (let i = 0; i < batch * inF; i++) heap[x / 4 + i] = Math.sin(i);
        for (let i = 0; i < outF * inF; i++) heap[w / 4 + i] = 0.1 * Math.cos(i);
        for (let i = 0; i < batch * outF; i++) heap[gz / 4 + i] = 0.01 * Math.sin(3 * i);
        const flops = 2 * batch * inF * outF;
        const kernels = [
          [`${layer} forward`, () => core.linearForward(x, w, bias, z, batch, inF, outF)],
          [`${layer} dX`, () => core.linearBackwardInput(gz, w, gx, batch, inF, outF)],
          [`${layer} dW`, () => core.linearBackwardParams(gz, x, gw, gb, batch, inF, outF, 1)],
        ];
        for (const [name, fn] of kernels) {
          const { gflops, share } = pairedShare(peak, fn, flops);
          const cell = (cells[`${h} ${name}`] ??= { h, gemm: name, gflops: [], share: [] });
          cell.gflops.push(gflops);
          cell.share.push(share);
          console.log(
            `rep ${rep + 1}/${REPS}  sweep GEMM h ${String(h).padEnd(5)} ${name.padEnd(11)} ${gflops.toFixed(1)} GFLOP/s  ${(100 * share).toFixed(0)}% of the peak beside it`,
          );
        }
        [x, w, bias, z, gz, gx, gw, gb].forEach((p) => core.free(p));
      }
    }
  }
  const rows = Object.values(cells).map((c) => ({ h: c.h, gemm: c.gemm, gflops: stats(c.gflops), share: stats(c.share) }));
  return { peak: stats(peakValues), batch, gemms: rows };
}

// ---- report ----

const fmt = (v) => (v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(v >= 10 ? 1 : 2));
const times = (r) => `${r.toFixed(r >= 10 ? 0 : r >= 1 ? 1 : 2)}×`;

/** How many times faster peer `a` is than peer `b`, per repetition (they ran side by side): median, min, max. */
function perRepRatio(w, a, b) {
  const x = w.peers[a]?.values,
    y = w.peers[b]?.values;
  if (!x || !y) return null;
  return stats(x.map((v, i) => (w.higherIsBetter ? v / y[i] : y[i] / v)));
}
const ratioText = (r) => (r ? `${times(r.median)} (${times(r.min)}–${times(r.max)})` : '—');
/** The targets table's median to two decimals: 1.97× is not ≥ 2×, though times() prints it 2.0×. */
const targetRatioText = (r) => `${r.median.toFixed(2)}× (${times(r.min)}–${times(r.max)})`;

function workloadTable(id, w) {
  const ours = Object.entries(w.peers).filter(([n]) => n.startsWith('backprop-wasm'));
  const best = ours.reduce((a, c) => ((w.higherIsBetter ? c[1].median > a[1].median : c[1].median < a[1].median) ? c : a));
  const lines = [`**${id} ${w.name}** (${w.unit}, ${w.higherIsBetter ? 'higher' : 'lower'} is better)`, ''];
  // the per-repetition ratio columns: to the tight JS MLP by default, to our one thread and PyTorch for W2/W3
  const against = (w.ratios ?? ['tight JS']).filter((name) => w.peers[name]);
  lines.push(
    `| library | median | min–max |${against.map((n) => ` × ${n}, per rep |`).join('')} ${best[0]} is … faster |`,
    `|---|---:|---:|${against.map(() => '---:|').join('')}---:|`,
  );
  for (const [name, p] of Object.entries(w.peers)) {
    const ratio = w.higherIsBetter ? best[1].median / p.median : p.median / best[1].median;
    const cells = against.map((n) => ` ${name === n ? '1×' : ratioText(perRepRatio(w, name, n))} |`).join('');
    lines.push(
      `| ${name} | ${fmt(p.median)} | ${fmt(p.min)}–${fmt(p.max)} |${cells} ${name === best[0] ? '—' : `${ratio.toFixed(1)}×`} |`,
    );
  }
  lines.push('');
  return lines;
}

/** Issue 11's targets, each a per-repetition ratio of two rows of one workload. */
const TARGETS = [
  ['W3', 'backprop-wasm fit, 2 threads', 'backprop-wasm fit', 1.8],
  ['W3', 'backprop-wasm fit, 2 threads, relaxed SIMD', 'PyTorch 1 thread', 1],
  ['W2', 'backprop-wasm fit, 2 threads', 'PyTorch 2 threads', 1],
  ['W4', 'backprop-wasm fit (epochs inside WASM)', 'tight JS', 5],
  ['W4', 'backprop-wasm trainStep (one call per step)', 'tight JS', 2],
  ['W1', 'backprop-wasm trainStep', 'tight JS', 8],
  ['W2-busy', 'backprop-wasm fit, 2 threads', 'backprop-wasm fit', 1],
  ['W3-busy', 'backprop-wasm fit, 2 threads', 'backprop-wasm fit', 1],
];

function targetsTable(workloads) {
  const lines = ['**Targets of issue 11** (per-repetition ratio of two rows above: median (min–max))', ''];
  lines.push(
    "| workload | ratio | target | median (min–max) | met | two cores' ceiling in the same reps |",
    '|---|---|---:|---:|:---:|---:|',
  );
  for (const [id, a, b, target] of TARGETS) {
    const w = workloads[id];
    const r = w && perRepRatio(w, a, b);
    if (!r) continue;
    const ceiling = w.ceiling?.values && a.includes('2 threads') ? ratioText(stats(w.ceiling.values)) : '—';
    lines.push(
      `| ${id} | ${a} ÷ ${b} | ≥ ${target}× | ${targetRatioText(r)} | ${r.median >= target ? 'yes' : 'no'} | ${ceiling} |`,
    );
  }
  lines.push(
    '',
    "Two cores' ceiling: bench/assembly/peak.ts's register-only loop on two worker threads at once (GFLOP/s summed) ÷ on one, measured at the start of each repetition of that workload (bench/peers/two-cores.mjs): what this machine gives any program's second thread at that time: ~2× with two free cores, less when another process keeps one busy or the host shares it.",
    '',
  );
  return lines;
}

function markdown(report) {
  const lines = [
    `Measured ${report.date} on ${report.cpu} (${report.node}), ${report.reps} interleaved repetitions; median (min–max).`,
  ];
  lines.push(
    report.torch
      ? `PyTorch ${report.torch.torch} (CPU) in a Python subprocess on the same data, timed there; BLAS: ${report.torch.blas}. "× tight JS, per rep": the ratio to the tight plain-JS MLP within each repetition, median (min–max).`
      : `PyTorch rows omitted: ${torchMissing}. "× tight JS, per rep": the ratio to the tight plain-JS MLP within each repetition, median (min–max).`,
    `Rows "backprop-wasm fit, N threads" / "relaxed SIMD": init({ threads: N, simd }) in a Node child process of its own (bench/peers/threads-child.mjs; its pool: ${report.threads ? `${report.threads.active} of ${report.threads.requested} threads active` : 'not probed'}), timed there; "backprop-wasm fit" is this process, one thread, plain SIMD.`,
    '',
  );
  lines.push(...targetsTable(report.workloads));
  for (const [id, w] of Object.entries(report.workloads)) lines.push(...workloadTable(id, w));
  if (report.sweep) {
    const { training, gemm } = report.sweep;
    const torchName = 'PyTorch 1 thread';
    lines.push(
      `**Width sweep: 256 → h ReLU → 10, softmax cross-entropy, SGD, batch ${SWEEP_BATCH}, 2048 rows** (samples/s, higher is better)`,
      '',
    );
    const twoName = 'backprop-wasm fit, 2 threads';
    const cell = (p) => (p ? `${fmt(p.median)} (${fmt(p.min)}–${fmt(p.max)})` : '—');
    lines.push(
      `| h | backprop-wasm fit | ${twoName} | ${torchName} | 2 threads ÷ 1 thread, per rep | backprop-wasm (1 thread) ÷ PyTorch, per rep |`,
      '|---:|---:|---:|---:|---:|---:|',
    );
    for (const w of Object.values(training)) {
      const ours = w.peers['backprop-wasm fit'],
        two = w.peers[twoName],
        torch = w.peers[torchName];
      lines.push(
        `| ${w.h} | ${cell(ours)} | ${cell(two)} | ${cell(torch)} | ${two ? ratioText(perRepRatio(w, twoName, 'backprop-wasm fit')) : '—'} | ${torch ? ratioText(perRepRatio(w, 'backprop-wasm fit', torchName)) : '—'} |`,
      );
    }
    lines.push('');
    if (gemm) {
      lines.push(
        `**The sweep's GEMMs** (each GEMM of one training step, batch ${gemm.batch}, as % of the per-core WASM-SIMD peak (bench/assembly/peak.ts; ${fmt(gemm.peak.median)} (${fmt(gemm.peak.min)}–${fmt(gemm.peak.max)}) GFLOP/s at the start of each repetition): the best of seven ~10 ms GEMM trials over the best of seven peak trials interleaved with them; median (min–max) over repetitions. L1 = 256 → h, L2 = h → 10; L1 dX is not computed in training)`,
        '',
      );
      lines.push(`| h | ${SWEEP_GEMMS.join(' | ')} |`, `|---:|${SWEEP_GEMMS.map(() => '---:').join('|')}|`);
      for (const h of SWEEP_WIDTHS) {
        const cells = SWEEP_GEMMS.map((g) => gemm.gemms.find((r) => r.h === h && r.gemm === g)).map(
          (r) => `${Math.round(100 * r.share.median)}% (${Math.round(100 * r.share.min)}–${Math.round(100 * r.share.max)})`,
        );
        lines.push(`| ${h} | ${cells.join(' | ')} |`);
      }
      lines.push('');
    }
  }
  if (report.gemm) {
    const peak = report.gemm.peak;
    lines.push(
      `**GEMM kernels** (GFLOP/s, the best of seven ~10 ms trials per repetition; % of the WASM-SIMD peak of bench/assembly/peak.ts — eight independent f32x4 multiply-add chains fed from L1, the throughput bound of separate mul and add — timed interleaved with them: ${fmt(peak.median)} (${fmt(peak.min)}–${fmt(peak.max)}) GFLOP/s at the start of each repetition)`,
      '',
    );
    lines.push(
      '| M×K×N (batch × in × out) | kernel | median | min–max | % of peak, median (min–max) |',
      '|---|---|---:|---:|---:|',
    );
    for (const r of report.gemm.kernels)
      lines.push(
        `| ${r.shape} | ${r.kernel} | ${fmt(r.median)} | ${fmt(r.min)}–${fmt(r.max)} | ${Math.round(100 * r.share.median)}% (${Math.round(100 * r.share.min)}–${Math.round(100 * r.share.max)}) |`,
      );
    lines.push('');
  }
  return lines.join('\n');
}

/** The README's paragraph on what threads bought (its bench-threads block), written from the same report as
 *  the tables so that no figure is copied by hand. */
function threadsSummary(report) {
  const { workloads: w, sweep } = report;
  const one = 'backprop-wasm fit',
    two = 'backprop-wasm fit, 2 threads',
    twoRelaxed = 'backprop-wasm fit, 2 threads, relaxed SIMD',
    torch1 = 'PyTorch 1 thread',
    torch2 = 'PyTorch 2 threads';
  const ratio = (id, a, b) => ratioText(w[id] && perRepRatio(w[id], a, b));
  const ceiling = (id) => (w[id]?.ceiling ? ratioText(stats(w[id].ceiling.values)) : 'not measured');
  const widths = sweep
    ? Object.values(sweep.training)
        .map((t) => `${ratioText(perRepRatio(t, two, one))} at h = ${t.h}`)
        .join(', ')
    : 'not measured';
  return [
    `What 2 threads bought in the last \`npm run bench\` (${report.date}, ${report.cpu}, ${report.reps} interleaved`,
    'repetitions; per repetition, median (min–max); written by bench/run.mjs, the full tables are under Results).',
    `2 threads ÷ 1 thread: W3 (256 → 512 → 512 → 10, batch 128) ${ratio('W3', two, one)}; W2 (784 → 128 → 10,`,
    `batch 64) ${ratio('W2', two, one)}. What the machine gave a second thread at the same time — the peak loop on`,
    `two threads ÷ one, "two cores' ceiling": W3 ${ceiling('W3')}, W2 ${ceiling('W2')}; PyTorch's own 2 threads ÷ 1`,
    `thread: W3 ${ratio('W3', torch2, torch1)}, W2 ${ratio('W2', torch2, torch1)}. 2 threads with relaxed SIMD ÷`,
    `plain 1 thread: W3 ${ratio('W3', twoRelaxed, one)}, W2 ${ratio('W2', twoRelaxed, one)}. The width sweep`,
    `(256 → h → 10, batch 64; at h ≤ 16 nothing is split, so those ratios are two processes' noise): ${widths}.`,
    `With another process spinning on one of the two cores: W3 ${ratio('W3-busy', two, one)}, W2`,
    `${ratio('W2-busy', two, one)}, where PyTorch with 2 threads ran at W3 ${ratio('W3-busy', torch2, torch1)}, W2`,
    `${ratio('W2-busy', torch2, torch1)} of its 1 thread. Per product: \`node bench/threads-gemm.mjs 2\` (after`,
    '`npm run bench:build`); this machine now: `node bench/peers/two-cores.mjs`.',
  ].join('\n');
}

const summarize = (results) => {
  for (const w of Object.values(results)) for (const p of Object.values(w.peers)) Object.assign(p, stats(p.values));
  return results;
};

/** Measures everything (or, with BENCH_RENDER=1, re-renders the tables of the last full run's latest.json). */
async function measureAll() {
  const report = {
    date: new Date().toISOString().slice(0, 10),
    node: process.version,
    cpu: `${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores)`,
    reps: REPS,
    quick: QUICK,
  };
  try {
    report.threads = await threadsPeerInfo(2);
    if (torchAvailable) {
      report.torch = await torchInfo(1);
      if (report.torch.blas.startsWith('reference'))
        console.warn(
          `PyTorch runs on the reference BLAS (${report.torch.blas}), ~20× slower than OpenBLAS: run npm run bench:torch-blas first`,
        );
    }
    report.workloads = summarize(await runWorkloads(WORKLOADS.filter((w) => !ONLY || ONLY.includes(w.id))));
    if (!ONLY || ONLY.includes('SWEEP')) {
      const training = summarize(await runWorkloads(SWEEP));
      for (const w of SWEEP) training[w.id].h = w.h;
      report.sweep = { training, gemm: await runSweepGemm() };
    }
    if (!ONLY || ONLY.includes('GEMM')) report.gemm = await runGemm();
  } finally {
    closeTorch();
    closeThreadPeers();
  }
  return report;
}

const RENDER = process.env.BENCH_RENDER === '1';
const report = RENDER ? JSON.parse(readFileSync(new URL('./results/latest.json', import.meta.url), 'utf8')) : await measureAll();
const table = markdown(report);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
const suffix = !RENDER && (QUICK || ONLY) ? '-partial' : '';
writeFileSync(new URL(`./results/latest${suffix}.json`, import.meta.url), JSON.stringify(report, null, 2) + '\n');
writeFileSync(new URL(`./results/latest${suffix}.md`, import.meta.url), table + '\n');
if (!suffix) {
  const readmeUrl = new URL('../README.md', import.meta.url);
  const readme = readFileSync(readmeUrl, 'utf8');
  const updated = readme
    .replace(/<!-- bench:start -->[\s\S]*<!-- bench:end -->/, `<!-- bench:start -->\n${table}\n<!-- bench:end -->`)
    .replace(
      /<!-- bench-threads:start -->[\s\S]*<!-- bench-threads:end -->/,
      `<!-- bench-threads:start -->\n${threadsSummary(report)}\n<!-- bench-threads:end -->`,
    );
  writeFileSync(readmeUrl, updated);
}
console.log('\n' + table);
