// The client of test/torch/oracle.py: real PyTorch (Debian's python3-torch under /usr/bin/python3) as the
// reference our results are compared with. One Python process per test file, requests answered in order;
// the request and reply shapes are documented at the top of oracle.py and typed here.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

/** The interpreter that has torch (the python3 first on PATH may be another one). BACKPROP_TORCH_PYTHON
 *  overrides it only to check what happens without torch. */
export const TORCH_PYTHON = process.env.BACKPROP_TORCH_PYTHON ?? '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./oracle.py', import.meta.url));
const MISSING = 'python3-torch is not installed: run scripts/ensure-torch.sh';

// ---------------------------------------------------------------- the protocol's values

export type TensorDtype =
  'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';
/** Non-finite numbers travel as the strings 'NaN', 'Infinity', '-Infinity' (JSON has no literal for them). */
export type JsonNumber = number | 'NaN' | 'Infinity' | '-Infinity';
export interface TorchTensor {
  shape: number[];
  data: JsonNumber[];
  dtype?: TensorDtype;
}
/** A torch class by name: getattr(torch.nn | torch.optim | torch.optim.lr_scheduler, type)(*args, **kwargs),
 *  camelCase keys made snake_case. Keys besides type/args/kwargs are kwargs too. */
export type TorchSpec = string | ({ type: string; args?: unknown[]; kwargs?: Record<string, unknown> } & Record<string, unknown>);
export type StateDict = Record<string, TorchTensor>;
export type Mode = 'train' | 'eval';

const encodeNumber = (v: number): JsonNumber =>
  Number.isFinite(v) ? v : Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
const decodeNumber = (v: JsonNumber): number => (typeof v === 'number' ? v : Number(v));

/** A tensor for a request; `shape` defaults to one dimension. */
export function tensor(values: ArrayLike<number>, shape: number[] = [values.length], dtype?: TensorDtype): TorchTensor {
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== values.length) throw new Error(`tensor of shape [${shape}] needs ${size} values, got ${values.length}`);
  const data = Array.from(values, encodeNumber);
  return dtype ? { shape, data, dtype } : { shape, data };
}

/** Class indices (int64 for torch). */
export const indices = (values: ArrayLike<number>): TorchTensor => tensor(values, [values.length], 'int64');

/** A reply tensor's values as float32 (what they are for float tensors). */
export function floats(t: TorchTensor): Float32Array {
  return Float32Array.from(t.data, decodeNumber);
}

/** A reply tensor's values as float64 (for replies of 'float64' precision requests). */
export function doubles(t: TorchTensor): Float64Array {
  return Float64Array.from(t.data, decodeNumber);
}

/** A reply number ('NaN' etc. decoded). */
export const num = (v: JsonNumber): number => decodeNumber(v);

/** A state_dict from named float32 arrays (e.g. net.parameters()). */
export function stateDict(params: { name: string; shape: readonly number[]; data: ArrayLike<number> }[]): StateDict {
  return Object.fromEntries(params.map((p) => [p.name, tensor(p.data, [...p.shape])]));
}

export const base64 = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
export const fromBase64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64'));

// ---------------------------------------------------------------- requests and replies

/** Fields every request may carry. */
interface Common {
  /** torch.manual_seed at the start of the request (default 0). */
  seed?: number;
  /** 'float64' runs the request in float64 (replies then hold float64 values), to measure how much a case
   *  amplifies float32 rounding; default 'float32'. */
  precision?: 'float32' | 'float64';
}

interface NetworkRequest extends Common {
  layers: TorchSpec[];
  /** Initial state_dict (default: torch's own init from `seed`). */
  state?: StateDict;
  /** load_state_dict(strict); default true. */
  strict?: boolean;
  mode?: Mode;
}

export interface RunRequest extends NetworkRequest {
  x: TorchTensor;
  loss?: TorchSpec;
  target?: TorchTensor;
  grad_output?: TorchTensor;
}
export interface RunReply {
  output: TorchTensor;
  loss: JsonNumber | TorchTensor | null;
  grads: StateDict;
  dx: TorchTensor | null;
  state: StateDict;
}

export interface Batch {
  x: TorchTensor;
  target: TorchTensor;
}
export interface TrainRequest extends NetworkRequest {
  loss: TorchSpec;
  /** May carry clipGradNorm (clip_grad_norm_ before each step). */
  optimizer: TorchSpec;
  scheduler?: TorchSpec;
  x?: TorchTensor;
  target?: TorchTensor;
  batches?: Batch[];
  steps?: number;
}
export interface TrainReply {
  losses: JsonNumber[];
  lrs: JsonNumber[];
  lr: JsonNumber;
  state: StateDict;
  optimizer_state: Record<string, Record<string, TorchTensor | JsonNumber>>;
  /** With clipGradNorm: each step's total gradient norm before clipping. */
  grad_norms: JsonNumber[] | null;
}

export interface ScheduleRequest extends Common {
  scheduler: TorchSpec;
  steps: number;
  lr?: number;
  optimizer?: TorchSpec;
  metrics?: number[];
}
export interface ScheduleReply {
  lrs: JsonNumber[];
  momentums: JsonNumber[] | null;
}

export interface LoadStateDictRequest extends Omit<NetworkRequest, 'state'> {
  /** base64 safetensors */
  file: string;
  x?: TorchTensor;
  modes?: Mode[];
  ignore_prefixes?: string[];
}
export interface LoadStateDictReply {
  outputs: Partial<Record<Mode, TorchTensor>> | null;
  load_error: string | null;
  metadata: Record<string, string> | null;
  dtypes: Record<string, string>;
}

export type SafetensorsDtype = 'F32' | 'F64' | 'F16' | 'BF16';
export interface SaveStateDictRequest extends NetworkRequest {
  x?: TorchTensor;
  modes?: Mode[];
  dtype?: SafetensorsDtype;
  metadata?: Record<string, string>;
}
export interface SaveStateDictReply {
  file: string;
  state: StateDict;
  outputs: Partial<Record<Mode, TorchTensor>> | null;
}

export interface ReadSafetensorsReply {
  tensors: StateDict;
  dtypes: Record<string, string>;
  metadata: Record<string, string> | null;
}
export interface InfoReply {
  torch: string;
  python: string;
  threads: number;
  dtype: string;
}

interface Ops {
  info: [Record<string, never>, InfoReply];
  run: [RunRequest, RunReply];
  train: [TrainRequest, TrainReply];
  schedule: [ScheduleRequest, ScheduleReply];
  load_state_dict: [LoadStateDictRequest, LoadStateDictReply];
  save_state_dict: [SaveStateDictRequest, SaveStateDictReply];
  read_safetensors: [{ file: string }, ReadSafetensorsReply];
}

// ---------------------------------------------------------------- the process

interface Pending {
  op: string;
  resolve: (reply: never) => void;
  reject: (error: Error) => void;
}

/** One oracle.py process. Requests are answered in order; a failed request rejects with torch's error. */
export class TorchOracle {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | null = null;
  private stderr = '';
  private readonly exited: Promise<void>;

  constructor(private readonly python = TORCH_PYTHON) {
    this.child = spawn(python, [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-4000);
    });
    this.child.stdin.on('error', () => {}); // a dead process is reported by 'exit'
    createInterface({ input: this.child.stdout }).on('line', (line) => this.onLine(line));
    this.exited = new Promise((resolve) => {
      this.child.on('error', (error: NodeJS.ErrnoException) => {
        this.fail(new Error(`${MISSING} (cannot start ${this.python}: ${error.message})`));
        resolve();
      });
      this.child.on('exit', (code, signal) => {
        this.fail(
          new Error(`the torch oracle exited (${signal ?? `status ${code}`}); stderr: ${this.stderr.trim() || '(empty)'}`),
        );
        resolve();
      });
    });
  }

  private onLine(line: string): void {
    let reply: { id?: number; fatal?: string; error?: string; traceback?: string };
    try {
      reply = JSON.parse(line);
    } catch {
      this.fail(new Error(`the torch oracle wrote a line that is not JSON: ${line.slice(0, 300)}`));
      return;
    }
    if (reply.fatal) {
      this.fail(new Error(`${MISSING} (${reply.fatal})`));
      return;
    }
    const waiting = this.pending.get(reply.id!);
    if (!waiting) {
      this.fail(new Error(`the torch oracle answered an unknown request: ${line.slice(0, 300)}`));
      return;
    }
    this.pending.delete(reply.id!);
    if (reply.error) waiting.reject(new Error(`torch oracle '${waiting.op}' failed: ${reply.error}\n${reply.traceback ?? ''}`));
    else waiting.resolve(reply as never);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiting of this.pending.values()) waiting.reject(this.failure);
    this.pending.clear();
  }

  /** Sends one request; resolves with its reply, rejects with torch's error text. */
  request<K extends keyof Ops>(op: K, body: Ops[K][0]): Promise<Ops[K][1]> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { op, resolve, reject });
      this.child.stdin.write(`${JSON.stringify({ ...body, op, id })}\n`);
    });
  }

  info = () => this.request('info', {});
  run = (body: RunRequest) => this.request('run', body);
  train = (body: TrainRequest) => this.request('train', body);
  schedule = (body: ScheduleRequest) => this.request('schedule', body);
  loadStateDict = (body: LoadStateDictRequest) => this.request('load_state_dict', body);
  saveStateDict = (body: SaveStateDictRequest) => this.request('save_state_dict', body);
  readSafetensors = (bytes: Uint8Array) => this.request('read_safetensors', { file: base64(bytes) });

  /** Ends the process (closing its stdin), killing it if it has not exited after 5 s. */
  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** The oracle for one test file: started now, closed after the file's tests. */
export function useTorchOracle(): TorchOracle {
  const oracle = new TorchOracle();
  afterAll(() => oracle.close());
  return oracle;
}

// ---------------------------------------------------------------- comparing with torch

/** The worst element of a comparison: error = max|a − b| / max(max|b|, floor), a relative error on the
 *  scale of the expected tensor (the floor keeps all-zero tensors comparable). NaN/Infinity anywhere, a
 *  length mismatch, or a non-finite difference give error Infinity. */
export interface Comparison {
  error: number;
  index: number;
  actual: number;
  expected: number;
  scale: number;
}

export const DEFAULT_FLOOR = 1e-6;

export function compare(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = DEFAULT_FLOOR): Comparison {
  if (actual.length !== expected.length) {
    return { error: Infinity, index: -1, actual: actual.length, expected: expected.length, scale: NaN };
  }
  let scale = floor;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  let worst: Comparison = { error: 0, index: -1, actual: NaN, expected: NaN, scale };
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i],
      b = expected[i];
    const error = Number.isFinite(a) && Number.isFinite(b) ? Math.abs(a - b) / scale : Object.is(a, b) ? 0 : Infinity;
    if (error > worst.error || worst.index < 0) worst = { error, index: i, actual: a, expected: b, scale };
  }
  return worst;
}

/** Element by element: error = max_i |a_i − b_i| / max(|b_i|, floor), for sequences whose entries each
 *  matter at their own scale (a loss per step, a learning rate per step). */
export function compareEach(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = DEFAULT_FLOOR): Comparison {
  if (actual.length !== expected.length) {
    return { error: Infinity, index: -1, actual: actual.length, expected: expected.length, scale: NaN };
  }
  let worst: Comparison = { error: 0, index: -1, actual: NaN, expected: NaN, scale: NaN };
  for (let i = 0; i < expected.length; i++) {
    const c = compare([actual[i]], [expected[i]], floor);
    if (c.error > worst.error || worst.index < 0) worst = { ...c, index: i };
  }
  return worst;
}

/** The comparison as text; `actual` and `expected` name the two sides. */
export function describeComparison(c: Comparison, actual = 'ours', expected = 'torch'): string {
  if (c.index < 0 && c.error === Infinity) return `length ${c.actual} (${actual}) ≠ ${c.expected} (${expected})`;
  return `relative error ${c.error.toExponential(2)} at [${c.index}]: ${actual} ${c.actual}, ${expected} ${c.expected} (scale ${c.scale.toExponential(2)})`;
}

/** Worst errors by kind (a layer, loss or optimizer name), printed as one line per kind at the end. */
export class WorstErrors {
  private readonly worst = new Map<string, { error: number; what: string; count: number }>();

  /** Records a comparison under every kind in `kinds` (`actual` and `expected` name its two sides). */
  record(kinds: string | string[], what: string, c: Comparison, actual?: string, expected?: string): void {
    for (const kind of typeof kinds === 'string' ? [kinds] : kinds) {
      const entry = this.worst.get(kind) ?? { error: -1, what: '', count: 0 };
      entry.count++;
      if (c.error > entry.error)
        Object.assign(entry, { error: c.error, what: `${what}: ${describeComparison(c, actual, expected)}` });
      this.worst.set(kind, entry);
    }
  }

  summary(title: string): string {
    const rows = [...this.worst].map(
      ([kind, { error, what, count }]) =>
        `  ${kind.padEnd(34)} worst ${error.toExponential(2)} over ${String(count).padStart(4)} comparisons (${what})`,
    );
    return `${title}\n${rows.join('\n')}`;
  }
}
