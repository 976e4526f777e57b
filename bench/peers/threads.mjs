// backprop-wasm with threads (and relaxed SIMD) as peers: each configuration in a long-lived Node process
// (bench/peers/threads-child.mjs), since init() chooses the core once per process. The child times its fit()
// epochs itself, on the same data files as the PyTorch peer.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const SCRIPT = fileURLToPath(new URL('./threads-child.mjs', import.meta.url));

class Child {
  constructor(threads, simd) {
    const flags = simd === 'relaxed' ? ['--experimental-wasm-relaxed-simd'] : [];
    this.process = spawn(process.execPath, [...flags, SCRIPT], {
      env: { ...process.env, BENCH_THREADS: String(threads), BENCH_SIMD: simd },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.pending = [];
    createInterface({ input: this.process.stdout }).on('line', (line) => this.pending.shift()?.resolve(JSON.parse(line)));
    this.process.on('exit', (code) => {
      for (const p of this.pending.splice(0)) p.reject(new Error(`threads peer exited with code ${code}`));
    });
  }

  async request(message) {
    const answer = await new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.process.stdin.write(JSON.stringify(message) + '\n');
    });
    if (answer.error) throw new Error(`threads peer: ${answer.error}`);
    return answer;
  }
}

const children = new Map();
const child = (threads, simd) => {
  const key = `${threads}/${simd}`;
  if (!children.has(key)) children.set(key, new Child(threads, simd));
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

/** A bench/run.mjs peer ({ measure }) for fit() epochs of the task (the PyTorch peer's task object). */
export function threadsPeer(threads, simd, task) {
  return async () => ({
    measure: async ({ quick, minSeconds }) =>
      (
        await child(threads, simd).request({
          cmd: 'measure',
          ...task,
          warmupRuns: 1,
          minRuns: quick ? 1 : 3,
          minSeconds: minSeconds ?? 0,
        })
      ).rate,
  });
}
