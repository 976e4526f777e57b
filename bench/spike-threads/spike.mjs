// SPIKE (exploration, not shipped): does an AssemblyScript thread pool over one shared memory pay off, and is
// it safe? `npm run bench:spike-threads` builds bench/spike-threads/pool.ts and runs every experiment below;
// `node bench/spike-threads/spike.mjs <name> …` runs some: gemm (a, b), hog (c), threshold (d), scratch (e),
// instances (f). The browser questions (g) are bench/spike-threads/browser.mjs. Figures go to stdout and to
// bench/results/spike-threads/<name>.json; RESULTS.md is written by hand from them.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { startPool, compile, f32, PAGES } from './pool.mjs';

const median = (v) => {
  const s = [...v].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const TRIALS = Number(process.env.SPIKE_TRIALS ?? 15);
const results = {};
const save = (name, value) => {
  results[name] = value;
  mkdirSync(new URL('../results/spike-threads/', import.meta.url), { recursive: true });
  writeFileSync(new URL(`../results/spike-threads/${name}.json`, import.meta.url), JSON.stringify(value, null, 2) + '\n');
};

// ---- the GEMMs of a Linear layer, on a pool's memory ----

/** Buffers for a Linear layer (batch, in, out) in the pool's memory, filled deterministically. */
function layer(pool, batch, inF, outF) {
  const { main, memory } = pool;
  const ptr = (floats) => main.alloc(Math.max(4, floats) * 4);
  const p = {
    x: ptr(batch * inF),
    w: ptr(outF * inF),
    bias: ptr(outF),
    z: ptr(batch * outF),
    a: ptr(batch * outF),
    gz: ptr(batch * outF),
    gx: ptr(batch * inF),
    gw: ptr(outF * inF),
  };
  const fill = (at, n, f) => {
    const v = f32(memory, at, n);
    for (let i = 0; i < n; i++) v[i] = f(i);
  };
  fill(p.x, batch * inF, (i) => Math.sin(i * 0.37));
  fill(p.w, outF * inF, (i) => 0.05 * Math.cos(i * 0.11));
  fill(p.bias, outF, (i) => 0.01 * i);
  fill(p.gz, batch * outF, (i) => 0.01 * Math.sin(i * 0.7));
  return { ...p, batch, inF, outF };
}

/** The three GEMMs of the layer: single-threaded (the library's entry points) and on the pool. */
function gemms(pool, L, activation = 2) {
  const m = pool.main,
    { batch, inF, outF } = L;
  return {
    forward: {
      flops: 2 * batch * inF * outF,
      out: [L.a, batch * outF],
      one: () => m.gemmNTActivated(batch, outF, inF, L.x, inF, L.w, inF, L.z, outF, L.bias, activation, 0, L.a),
      pool: (cols) => m.poolGemmNT(batch, outF, inF, L.x, inF, L.w, inF, L.z, outF, L.bias, activation, 0, L.a, cols),
      columns: outF,
      align: 8,
    },
    dX: {
      flops: 2 * batch * inF * outF,
      out: [L.gx, batch * inF],
      one: () => m.gemmNN(batch, inF, outF, L.gz, outF, 1, L.w, inF, L.gx, inF, 0),
      pool: (cols) => m.poolGemmNN(batch, inF, outF, L.gz, outF, 1, L.w, inF, L.gx, inF, 0, cols),
      columns: inF & ~7,
      align: 8,
    },
    dW: {
      // dW += dZᵀ·X accumulates: each timing call adds again, so bit comparisons reset dW first
      flops: 2 * batch * inF * outF,
      out: [L.gw, outF * inF],
      accumulates: true,
      one: () => m.gemmNN(outF, inF, batch, L.gz, 1, outF, L.x, inF, L.gw, inF, 1),
      pool: (cols) => m.poolGemmNN(outF, inF, batch, L.gz, 1, outF, L.x, inF, L.gw, inF, 1, cols),
      columns: inF & ~7,
      align: 8,
    },
  };
}

/** Columns per chunk so that there are about `perThread` chunks per thread (rounded to the kernel's step). */
function chunkCols(columns, align, threads, perThread) {
  const target = Math.max(align, Math.ceil(columns / (threads * perThread)));
  return Math.ceil(target / align) * align;
}

/** Calls per trial so that a trial lasts ≥ ms milliseconds. */
function calibrate(fn, ms = 4) {
  let calls = 1;
  for (;;) {
    const started = performance.now();
    for (let i = 0; i < calls; i++) fn();
    if (performance.now() - started >= ms) return calls;
    calls *= 2;
  }
}

/** Interleaved trials of several variants: per variant the median and best GFLOP/s, and per-trial ratios. */
function race(variants, flops, trials = TRIALS) {
  const calls = calibrate(variants[0][1]);
  for (const [, fn] of variants) calibrate(fn, 2); // warm every variant up (tier-up) before timing
  const rates = variants.map(() => []);
  for (let t = 0; t < trials; t++) {
    variants.forEach(([, fn], v) => {
      const started = performance.now();
      for (let i = 0; i < calls; i++) fn();
      rates[v].push((flops * calls) / ((performance.now() - started) / 1000) / 1e9);
    });
  }
  return Object.fromEntries(
    variants.map(([name], v) => [
      name,
      { median: median(rates[v]), best: Math.max(...rates[v]), worst: Math.min(...rates[v]), rates: rates[v] },
    ]),
  );
}

/** Ratio of two variants trial by trial (they ran back to back): median (min–max). */
function ratio(r, a, b) {
  const x = r[a].rates.map((v, i) => v / r[b].rates[i]);
  return { median: median(x), min: Math.min(...x), max: Math.max(...x) };
}
const fmtRatio = (q) => `${q.median.toFixed(2)}× (${q.min.toFixed(2)}–${q.max.toFixed(2)})`;

const bytesOf = (memory, [ptr, n]) => new Uint8Array(memory.buffer, ptr, n * 4).slice();
const sameBytes = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);

/** Runs `fn` on a fresh copy of dW's start values when the GEMM accumulates. */
function fresh(pool, L, g, fn) {
  if (g.accumulates) f32(pool.memory, L.gw, L.outF * L.inF).fill(0.5);
  fn();
  return bytesOf(pool.memory, g.out);
}

const NETWORKS = {
  W3: {
    batch: 128,
    layers: [
      [256, 512, 2],
      [512, 512, 2],
      [512, 10, -1],
    ],
  }, // 256 → 512 → 512 → 10, batch 128
  W2: {
    batch: 64,
    layers: [
      [784, 128, 2],
      [128, 10, -1],
    ],
  }, // 784 → 128 → 10, batch 64
};

// ---- (a) speedup and (b) bit-identity on W3's and W2's GEMMs ----

async function gemmExperiment() {
  const one = await startPool(1),
    two = await startPool(2);
  const out = {};
  for (const [name, net] of Object.entries(NETWORKS)) {
    out[name] = [];
    let stepOne = 0,
      stepTwo = 0;
    for (const [k, [inF, outF, activation]] of net.layers.entries()) {
      const L1 = layer(one, net.batch, inF, outF),
        L2 = layer(two, net.batch, inF, outF);
      const g1 = gemms(one, L1, activation),
        g2 = gemms(two, L2, activation);
      for (const kind of ['forward', 'dX', 'dW']) {
        if (kind === 'dX' && k === 0) continue; // the first layer's dX is not computed in training
        const a = g1[kind],
          b = g2[kind];
        const cols = chunkCols(b.columns, b.align, 2, 4);
        const r = race(
          [
            ['library, 1 thread', a.one],
            ['pool, 1 thread', () => a.pool(cols)],
            ['pool, 2 threads', () => b.pool(cols)],
          ],
          a.flops,
        );
        // (b) the same bits: the library on one thread, the pool on two with several chunk sizes
        const reference = fresh(one, L1, a, a.one);
        const whole = Math.ceil(b.columns / b.align) * b.align; // one chunk: the caller computes everything
        const identical = [b.align, cols, whole].every((c) =>
          sameBytes(
            reference,
            fresh(two, L2, b, () => b.pool(c)),
          ),
        );
        const row = {
          gemm: `${kind} ${net.batch}×${inF}→${outF}`,
          mflops: a.flops / 1e6,
          chunkCols: cols,
          gflops1: r['library, 1 thread'].median,
          gflopsPool1: r['pool, 1 thread'].median,
          gflops2: r['pool, 2 threads'].median,
          speedup: ratio(r, 'pool, 2 threads', 'library, 1 thread'),
          poolOverhead: ratio(r, 'pool, 1 thread', 'library, 1 thread'),
          bitIdentical: identical,
        };
        stepOne += a.flops / 1e9 / row.gflops1;
        stepTwo += a.flops / 1e9 / row.gflops2;
        out[name].push(row);
        console.log(
          `${name} ${row.gemm.padEnd(22)} ${row.mflops.toFixed(1).padStart(6)} MFLOP  1t ${row.gflops1.toFixed(1)}  pool1 ${row.gflopsPool1.toFixed(1)}  2t ${row.gflops2.toFixed(1)} GFLOP/s  2t/1t ${fmtRatio(row.speedup)}  bits ${identical ? 'identical' : 'DIFFER'}`,
        );
      }
    }
    out[`${name} step`] = { secondsOneThread: stepOne, secondsTwoThreads: stepTwo, speedup: stepOne / stepTwo };
    console.log(`${name} all GEMMs of a step: 2 threads ${(stepOne / stepTwo).toFixed(2)}× one thread (from the medians)`);
  }
  await one.close();
  await two.close();
  save('gemm', out);
}

// ---- (c) another process keeping a core busy ----

function startHog() {
  const hog = spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' });
  return hog;
}

async function hogExperiment() {
  const one = await startPool(1),
    two = await startPool(2),
    twoWaits = await startPool(2);
  twoWaits.main.setCallerSpins(2000);
  const out = [];
  const cases = [
    ['W3 dW 512→512', 128, 512, 512, 'dW'],
    ['W3 forward 512→512', 128, 512, 512, 'forward'],
    ['W2 forward 784→128', 64, 784, 128, 'forward'],
    ['W2 dW 784→128', 64, 784, 128, 'dW'],
  ];
  const rounds = Number(process.env.SPIKE_HOG_ROUNDS ?? 2);
  for (let round = 0; round < rounds; round++) {
    for (const withHog of [false, true]) {
      const hog = withHog ? startHog() : null;
      if (hog) await new Promise((r) => setTimeout(r, 300));
      try {
        for (const [label, batch, inF, outF, kind] of cases) {
          const a = gemms(one, layer(one, batch, inF, outF))[kind];
          const b = gemms(two, layer(two, batch, inF, outF))[kind];
          const c = gemms(twoWaits, layer(twoWaits, batch, inF, outF))[kind];
          const variants = [['1 thread', a.one]];
          for (const perThread of [1, 4, 16]) {
            const cols = chunkCols(b.columns, b.align, 2, perThread);
            variants.push([`2 threads, caller spins, ${perThread} chunk${perThread > 1 ? 's' : ''}/thread`, () => b.pool(cols)]);
          }
          for (const perThread of [4, 16]) {
            const cols = chunkCols(c.columns, c.align, 2, perThread);
            variants.push([`2 threads, caller sleeps, ${perThread} chunks/thread`, () => c.pool(cols)]);
          }
          const r = race(variants, a.flops, withHog ? 21 : TRIALS);
          const rows = variants.slice(1).map(([name]) => ({
            variant: name,
            vsOneThread: ratio(r, name, '1 thread'),
            median: r[name].median,
            worst: r[name].worst,
          }));
          out.push({
            round,
            hog: withHog,
            gemm: label,
            oneThread: { median: r['1 thread'].median, worst: r['1 thread'].worst },
            rows,
          });
          console.log(
            `${withHog ? 'HOG  ' : 'quiet'} ${label}: 1 thread ${r['1 thread'].median.toFixed(1)} GFLOP/s (worst trial ${r['1 thread'].worst.toFixed(1)})`,
          );
          for (const row of rows)
            console.log(
              `        ${row.variant.padEnd(44)} ${fmtRatio(row.vsOneThread).padEnd(22)} median ${row.median.toFixed(1)}, worst trial ${row.worst.toFixed(1)} GFLOP/s`,
            );
        }
      } finally {
        if (hog) hog.kill();
      }
    }
  }
  await Promise.all([one.close(), two.close(), twoWaits.close()]);
  save('hog', out);
}

// ---- (d) the smallest GEMM where 2 threads pay ----

async function thresholdExperiment() {
  const one = await startPool(1),
    two = await startPool(2);
  const out = [];
  const shapes = [];
  for (const batch of [16, 64]) for (const width of [16, 32, 64, 128, 256, 512]) shapes.push([batch, width, width]);
  shapes.push([64, 784, 128], [64, 128, 10], [128, 512, 10], [1, 512, 512], [4, 512, 512]);
  for (const [batch, inF, outF] of shapes) {
    for (const kind of ['forward', 'dX', 'dW']) {
      const a = gemms(one, layer(one, batch, inF, outF))[kind];
      const b = gemms(two, layer(two, batch, inF, outF))[kind];
      if ((kind !== 'forward' && (b.columns < 8 || (kind === 'dX' ? batch : outF) <= 4)) || (kind === 'forward' && inF < 4))
        continue;
      let best = null;
      for (const perThread of [1, 2, 4]) {
        const cols = chunkCols(b.columns, b.align, 2, perThread);
        const r = race(
          [
            ['1 thread', a.one],
            ['2 threads', () => b.pool(cols)],
          ],
          a.flops,
          11,
        );
        const q = ratio(r, '2 threads', '1 thread');
        if (!best || q.median > best.speedup.median) best = { cols, speedup: q, gflops1: r['1 thread'].median };
      }
      const row = { gemm: `${kind} ${batch}×${inF}→${outF}`, flops: a.flops, ...best };
      out.push(row);
      console.log(
        `${row.gemm.padEnd(22)} ${(a.flops / 1e6).toFixed(2).padStart(7)} MFLOP  1t ${best.gflops1.toFixed(1).padStart(5)} GFLOP/s  best 2t/1t ${fmtRatio(best.speedup)} (${best.cols} cols/chunk)`,
      );
    }
  }
  await one.close();
  await two.close();
  out.sort((x, y) => x.flops - y.flops);
  save('threshold', out);
}

// ---- (e) per-thread scratch ----

async function scratchExperiment() {
  const one = await startPool(1),
    two = await startPool(2);
  const out = [];
  for (const [batch, inF, outF, kind] of [
    [128, 512, 512, 'dX'],
    [128, 512, 512, 'dW'],
    [64, 784, 128, 'dW'],
  ]) {
    const L1 = layer(one, batch, inF, outF),
      L2 = layer(two, batch, inF, outF);
    const a = gemms(one, L1)[kind],
      b = gemms(two, L2)[kind];
    const reference = fresh(one, L1, a, a.one);
    const cols = chunkCols(b.columns, b.align, 2, 4);
    let ownDiffer = 0,
      sharedDiffer = 0;
    for (let t = 0; t < 20; t++) {
      two.main.shareScratch(-1);
      if (
        !sameBytes(
          reference,
          fresh(two, L2, b, () => b.pool(cols)),
        )
      )
        ownDiffer++;
      two.main.shareScratch(0);
      if (
        !sameBytes(
          reference,
          fresh(two, L2, b, () => b.pool(cols)),
        )
      )
        sharedDiffer++;
    }
    two.main.shareScratch(-1);
    const row = {
      gemm: `${kind} ${batch}×${inF}→${outF}`,
      runs: 20,
      wrongWithOwnScratch: ownDiffer,
      wrongWithOneSharedScratch: sharedDiffer,
    };
    out.push(row);
    console.log(
      `${row.gemm}: of 20 runs on 2 threads, wrong results with per-thread scratch ${ownDiffer}, with one shared scratch ${sharedDiffer}`,
    );
  }
  await one.close();
  await two.close();
  save('scratch', out);
}

// ---- (f) several instances of the AS module over one memory ----

async function instancesExperiment() {
  const out = {};
  for (const build of ['pool', 'pool-zeroed']) {
    const module = await compile(build);
    const memory = new WebAssembly.Memory({ ...PAGES, shared: true });
    const first = (await WebAssembly.instantiate(module, { env: { memory } })).exports;
    // static data written at run time: the control block (generation counter) and a packing scratch
    const heap = new Int32Array(memory.buffer);
    const control = first.controlBase() >> 2,
      scratch = first.scratchBase() >> 2;
    heap[control] = 12345;
    heap[scratch] = 777;
    // the heap: blocks the first instance allocated
    const blockA = first.alloc(1000),
      blockB = first.alloc(1000);
    new Int32Array(memory.buffer, blockA, 4).fill(42);
    const second = (await WebAssembly.instantiate(module, { env: { memory } })).exports;
    const afterInstantiate = {
      generation: heap[control],
      scratch: heap[scratch],
      blockA: new Int32Array(memory.buffer, blockA, 1)[0],
    };
    // globals are per instance: the thread index (set by workerLoop) and the allocator's root
    const globals = { firstThreadIndex: first.getThreadIndex(), secondThreadIndex: second.getThreadIndex() };
    // an allocation from the second instance: its allocator root is its own (uninitialised) global, over the
    // same memory as the first instance's heap
    const fromSecond = second.alloc(1000);
    const thenFirst = first.alloc(1000);
    const overlap = (p, q) => p < q + 1000 && q < p + 1000;
    out[build] = {
      wasmBytes: (await import('node:fs')).statSync(new URL(`./build/${build}.wasm`, import.meta.url)).size,
      staticDataAfterSecondInstantiation: afterInstantiate,
      globals,
      secondInstanceAlloc: fromSecond,
      overlapsFirstInstanceBlocks: overlap(fromSecond, blockA) || overlap(fromSecond, blockB),
      firstInstanceNextAlloc: thenFirst,
      firstAllocOverlapsSecondAlloc: overlap(thenFirst, fromSecond),
      blockAAfterSecondAlloc: new Int32Array(memory.buffer, blockA, 1)[0],
    };
    console.log(build, JSON.stringify(out[build]));
  }
  save('instances', out);
}

const EXPERIMENTS = {
  gemm: gemmExperiment,
  hog: hogExperiment,
  threshold: thresholdExperiment,
  scratch: scratchExperiment,
  instances: instancesExperiment,
};
const chosen = process.argv.slice(2);
for (const name of chosen.length ? chosen : Object.keys(EXPERIMENTS)) {
  console.log(`\n== ${name}`);
  await EXPERIMENTS[name]();
}
