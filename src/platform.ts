// What the library needs from the platform beyond the web standards: Node's worker_threads, reached
// through process.getBuiltinModule (Node ≥ 20.16) so that the same bundle runs in browsers untouched.

/** The parts of node:worker_threads the trainer uses. */
export interface NodeWorkerThreads {
  Worker: new (source: string, options: { eval: boolean }) => NodeWorker;
  parentPort: NodePort | null;
}

export interface NodePort {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  on(event: 'message', listener: (message: never) => void): void;
}

export interface NodeWorker extends NodePort {
  on(event: string, listener: (value: never) => void): void;
  terminate(): Promise<number>;
  unref(): void;
  ref(): void;
}

interface MaybeNode {
  process?: { getBuiltinModule?: (id: string) => unknown };
}

/** node:worker_threads when running on Node, else null (browsers, Deno without Node APIs). */
export function nodeWorkerThreads(): NodeWorkerThreads | null {
  const process = (globalThis as MaybeNode).process;
  return typeof process?.getBuiltinModule === 'function'
    ? (process.getBuiltinModule('node:worker_threads') as NodeWorkerThreads)
    : null;
}
