// Train and test loss over the steps (the bounded history from the worker), on a log or linear axis.
// Train is a solid orange line, test a dashed blue one: they differ without colour too.
import { finiteRange } from '../history';
import type { Snapshot } from '../protocol';
import { drawAxes, linear, ticks } from './axes';
import { fmt } from './format';
import { Surface } from './surface';

export class LossView {
  readonly surface: Surface;

  constructor(canvas: HTMLCanvasElement) {
    this.surface = new Surface(canvas);
  }

  fit(width: number): void {
    this.surface.resize(width, Math.round(Math.max(170, Math.min(240, width * 0.5))));
  }

  draw(snapshot: Snapshot | null, scale: 'log' | 'linear', stepScale: 'log' | 'linear'): void {
    const s = this.surface;
    const ctx = s.begin();
    const box = { x: 46, y: 24, w: s.width - 56, h: s.height - 58 };
    const h = snapshot?.history;
    if (!h || h.steps.length === 0) return;
    const log = scale === 'log';
    const value = (v: number) => (log ? (v > 0 ? Math.log10(v) : NaN) : v);
    let [lo, hi] = finiteRange([h.train, h.test], value);
    if (hi - lo < 1e-9) {
      lo -= 0.5;
      hi += 0.5;
    }
    if (!log) lo = Math.min(0, lo);
    const pad = (hi - lo) * 0.05;
    // on a log step axis, step s sits at log10(s + 1): step 0 at the left edge
    const logSteps = stepScale === 'log';
    const last = Math.max(1, h.steps[h.steps.length - 1]);
    const sxRaw = logSteps ? linear(0, Math.log10(last + 1), box.x, box.x + box.w) : linear(0, last, box.x, box.x + box.w);
    const sx = Object.assign((v: number) => sxRaw(logSteps ? Math.log10(v + 1) : v), { lo: sxRaw.lo, hi: sxRaw.hi });
    const sy = linear(lo - (log ? pad : 0), hi + pad, box.y + box.h, box.y);
    const yTicks = log ? decades(sy.lo, sy.hi) : undefined;
    const xTicks = logSteps ? decadeSteps(last) : undefined;
    drawAxes(s, box, logSteps ? sxRaw : sx, sy, {
      xLabel: logSteps ? 'step (log)' : 'step',
      yTick: log ? (v) => fmt(10 ** v) : fmt,
      yTicks,
      xTicks: xTicks?.map((v) => Math.log10(v + 1)),
      xTick: logSteps ? (v) => fmt(Math.round(10 ** v - 1)) : fmt,
    });
    const line = (values: Float32Array, color: string, dash: number[]) => {
      ctx.beginPath();
      let pen = false;
      for (let i = 0; i < values.length; i++) {
        const v = value(values[i]);
        if (!Number.isFinite(v)) {
          pen = false;
          continue;
        }
        const x = sx(h.steps[i]),
          y = sy(v);
        if (pen) ctx.lineTo(x, y);
        else ctx.moveTo(x, y);
        pen = true;
      }
      ctx.setLineDash(dash);
      ctx.strokeStyle = color;
      ctx.lineWidth = 2;
      ctx.stroke();
      ctx.setLineDash([]);
    };
    ctx.save();
    ctx.beginPath();
    ctx.rect(box.x, box.y, box.w, box.h);
    ctx.clip();
    line(h.train, '#b35806', []);
    line(h.test, '#2166ac', [6, 4]);
    ctx.restore();
    const legendFont = '11px system-ui, sans-serif';
    const train = `train ${fmt(snapshot.trainLoss, 4)}`,
      test = `test ${fmt(snapshot.testLoss, 4)}`;
    const rw = s.measure(train, legendFont).w;
    // the legend above the plot, with the latest values
    const left = box.x;
    legendLine(ctx, left, 11, '#b35806', []);
    s.label(train, left + 20, 4, { font: legendFont, color: '#333', id: 'legend' });
    legendLine(ctx, left + rw + 34, 11, '#2166ac', [4, 3]);
    s.label(test, left + rw + 54, 4, { font: legendFont, color: '#333', id: 'legend' });
  }
}

function legendLine(ctx: CanvasRenderingContext2D, x: number, y: number, color: string, dash: number[]): void {
  ctx.beginPath();
  ctx.moveTo(x, y);
  ctx.lineTo(x + 16, y);
  ctx.setLineDash(dash);
  ctx.strokeStyle = color;
  ctx.lineWidth = 2;
  ctx.stroke();
  ctx.setLineDash([]);
}

/** Steps 0, 1, 10, 100, … up to `last`. */
function decadeSteps(last: number): number[] {
  const out = [0];
  for (let v = 1; v <= last; v *= 10) out.push(v);
  return out;
}

/** Tick positions (in log10 units) at powers of ten, or finer when the range spans less than two. */
function decades(lo: number, hi: number): number[] {
  const out: number[] = [];
  if (hi - lo >= 2) {
    const step = Math.ceil((hi - lo) / 6);
    for (let e = Math.ceil(lo); e <= hi; e += step) out.push(e);
    return out;
  }
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
    for (const m of [1, 2, 5]) {
      const v = e + Math.log10(m);
      if (v >= lo && v <= hi) out.push(v);
    }
  }
  // a narrow range: round values between, placed on the log axis
  return out.length >= 2
    ? out
    : ticks(10 ** lo, 10 ** hi, 4)
        .filter((v) => v > 0)
        .map(Math.log10);
}
