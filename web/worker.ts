// The explorer's training worker: trains the run with net.trainStep in slices of ~16 ms and, when the page
// asks, answers with a snapshot (weights, losses, the plane's activations, net.trace of the chosen sample).
// The page asks for the next snapshot only when it has the last one, so nothing piles up.
import { BackpropError, Linear, init, memoryStats, type Loss, type Network, type Optimizer } from 'backprop-wasm';
import { BatchSchedule, gather } from './batches';
import { LossHistory } from './history';
import { GridProbe, buildLoss, buildNetwork, buildOptimizer } from './model';
import type {
  DataSpec,
  FromWorker,
  NetSpec,
  ParamsView,
  SampleTrace,
  Snapshot,
  StepReport,
  ToWorker,
  TrainSpec,
  WorkerError,
} from './protocol';

const SLICE_MS = 16;
/** Evaluating the train and test sets for the loss history may take at most this share of the time. */
const EVAL_SHARE = 0.05;
/** While training, snapshots at most this often (~33 a second): each costs a forward pass over the grid. */
const FRAME_MS = 30;

interface Run {
  generation: number;
  net: Network;
  probe: GridProbe;
  linears: Linear[];
  loss: Loss;
  optimizer: Optimizer;
  spec: NetSpec;
  data: DataSpec;
  schedule: BatchSchedule;
  history: LossHistory;
  xBuffer: Float32Array;
  yBuffer: Float32Array | Int32Array;
  step: number;
  error: WorkerError | null;
  evaluation: { step: number; train: Evaluated; test: Evaluated } | null;
}

interface Evaluated {
  loss: number;
  accuracy: number | null;
}

/** Values per target row: a class index, or one value per output. */
const targetWidth = (spec: NetSpec) => (spec.task === 'classification' ? 1 : spec.outFeatures);

const scope = self as unknown as {
  postMessage(message: FromWorker, transfer: Transferable[]): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
};

let run: Run | null = null;
let running = false;
let rate = { steps: 0, since: 0, perSecond: 0 };
/** An optional limit on steps per second, for watching training slowly; null trains at full speed. */
let speed: { limit: number | null; allowance: number; last: number } = { limit: null, allowance: 0, last: 0 };

function configure(generation: number, spec: NetSpec, train: TrainSpec, data: DataSpec): void {
  if (run) {
    run.optimizer.dispose();
    run.probe.dispose();
    run.net.dispose();
  }
  running = false;
  waiting = null; // a request about the old run: the page asks again
  const net = buildNetwork(spec, train.seed);
  const yWidth = targetWidth(spec);
  const rows = data.trainY.length / yWidth;
  const batch = Math.min(train.batchSize, rows);
  run = {
    generation,
    net,
    probe: new GridProbe(net),
    linears: net.layers.filter((l): l is Linear => l instanceof Linear),
    loss: buildLoss(spec),
    optimizer: buildOptimizer(net, train),
    spec,
    data,
    schedule: new BatchSchedule(rows, train.batchSize, train.seed),
    history: new LossHistory(512),
    xBuffer: new Float32Array(batch * spec.inFeatures),
    yBuffer: spec.task === 'classification' ? new Int32Array(batch) : new Float32Array(batch * yWidth),
    step: 0,
    error: null,
    evaluation: null,
  };
  const at0 = evaluation(run);
  run.history.record(0, at0.train.loss, at0.test.loss);
  rate = { steps: 0, since: performance.now(), perSecond: 0 };
}

function evaluate(r: Run, x: Float32Array, y: Float32Array | Int32Array): Evaluated {
  try {
    const e = r.net.evaluate(x, y, r.loss);
    return { loss: e.loss, accuracy: e.accuracy ?? null };
  } catch {
    return { loss: NaN, accuracy: null }; // outputs that overflowed: shown as a gap, training reports the error
  }
}

function evaluation(r: Run): NonNullable<Run['evaluation']> {
  if (r.evaluation?.step !== r.step) {
    r.evaluation = {
      step: r.step,
      train: evaluate(r, r.data.trainX, r.data.trainY),
      test: evaluate(r, r.data.testX, r.data.testY),
    };
  }
  return r.evaluation;
}

/** The next batch as views of the training data or of the gather buffers. */
function nextBatch(r: Run): [Float32Array, Float32Array | Int32Array] {
  const rows = r.schedule.peek();
  if (rows === null) return [r.data.trainX, r.data.trainY];
  return gather(rows, r.data.trainX, r.data.trainY, r.spec.inFeatures, targetWidth(r.spec), r.xBuffer, r.yBuffer);
}

/** One step; on a NaN/Infinity the library has left the network as it was, and the run stops there. */
function trainOne(r: Run): void {
  const [x, y] = nextBatch(r);
  try {
    r.net.trainStep(x, y, r.loss, r.optimizer);
  } catch (error) {
    r.error = {
      code: error instanceof BackpropError ? error.code : 'ERROR',
      message: (error as Error).message ?? String(error),
      step: r.step + 1,
    };
    running = false;
    throw error;
  }
  r.schedule.advance();
  r.step++;
  rate.steps++;
  if (r.history.wants(r.step)) {
    const started = performance.now();
    const e = evaluation(r);
    r.history.record(r.step, e.train.loss, e.test.loss);
    costs.evaluation = 0.8 * costs.evaluation + 0.2 * (performance.now() - started);
    // keep the evaluations' share of the time small: record less often when they cost more than steps
    r.history.setCostStride(costs.evaluation / (EVAL_SHARE * Math.max(1e-4, costs.step)));
  }
}

/** Moving averages of the milliseconds one training step and one evaluation of both sets take. */
const costs = { step: 0.01, evaluation: 0, snapshot: 0 };

const params = (r: Run): ParamsView[] => r.linears.map((l) => ({ weight: l.weight.slice(), bias: l.bias!.slice() }));

function traceSample(r: Run, sample: number): SampleTrace {
  const f = r.spec.inFeatures,
    yWidth = targetWidth(r.spec);
  const s = Math.max(0, Math.min(r.data.trainY.length / yWidth - 1, sample));
  const x = r.data.trainX.slice(s * f, (s + 1) * f),
    y = r.data.trainY.slice(s * yWidth, (s + 1) * yWidth);
  const t = r.net.trace(x, y, r.loss);
  return {
    sample: s,
    x,
    target: y[0],
    loss: t.loss,
    output: t.output,
    dLdx: t.dLdx,
    layers: t.layers.map((l) => ({
      input: l.input,
      z: l.z,
      a: l.a,
      dLda: l.dLda,
      sigmaPrime: l.sigmaPrime,
      dLdz: l.dLdz,
      dLdW: l.dLdW,
      dLdb: l.dLdb,
    })),
  };
}

function snapshot(r: Run, request: { sample: number; grid: boolean }): Snapshot {
  let trainLoss: number,
    testLoss: number,
    evalStep: number,
    trainAccuracy: number | null = null,
    testAccuracy: number | null = null;
  const h = r.history,
    last = h.last();
  if (running && last) {
    // while training, the last recorded point (evaluating both sets every frame would cost training time)
    evalStep = last.step;
    trainLoss = last.train;
    testLoss = last.test;
    if (r.evaluation?.step === evalStep) {
      trainAccuracy = r.evaluation.train.accuracy;
      testAccuracy = r.evaluation.test.accuracy;
    }
  } else {
    const e = evaluation(r);
    evalStep = r.step;
    trainLoss = e.train.loss;
    testLoss = e.test.loss;
    trainAccuracy = e.train.accuracy;
    testAccuracy = e.test.accuracy;
  }
  let grid: Float32Array[] | null = null,
    trace: SampleTrace | null = null;
  try {
    grid = request.grid ? r.probe.run(r.data.gridX) : null;
    trace = traceSample(r, request.sample);
  } catch {
    // a network on the edge of overflow: the views keep their last picture
  }
  return {
    type: 'snapshot',
    generation: r.generation,
    step: r.step,
    epoch: r.schedule.epoch,
    running,
    stepsPerSecond: rate.perSecond,
    history: { ...h.snapshot(), stride: h.stride },
    evalStep,
    trainLoss,
    testLoss,
    trainAccuracy,
    testAccuracy,
    params: params(r),
    grid,
    trace,
    error: r.error,
    wasmBytes: memoryStats().wasmBytes,
    costs: null,
  };
}

/** The buffers of typed arrays that own them whole (never a view into WASM memory), each once. */
function transferables(value: unknown, out = new Set<ArrayBuffer>()): Transferable[] {
  if (ArrayBuffer.isView(value)) {
    const buffer = value.buffer;
    if (buffer instanceof ArrayBuffer && value.byteOffset === 0 && value.byteLength === buffer.byteLength) out.add(buffer);
  } else if (Array.isArray(value)) {
    for (const v of value) transferables(v, out);
  } else if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) transferables(v, out);
  }
  return [...out];
}

function post(message: FromWorker): void {
  scope.postMessage(message, transferables(message));
}

/** Messages are handled between slices, when the network is between two steps, so a snapshot can be
 *  taken at once; while training, one that comes sooner than FRAME_MS after the last waits for the end of
 *  the next slice. */
let waiting: { sample: number; grid: boolean } | null = null;
let lastFrame = 0;

function requestFrame(r: Run, request: { sample: number; grid: boolean }): void {
  if (running && performance.now() - lastFrame < FRAME_MS) waiting = request;
  else answerFrame(r, request);
}

function answerFrame(r: Run, request: { sample: number; grid: boolean }): void {
  waiting = null;
  const started = performance.now();
  lastFrame = started;
  const message = snapshot(r, request);
  message.costs = { ...costs };
  post(message);
  costs.snapshot = 0.8 * costs.snapshot + 0.2 * (performance.now() - started);
}

function updateRate(): void {
  const now = performance.now();
  if (now - rate.since >= 500) {
    rate.perSecond = rate.steps / ((now - rate.since) / 1000);
    rate.steps = 0;
    rate.since = now;
  }
}

// Slices are scheduled through a MessageChannel: unlike setTimeout(0), it is not clamped to 4 ms, and
// messages from the page queued meanwhile are handled first. One slice at most is scheduled at a time
// (a pause and a run in quick succession must not start a second loop).
const channel = new MessageChannel();
let scheduled = false;
channel.port1.onmessage = () => slice();

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  if (speed.limit === null) channel.port2.postMessage(0);
  else setTimeout(slice, 15); // a limited speed leaves the worker idle in between
}

function slice(): void {
  scheduled = false;
  const r = run;
  if (!running || !r) return;
  const started = performance.now();
  let budget = Infinity;
  if (speed.limit !== null) {
    speed.allowance = Math.min(speed.limit * 0.1 + 1, speed.allowance + ((started - speed.last) / 1000) * speed.limit);
    speed.last = started;
    budget = Math.floor(speed.allowance);
    speed.allowance -= budget;
  }
  // a snapshot waiting to be taken ends the slice when it is due
  const deadline = waiting ? Math.max(started + 1, lastFrame + FRAME_MS) : started + SLICE_MS;
  let done = 0;
  try {
    do {
      for (let i = 0; i < 8 && running && done < budget; i++, done++) trainOne(r);
    } while (running && done < budget && performance.now() < deadline);
  } catch {
    if (waiting) answerFrame(r, waiting); // it carries the error, with the state from before the step
    return;
  }
  if (done > 0) costs.step = 0.8 * costs.step + 0.2 * ((performance.now() - started) / done);
  updateRate();
  if (waiting && performance.now() - lastFrame >= FRAME_MS) answerFrame(r, waiting);
  schedule();
}

function step(r: Run, count: number, report: boolean): void {
  running = false;
  if (r.error) return;
  try {
    if (!report) {
      for (let i = 0; i < count; i++) trainOne(r);
      return;
    }
    const [x, y] = nextBatch(r);
    const before = params(r);
    const t = r.net.trace(x, y, r.loss);
    const stepBefore = r.step;
    trainOne(r);
    const message: StepReport = {
      type: 'step-report',
      generation: r.generation,
      stepBefore,
      batchRows: y.length / targetWidth(r.spec),
      batchLoss: t.loss,
      gradient: t.layers.map((l) => ({ dLdW: l.dLdW, dLdb: l.dLdb ?? new Float32Array(0) })),
      before,
      after: params(r),
    };
    post(message);
  } catch {
    // r.error holds it; the next snapshot shows it
  }
}

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'configure':
      configure(message.generation, message.net, message.train, message.data);
      break;
    case 'run':
      if (run && !run.error && !running) {
        running = true;
        rate = { steps: 0, since: performance.now(), perSecond: rate.perSecond };
        schedule();
      }
      break;
    case 'pause':
      running = false;
      if (run && waiting) answerFrame(run, waiting);
      break;
    case 'step':
      if (run) step(run, message.count, message.report);
      break;
    case 'frame':
      if (run) requestFrame(run, message);
      break;
    case 'speed':
      speed = { limit: message.stepsPerSecond, allowance: 0, last: performance.now() };
      break;
  }
}

const ready = init();
let queue: Promise<void> = Promise.resolve();
scope.onmessage = (event) => {
  queue = queue
    .then(() => ready)
    .then(() => handle(event.data))
    .catch((error: unknown) => {
      post({ type: 'fatal', message: String((error as Error)?.stack ?? error) });
    });
};
