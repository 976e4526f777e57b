// PyTorch (CPU) as a peer: bench/peers/torch_peer.py runs in one long-lived Python process per thread count,
// started on first use. The data goes over as raw float32 / int32 files in a temp dir, so PyTorch trains on
// exactly our numbers; the timing happens inside Python (time.perf_counter) and comes back as JSON.
//
// Python: BENCH_PYTHON, else /usr/bin/python3 (Debian's python3-torch; the python3 first on PATH may be
// another interpreter). When it cannot import torch, torchAvailable is false and the bench omits the rows.
// BLAS: Debian's torch runs its Linear layers on whatever libblas.so.3 is installed — the reference BLAS by
// default, ~20× slower than OpenBLAS. `npm run bench:torch-blas` unpacks Debian's OpenBLAS (OpenMP build)
// under ~/.cache/backprop-wasm-bench without installing it; the workers then load it through LD_LIBRARY_PATH
// (or point BENCH_TORCH_LIBS at any directory holding a libblas.so.3). OpenBLAS kernels: this machine's
// environment sets OPENBLAS_CORETYPE=Haswell (AVX2), ~1.5–2× slower here than the AVX-512 kernels OpenBLAS
// picks by itself (and that a PyTorch on MKL or oneDNN would use). The peer should be the strongest PyTorch a
// user would have, so on a CPU with AVX-512 the workers get OPENBLAS_CORETYPE=SkylakeX, or whatever
// BENCH_OPENBLAS_CORETYPE says. torchInfo() reports the BLAS and kernels that ran.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JsonLinesProcess } from './json-lines.mjs';

const PYTHON = process.env.BENCH_PYTHON ?? '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./torch_peer.py', import.meta.url));
const LOCAL_OPENBLAS = join(
  process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'),
  'backprop-wasm-bench/openblas/usr/lib/x86_64-linux-gnu/openblas-openmp',
);
const LIBS = process.env.BENCH_TORCH_LIBS ?? (existsSync(join(LOCAL_OPENBLAS, 'libblas.so.3')) ? LOCAL_OPENBLAS : undefined);

const hasAvx512 = (() => {
  try {
    return /^flags\s*:.*\bavx512f\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
})();

function env(threads) {
  const vars = { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) };
  if (LIBS) vars.LD_LIBRARY_PATH = [LIBS, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  if (process.env.BENCH_OPENBLAS_CORETYPE) vars.OPENBLAS_CORETYPE = process.env.BENCH_OPENBLAS_CORETYPE;
  else if (hasAvx512) vars.OPENBLAS_CORETYPE = 'SkylakeX';
  return vars;
}

const probe = spawnSync(PYTHON, ['-c', 'import torch'], { env: env(1), stdio: 'ignore', timeout: 120_000 });
export const torchAvailable = probe.status === 0;
export const torchMissing = torchAvailable
  ? null
  : `${PYTHON} -c 'import torch' failed${probe.error ? ` (${probe.error.code})` : ''}`;

const start = (threads) =>
  new JsonLinesProcess(
    spawn(PYTHON, [SCRIPT, String(threads)], { env: env(threads), stdio: ['pipe', 'pipe', 'inherit'] }),
    'torch worker',
  );

const workers = new Map();
const worker = (threads) => {
  if (!workers.has(threads)) workers.set(threads, start(threads));
  return workers.get(threads);
};

/** { torch, threads, blas } as the worker with this many threads sees them. */
export const torchInfo = (threads) => worker(threads).request({ cmd: 'info' });

let dir = null;
const files = new Map();
/** The path of a raw file holding this typed array (written once per key). */
export function dataFile(key, array) {
  dir ??= mkdtempSync(join(tmpdir(), 'backprop-bench-torch-'));
  if (!files.has(key)) {
    const path = join(dir, `${key}.bin`);
    writeFileSync(path, Buffer.from(array.buffer, array.byteOffset, array.byteLength));
    files.set(key, path);
  }
  return files.get(key);
}

/** Stops the workers and removes the data files. */
export function closeTorch() {
  for (const w of workers.values()) w.process.stdin.end();
  workers.clear();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = null;
  files.clear();
}

/**
 * A peer for bench/run.mjs whose setup returns { measure }: the worker times the runs itself.
 * task: { sizes, hidden, output, loss, lr, batch, rows, x, y (paths), mode: 'epoch' | 'step', shuffle }.
 */
export function torchPeer(threads, task) {
  return async () => ({
    measure: async ({ quick, kind, minSeconds }) => {
      const timing =
        kind === 'micro'
          ? { warmupRuns: 20, minRuns: 1, minSeconds: minSeconds ?? (quick ? 0.3 : 1) }
          : { warmupRuns: 1, minRuns: quick ? 1 : 3, minSeconds: minSeconds ?? 0 };
      return (await worker(threads).request({ cmd: 'measure', ...task, ...timing })).rate;
    },
  });
}
