// Axis ticks and a linear scale, shared by the plane and the loss plot.
import { fmt } from './format';
import type { Surface } from './surface';

export interface Scale {
  (v: number): number;
  lo: number;
  hi: number;
}

export function linear(lo: number, hi: number, from: number, to: number): Scale {
  const span = hi - lo || 1;
  const s = ((v: number) => from + ((v - lo) / span) * (to - from)) as Scale;
  s.lo = lo;
  s.hi = hi;
  return s;
}

/** About `count` round tick values in [lo, hi]. */
export function ticks(lo: number, hi: number, count: number): number[] {
  const span = hi - lo;
  if (!(span > 0) || !Number.isFinite(span)) return [lo];
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

/** Draws a frame with ticks on the left and bottom of the plot box. */
export function drawAxes(
  surface: Surface,
  box: { x: number; y: number; w: number; h: number },
  sx: Scale,
  sy: Scale,
  options: {
    xLabel?: string;
    yLabel?: string;
    xTick?: (v: number) => string;
    yTick?: (v: number) => string;
    xCount?: number;
    yCount?: number;
    xTicks?: number[];
    yTicks?: number[];
  } = {},
): void {
  const ctx = surface.ctx;
  ctx.strokeStyle = '#999';
  ctx.lineWidth = 1;
  ctx.strokeRect(box.x + 0.5, box.y + 0.5, box.w - 1, box.h - 1);
  const font = '10px system-ui, sans-serif';
  const xt = options.xTicks ?? ticks(sx.lo, sx.hi, options.xCount ?? Math.max(2, Math.floor(box.w / 70)));
  let lastRight = -Infinity;
  for (const v of xt) {
    const x = sx(v);
    ctx.beginPath();
    ctx.moveTo(x, box.y + box.h);
    ctx.lineTo(x, box.y + box.h + 3);
    ctx.stroke();
    const text = (options.xTick ?? fmt)(v);
    const w = surface.measure(text, font).w;
    if (x - w / 2 < lastRight + 4 || x + w / 2 > surface.width) continue;
    surface.label(text, x, box.y + box.h + 4, { font, color: '#555', align: 'center', id: 'tick' });
    lastRight = x + w / 2;
  }
  const yt = options.yTicks ?? ticks(sy.lo, sy.hi, options.yCount ?? Math.max(2, Math.floor(box.h / 40)));
  let lastTop = Infinity;
  for (const v of yt) {
    const y = sy(v);
    if (y < box.y - 0.5 || y > box.y + box.h + 0.5) continue;
    ctx.beginPath();
    ctx.moveTo(box.x - 3, y);
    ctx.lineTo(box.x, y);
    ctx.stroke();
    if (y + 6 > lastTop - 2) continue;
    surface.label((options.yTick ?? fmt)(v), box.x - 5, y - 6, { font, color: '#555', align: 'right', id: 'tick' });
    lastTop = y - 6;
  }
  if (options.xLabel)
    surface.label(options.xLabel, box.x + box.w, box.y + box.h + 17, { font, color: '#333', align: 'right', id: 'axis' });
  if (options.yLabel) surface.label(options.yLabel, box.x + 4, box.y + 3, { font, color: '#333', id: 'axis' });
}
