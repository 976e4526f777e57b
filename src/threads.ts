// init({ threads }): the threads build of the core on this thread and in N − 1 workers (worker_threads in
// Node, Web Workers in cross-origin-isolated pages) over one shared WebAssembly.Memory. The workers only run
// GEMM chunks (assembly/pool.ts): they never allocate, and all of them are started before the first task.
import { BackpropError, describeValue } from './errors.js';
import { nodeWorkerThreads } from './platform.js';
import { MAX_THREADS } from './kernel.js';

/** A positive integer, or 'auto' for the machine's hardware concurrency. */
export type ThreadsOption = number | 'auto';

/** What init({ threads }) got: `active` threads compute (1 when threads were not asked for, or could not be
 *  used: `reason` says why). */
export interface ThreadsInfo {
  requested: number;
  active: number;
  reason: string | null;
}

/** Spins a parked worker makes before it sleeps in memory.atomic.wait32 (~20–50 µs): the gaps between the
 *  GEMMs of a step and between steps are shorter, so a step's tasks find the workers awake. (While the pool
 *  backs off — another process busy on a core — workers sleep at once instead: assembly/pool.ts.) */
const WORKER_SPINS = 20000;

/** A worker that has held a chunk this long has died (WORKER_FAILED). A chunk takes milliseconds; a
 *  descheduled worker is back within a time slice. */
export const DEFAULT_FAIL_AFTER_MS = 5000;

let info: ThreadsInfo = { requested: 1, active: 1, reason: null };

/** How many threads compute, and if fewer than asked for, why. */
export function threadsInfo(): ThreadsInfo {
  return { ...info };
}

interface PoolExports {
  memory: WebAssembly.Memory;
  alloc(bytes: number): number;
  poolScratchBytes(count: number): number;
  poolConfigure(count: number, scratch: number, mayWait: number, failMs: number): void;
  poolQuit(): void;
  poolMarkFailed(): void;
}

/** The threads init() asks for: 1 when absent; BAD_OPTION unless a positive integer or 'auto'. */
export function resolveThreads(value: unknown): number {
  if (value === undefined) return 1;
  if (value === 'auto') return Math.min(MAX_THREADS, hardwareConcurrency());
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_THREADS) {
    throw new BackpropError(
      'BAD_OPTION',
      `expected init option threads to be an integer from 1 to ${MAX_THREADS} or 'auto', got ${describeValue(value)}`,
    );
  }
  return value;
}

function hardwareConcurrency(): number {
  const os = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.(
    'node:os',
  ) as { availableParallelism?: () => number } | undefined;
  const count =
    os?.availableParallelism?.() ??
    (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return typeof count === 'number' && count >= 1 ? Math.floor(count) : 1;
}

const ISOLATION = 'serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp';

/** Why this platform cannot run a pool, or null when it can (Node always can). */
export function threadsUnavailable(): string | null {
  if (nodeWorkerThreads()) return null;
  if ((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== true || typeof SharedArrayBuffer !== 'function') {
    return `the page is not cross-origin isolated (${ISOLATION}), so workers cannot share memory`;
  }
  if (typeof Worker !== 'function' || typeof Blob !== 'function') return 'this platform has no Web Workers';
  return null;
}

/** Records that `requested` threads were asked for and one runs, and why. */
export function recordSingleThread(requested: number, reason: string | null): void {
  info = { requested, active: 1, reason: requested > 1 ? reason : null };
}

const imports = (memory: WebAssembly.Memory) => ({ env: { memory, now: () => performance.now() } });

// The workers' whole program: instantiate the module over the shared memory, say ready, park in workerLoop
// until told to quit (0) or made to die by a test (−1). (getBuiltinModule, not require: an eval worker is an
// ES module when its parent process runs with --input-type=module.)
const NODE_WORKER = `
const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads');
const { module, memory, index, spins } = workerData;
const { exports } = new WebAssembly.Instance(module, { env: { memory, now: () => performance.now() } });
parentPort.postMessage('ready');
process.exit(exports.workerLoop(index, spins) === 0 ? 0 : 70);
`;
const WEB_WORKER = `
onmessage = ({ data: { module, memory, index, spins } }) => {
  const { exports } = new WebAssembly.Instance(module, { env: { memory, now: () => performance.now() } });
  postMessage('ready');
  postMessage(exports.workerLoop(index, spins) === 0 ? 'quit' : 'died');
  close();
};
`;

interface PoolWorker {
  ready: Promise<void>;
  terminate(): void;
}

/** Starts worker `index`; `onDeath` runs if it ends without being told to. */
function startWorker(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
  index: number,
  onDeath: (why: string) => void,
): PoolWorker {
  const data = { module, memory, index, spins: WORKER_SPINS };
  const node = nodeWorkerThreads();
  if (node) {
    const worker = new (node.Worker as unknown as new (s: string, o: object) => NodePoolWorker)(NODE_WORKER, {
      eval: true,
      workerData: data,
    });
    worker.unref(); // a parked pool never keeps Node running
    let quitting = false;
    const ready = new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', (e: Error) => reject(e));
      worker.once('exit', (code: number) => {
        reject(new Error(`exited with code ${code}`));
        if (!quitting) onDeath(`pool worker ${index} exited with code ${code}`);
      });
    });
    return {
      ready,
      terminate: () => {
        quitting = true;
        void worker.terminate();
      },
    };
  }
  const url = URL.createObjectURL(new Blob([WEB_WORKER], { type: 'text/javascript' }));
  const worker = new Worker(url);
  URL.revokeObjectURL(url);
  let quitting = false;
  const ready = new Promise<void>((resolve, reject) => {
    worker.addEventListener('message', (e: MessageEvent) => {
      if (e.data === 'ready') resolve();
      else if (e.data === 'died' && !quitting) onDeath(`pool worker ${index} died`);
    });
    worker.addEventListener('error', (e) => {
      e.preventDefault();
      const why = `pool worker ${index} failed: ${e.message || 'it could not start (a Content-Security-Policy needs worker-src blob:)'}`;
      reject(new Error(why));
      if (!quitting) onDeath(why);
    });
  });
  worker.postMessage(data);
  return {
    ready,
    terminate: () => {
      quitting = true;
      worker.terminate();
    },
  };
}

interface NodePoolWorker {
  once(event: string, listener: (value: never) => void): void;
  unref(): void;
  terminate(): Promise<number>;
}

/** Whether this thread may block in Atomics.wait (a browser's main thread may not: it spins instead). */
function mayWait(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

let workers: PoolWorker[] = [];
/** The running pool: its core's exports and what poolConfigure was given. */
let pool: { core: PoolExports; count: number; scratch: number; mayWait: number } | null = null;

/** Instantiates the threads build on this thread over a new shared memory and starts `count − 1` workers
 *  on the same module; resolves with this thread's instance once every worker is parked. */
export async function startThreads(module: WebAssembly.Module, count: number): Promise<WebAssembly.Instance> {
  const memory = new WebAssembly.Memory({ initial: 64, maximum: 65536, shared: true });
  const instance = new WebAssembly.Instance(module, imports(memory));
  const core = instance.exports as unknown as PoolExports;
  const started: PoolWorker[] = [];
  try {
    for (let index = 1; index < count; index++) started.push(startWorker(module, memory, index, workerDied));
    await Promise.all(started.map((w) => w.ready));
  } catch (error) {
    started.forEach((w) => w.terminate());
    throw error;
  }
  // per-thread packing scratch, owned by the pool for the life of the core (never freed)
  const scratch = Math.ceil(core.alloc(core.poolScratchBytes(count) + 64) / 64) * 64;
  pool = { core, count, scratch, mayWait: mayWait() ? 1 : 0 };
  core.poolConfigure(count, scratch, pool.mayWait, DEFAULT_FAIL_AFTER_MS);
  workers = started;
  info = { requested: count, active: count, reason: null };
  return instance;
}

/** A worker ended on its own: the pool stops using workers (the core runs on this thread from now on). */
function workerDied(why: string): void {
  if (!pool || info.active === 1) return;
  info = { requested: info.requested, active: 1, reason: `${why}; the core runs on one thread since` };
  pool.core.poolMarkFailed(); // a call running now (an async fit) reports WORKER_FAILED at its next step
  pool.core.poolConfigure(1, pool.scratch, pool.mayWait, DEFAULT_FAIL_AFTER_MS);
  pool.core.poolQuit();
  for (const w of workers) w.terminate();
  workers = [];
}

/** The error of a call during which a worker stopped (the core saw it and changed nothing). */
export function workerFailed(where = ''): BackpropError {
  workerDied('a pool worker stopped taking part in a computation');
  return new BackpropError(
    'WORKER_FAILED',
    `a pool worker stopped during this call${where}; nothing was updated: the network and optimizer are as they were ` +
      `before it. The core runs on one thread from now on (threadsInfo() tells).`,
  );
}

/** @internal Tests: how long a silent worker is waited for before it counts as dead. */
export function setFailAfterMs(ms: number): void {
  pool?.core.poolConfigure(pool.count, pool.scratch, pool.mayWait, ms);
}
