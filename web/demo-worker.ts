// The demo's training worker: builds the chosen network, trains it full-batch in slices of ~30 ms, and
// posts the fit, the loss curve and a trace of the selected sample after each slice.
import { init, Network, Linear, Relu, Sigmoid, Tanh, MSELoss, SGD, Adam, type Layer, type Optimizer } from 'backprop-wasm';
import { makeRegressionLikeSklearn } from '../examples/sklearn-regression.mjs';
import type { DemoConfig, FromDemoWorker, ToDemoWorker, TraceView } from './protocol';

const data = makeRegressionLikeSklearn({ samples: 100, noise: 10, randomState: 3 });
const lo = Math.min(...data.x),
  hi = Math.max(...data.x);
const grid = Float32Array.from({ length: 120 }, (_, i) => lo + ((hi - lo) * i) / 119);
const mse = new MSELoss();
let net: Network | null = null,
  optimizer: Optimizer | null = null;
let steps = 0,
  losses: number[] = [],
  running = false,
  sample = 0,
  stepsPerSecond = 0;

function activation(kind: DemoConfig['activation']): Layer[] {
  return kind === 'relu' ? [new Relu()] : kind === 'sigmoid' ? [new Sigmoid()] : kind === 'tanh' ? [new Tanh()] : [];
}

function reset(config: DemoConfig): void {
  net?.dispose();
  optimizer?.dispose();
  const layers: Layer[] = [];
  let inputs = 1;
  for (let d = 0; d < config.depth; d++) {
    layers.push(new Linear(inputs, config.width), ...activation(config.activation));
    inputs = config.width;
  }
  layers.push(new Linear(inputs, 1));
  net = new Network(layers, { seed: 3 });
  optimizer =
    config.optimizer === 'adam'
      ? new Adam(net.parameters(), { lr: config.lr })
      : new SGD(net.parameters(), { lr: config.lr, momentum: config.optimizer === 'momentum' ? 0.9 : 0 });
  steps = 0;
  losses = [];
}

function traceView(): TraceView {
  const trace = net!.trace([data.x[sample]], [data.y[sample]], mse);
  return {
    layers: trace.layers.map((l) => ({
      input: Array.from(l.input),
      z: Array.from(l.z),
      a: Array.from(l.a),
      dLdz: Array.from(l.dLdz),
      dLdW: Array.from(l.dLdW),
      inF: l.input.length,
      outF: l.z.length,
    })),
    x: data.x[sample],
    y: data.y[sample],
    output: trace.output[0],
    loss: trace.loss,
  };
}

function post(): void {
  const message: FromDemoWorker = {
    type: 'state',
    step: steps,
    losses,
    grid: Array.from(grid),
    curve: Array.from(net!.predict(grid)),
    stepsPerSecond,
    trace: traceView(),
    data: { x: Array.from(data.x), y: Array.from(data.y) },
  };
  postMessage(message);
}

function trainFor(milliseconds: number, maxSteps = Infinity): void {
  const started = performance.now();
  let done = 0;
  while (done < maxSteps && performance.now() - started < milliseconds) {
    losses.push(net!.trainStep(data.x, data.y, mse, optimizer!));
    steps++;
    done++;
  }
  const seconds = (performance.now() - started) / 1000;
  if (seconds > 0 && done > 1) stepsPerSecond = done / seconds;
}

function loop(): void {
  if (!running) return;
  try {
    trainFor(30);
    post();
  } catch (error) {
    running = false;
    postMessage({ type: 'error', message: String((error as Error).message ?? error) } satisfies FromDemoWorker);
    return;
  }
  setTimeout(loop, 0);
}

self.onmessage = async (event: MessageEvent<ToDemoWorker>) => {
  await init();
  const message = event.data;
  if (message.type === 'reset') {
    running = false;
    reset(message.config);
    post();
  }
  if (message.type === 'run' && !running) {
    running = true;
    loop();
  }
  if (message.type === 'pause') running = false;
  if (message.type === 'step') {
    running = false;
    trainFor(Infinity, 1);
    post();
  }
  if (message.type === 'sample') {
    sample = message.index;
    if (!running) post();
  }
};
