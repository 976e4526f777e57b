// backprop-wasm with threads (and relaxed SIMD) as peers: each configuration in a long-lived Node process
// (bench/peers/threads-child.mjs), since init() chooses the core once per process. The child times its fit()
// epochs itself, on the same data files as the PyTorch peer.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { JsonLinesProcess } from './json-lines.mjs';

const SCRIPT = fileURLToPath(new URL('./threads-child.mjs', import.meta.url));

function start(threads, simd) {
  const flags = simd === 'relaxed' ? ['--experimental-wasm-relaxed-simd'] : [];
  const child = spawn(process.execPath, [...flags, SCRIPT], {
    env: { ...process.env, BENCH_THREADS: String(threads), BENCH_SIMD: simd },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return new JsonLinesProcess(child, 'threads peer');
}

// One process per configuration and `group`: the pool's measurements and back-offs (assembly/pool.ts) live as
// long as its process, so the busy-core workloads get processes of their own — a pool that has just backed
// off from a spinning neighbour would otherwise carry that into the quiet W2/W3 rows that follow.
const children = new Map();
const child = (threads, simd, group = '') => {
  const key = `${threads}/${simd}/${group}`;
  if (!children.has(key)) children.set(key, start(threads, simd));
  return children.get(key);
};

/** { requested, active, reason, simd } as the child with this configuration sees it. */
export const threadsPeerInfo = (threads, simd = 'plain') => child(threads, simd).request({ cmd: 'info' });

export function closeThreadPeers() {
  for (const c of children.values()) c.process.stdin.end();
  children.clear();
}

/** The peer's name in the tables. */
export const threadsPeerName = (threads, simd) =>
  `backprop-wasm fit, ${threads} thread${threads > 1 ? 's' : ''}${simd === 'relaxed' ? ', relaxed SIMD' : ''}`;

/** A bench/run.mjs peer ({ measure }) for fit() epochs of the task (the PyTorch peer's task object), in the
 *  process of its configuration and `group`. */
export function threadsPeer(threads, simd, task, group = '') {
  return async () => ({
    measure: async ({ quick, minSeconds }) =>
      (
        await child(threads, simd, group).request({
          cmd: 'measure',
          ...task,
          warmupRuns: 1,
          minRuns: quick ? 1 : 3,
          minSeconds: minSeconds ?? 0,
        })
      ).rate,
  });
}
