// The backprop explorer's page: controls, the fit and loss plots, and the backprop view. Training runs in
// demo-worker.js; this thread only draws what it posts.
import type { DemoConfig, DemoState, FromDemoWorker, ToDemoWorker, TraceView } from './protocol';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const worker = new Worker(new URL('./demo-worker.js', import.meta.url), { type: 'module' });
const send = (message: ToDemoWorker) => worker.postMessage(message);
const status = $<HTMLDivElement>('status');

function config(): DemoConfig {
  return {
    width: Math.max(1, Math.min(64, Number($<HTMLInputElement>('width').value) || 10)),
    depth: Math.max(0, Math.min(4, Number($<HTMLInputElement>('depth').value) || 0)),
    activation: $<HTMLSelectElement>('activation').value as DemoConfig['activation'],
    lr: Math.max(1e-5, Number($<HTMLInputElement>('lr').value) || 0.01),
    optimizer: $<HTMLSelectElement>('optimizer').value as DemoConfig['optimizer'],
  };
}

$('start').onclick = () => send({ type: 'run' });
$('pause').onclick = () => send({ type: 'pause' });
$('step').onclick = () => send({ type: 'step' });
$('reset').onclick = () => send({ type: 'reset', config: config() });
for (const id of ['width', 'depth', 'activation', 'lr', 'optimizer'])
  $(id).onchange = () => send({ type: 'reset', config: config() });
$<HTMLInputElement>('sample').oninput = (e) => send({ type: 'sample', index: Number((e.target as HTMLInputElement).value) });

worker.onerror = (e) => {
  status.textContent = `the training worker failed: ${e.message}`;
};
worker.onmessage = (event: MessageEvent<FromDemoWorker>) => {
  const message = event.data;
  if (message.type === 'error') {
    status.textContent = `training stopped: ${message.message}`;
    return;
  }
  render(message);
};
send({ type: 'reset', config: config() });

function render(state: DemoState): void {
  const loss = state.losses.at(-1);
  status.textContent = `step ${state.step}   loss ${loss === undefined ? '–' : loss.toFixed(3)}   ${Math.round(state.stepsPerSecond).toLocaleString('en-US')} steps/s`;
  status.dataset.step = String(state.step);
  status.dataset.loss = loss === undefined ? '' : String(loss);
  status.dataset.firstLoss = state.losses.length ? String(state.losses[0]) : '';
  status.dataset.stepsPerSecond = String(Math.round(state.stepsPerSecond));
  drawFit(state);
  drawLoss(state.losses);
  drawNetwork(state.trace);
}

function context(id: string): [CanvasRenderingContext2D, number, number] {
  const canvas = $<HTMLCanvasElement>(id);
  const ctx = canvas.getContext('2d')!;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  return [ctx, canvas.width, canvas.height];
}

function scale(values: number[], from: number, to: number): (v: number) => number {
  const lo = Math.min(...values),
    hi = Math.max(...values);
  return (v) => from + ((v - lo) / (hi - lo || 1)) * (to - from);
}

function drawFit({ data, grid, curve, trace }: DemoState): void {
  const [ctx, w, h] = context('fit');
  const sx = scale([...data.x, ...grid], 30, w - 10),
    sy = scale([...data.y, ...curve], h - 20, 10);
  ctx.fillStyle = 'rgba(80,80,80,0.6)';
  data.x.forEach((x, i) => {
    ctx.beginPath();
    ctx.arc(sx(x), sy(data.y[i]), 3, 0, 7);
    ctx.fill();
  });
  ctx.strokeStyle = '#d62728';
  ctx.lineWidth = 2.5;
  ctx.beginPath();
  grid.forEach((x, i) => (i ? ctx.lineTo(sx(x), sy(curve[i])) : ctx.moveTo(sx(x), sy(curve[i]))));
  ctx.stroke();
  ctx.strokeStyle = '#1f77b4';
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.arc(sx(trace.x), sy(trace.y), 7, 0, 7);
  ctx.stroke();
}

function drawLoss(losses: number[]): void {
  const [ctx, w, h] = context('loss');
  if (losses.length < 2) return;
  const logs = losses.map((l) => Math.log10(Math.max(l, 1e-12)));
  const sx = (i: number) => 40 + (i / (losses.length - 1)) * (w - 50),
    sy = scale(logs, h - 20, 10);
  ctx.strokeStyle = '#2ca02c';
  ctx.lineWidth = 2;
  ctx.beginPath();
  const stride = Math.max(1, Math.floor(losses.length / 800));
  for (let i = 0; i < losses.length; i += stride) {
    if (i) ctx.lineTo(sx(i), sy(logs[i]));
    else ctx.moveTo(sx(i), sy(logs[i]));
  }
  ctx.stroke();
  ctx.fillStyle = '#333';
  ctx.fillText(losses[0].toFixed(1), 2, sy(logs[0]) + 4);
  ctx.fillText(losses.at(-1)!.toFixed(2), 2, sy(logs.at(-1)!) + 4);
}

const MAX_DRAWN = 12;

/** Columns of neurons: x, then each Linear layer's outputs; forward values on top, the reversed network
 *  with ∂L/∂z below, edges coloured by ∂L/∂w. */
function drawNetwork(trace: TraceView): void {
  const canvas = $<HTMLCanvasElement>('network');
  const [ctx, w, h] = context('network');
  const columns = [[trace.x], ...trace.layers.map((l) => l.a)];
  const dLdz = [null, ...trace.layers.map((l) => l.dLdz)];
  const drawn = columns.map((c) => Math.min(c.length, MAX_DRAWN));
  const half = h / 2;
  const colX = (k: number, reversed: boolean) => {
    const x = 70 + (k / (columns.length - 1)) * (w - 140);
    return reversed ? w - x : x;
  };
  const rowY = (k: number, i: number, top: number) => top + 30 + ((i + 0.5) / drawn[k]) * (half - 50);
  for (const [reversed, top] of [
    [false, 0],
    [true, half],
  ] as const) {
    ctx.fillStyle = '#333';
    ctx.font = '13px system-ui';
    ctx.fillText(
      reversed ? 'backward: ∂L/∂z on the reversed network, edges ∂L/∂w' : 'forward: activations a = σ(z)',
      10,
      top + 16,
    );
    trace.layers.forEach((layer, k) => {
      const magnitude = Math.max(1e-12, ...layer.dLdW.map(Math.abs));
      for (let o = 0; o < drawn[k + 1]; o++) {
        for (let i = 0; i < drawn[k]; i++) {
          const g = layer.dLdW[o * layer.inF + i];
          ctx.strokeStyle =
            g >= 0
              ? `rgba(214,39,40,${0.15 + (0.85 * Math.abs(g)) / magnitude})`
              : `rgba(31,119,180,${0.15 + (0.85 * Math.abs(g)) / magnitude})`;
          ctx.lineWidth = 0.5 + (3 * Math.abs(g)) / magnitude;
          ctx.beginPath();
          ctx.moveTo(colX(k, reversed), rowY(k, i, top));
          ctx.lineTo(colX(k + 1, reversed), rowY(k + 1, o, top));
          ctx.stroke();
        }
      }
    });
    columns.forEach((values, k) => {
      for (let i = 0; i < drawn[k]; i++) {
        const value = reversed ? dLdz[k]?.[i] : values[i];
        const x = colX(k, reversed),
          y = rowY(k, i, top);
        ctx.fillStyle = value === undefined || value === null ? '#eee' : value >= 0 ? '#fde0dd' : '#deebf7';
        ctx.strokeStyle = '#555';
        ctx.lineWidth = 1;
        const radius = Math.max(5, Math.min(13, (half - 50) / drawn[k] / 2 - 1));
        ctx.beginPath();
        ctx.arc(x, y, radius, 0, 7);
        ctx.fill();
        ctx.stroke();
        ctx.fillStyle = '#111';
        ctx.font = '10px ui-monospace, monospace';
        ctx.textAlign = 'center';
        ctx.fillText(
          value === undefined || value === null ? 'x' : formatValue(value),
          x + (radius < 10 ? radius + 16 : 0),
          y + 3,
        );
        ctx.textAlign = 'start';
      }
      if (values.length > MAX_DRAWN) ctx.fillText(`+${values.length - MAX_DRAWN} more`, colX(k, reversed) - 20, top + half - 8);
    });
  }
  ctx.fillStyle = '#333';
  ctx.font = '12px system-ui';
  ctx.fillText(
    `sample x = ${trace.x.toFixed(3)}, y = ${trace.y.toFixed(2)}, prediction ${trace.output.toFixed(2)}, loss ${trace.loss.toFixed(2)}`,
    10,
    h - 6,
  );
  canvas.dataset.rendered = String(Number(canvas.dataset.rendered ?? 0) + 1);
  canvas.dataset.layers = String(trace.layers.length);
}

function formatValue(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0';
  return a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(1) : a >= 0.01 ? v.toFixed(2) : v.toExponential(0);
}
