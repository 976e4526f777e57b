// The lecture's backpropagation for one sample, with its numbers: the network forward (z and a on every
// neuron, edges by weight), then the reversed network backward (δ = ∂L/∂z and the amplifier σ′(z) on every
// neuron, edges by ∂L/∂w). In the step mode's update phase the second band shows what the step changed.
// Labels sit beside their nodes in space the layout reserves for them, so they never cover a node.
import type { ParamsView, SampleTrace, StepReport } from '../protocol';
import { diverging, signed } from './colors';
import { EdgeBatch, level } from './edges';
import { fmt } from './format';
import { Surface } from './surface';

export type Phase = 'forward' | 'backward' | 'update';

interface NodeText {
  lines: string[];
  value: number;
}

interface Band {
  title: string;
  /** Per column, per node: the lines printed beside it and the value that colours it. */
  texts: NodeText[][];
  /** Per Linear layer, the value that colours each edge [out × in]. */
  edges: (Float32Array | null)[];
  reversed: boolean;
  id: string;
}

const R = 9;
const FONTS = [11, 10, 9];

export interface BackpropNumbers {
  sample: number;
  phase: Phase | null;
  x: number[];
  dLdx: number[];
  layers: { z: number[]; a: number[]; dLdz: number[]; sigmaPrime: number[] | null }[];
  /** What each node's labels read, by node id. */
  shown: Record<string, string[]>;
}

export class BackpropView {
  readonly surface: Surface;
  numbers: BackpropNumbers | null = null;

  constructor(canvas: HTMLCanvasElement) {
    this.surface = new Surface(canvas);
  }

  draw(
    width: number,
    trace: SampleTrace,
    params: ParamsView[],
    chosen: [number, number, number],
    phase: Phase | null,
    report: StepReport | null,
    classification: boolean,
  ): void {
    const counts = [trace.x.length, ...trace.layers.map((l) => l.z.length)];
    const bands = (digits: number, names: boolean): Band[] => {
      const f = (v: number) => fmt(v, digits);
      const forward = this.forwardBand(trace, params, classification, f);
      const second =
        phase === 'update' && report ? this.updateBand(report, counts, f) : this.backwardBand(trace, phase === 'forward', f);
      if (!names)
        for (const b of [forward, second])
          for (const column of b.texts) for (const t of column) t.lines = t.lines.map((l) => l.replace(/^[^=]*=/, ''));
      return [forward, second];
    };
    const layout = this.layout(width, counts, bands);
    const s = this.surface;
    s.resize(layout.width, layout.height);
    s.begin();
    layout.bands.forEach((band) => this.drawBand(band.band, band, counts, chosen));
    const shown: Record<string, string[]> = {};
    for (const b of layout.bands)
      b.band.texts.forEach((column, c) =>
        column.forEach((t, i) => {
          shown[`${b.band.id}${c}.${i}`] = t.lines;
        }),
      );
    this.numbers = {
      sample: trace.sample,
      phase,
      x: Array.from(trace.x),
      dLdx: Array.from(trace.dLdx),
      layers: trace.layers.map((l) => ({
        z: Array.from(l.z),
        a: Array.from(l.a),
        dLdz: Array.from(l.dLdz),
        sigmaPrime: l.sigmaPrime && Array.from(l.sigmaPrime),
      })),
      shown,
    };
  }

  private forwardBand(trace: SampleTrace, params: ParamsView[], classification: boolean, fmt: (v: number) => string): Band {
    const last = trace.layers.length - 1;
    const p = classification ? softmax(trace.output) : null;
    const texts: NodeText[][] = [Array.from(trace.x, (v) => ({ lines: [`x=${fmt(v)}`], value: v }))];
    trace.layers.forEach((l, k) => {
      texts.push(
        Array.from(l.z, (z, i) =>
          k === last
            ? { lines: p ? [`z=${fmt(z)}`, `p=${fmt(p[i])}`] : [`ŷ=${fmt(z)}`], value: p ? 2 * p[i] - 1 : z }
            : { lines: [`z=${fmt(z)}`, `a=${fmt(l.a[i])}`], value: l.a[i] },
        ),
      );
    });
    return {
      title: 'forward: z = Σ w·a + b, a = σ(z)   (edges: w)',
      texts,
      edges: params.map((q) => q.weight),
      reversed: false,
      id: 'f',
    };
  }

  private backwardBand(trace: SampleTrace, hidden: boolean, fmt: (v: number) => string): Band {
    const last = trace.layers.length - 1;
    const texts: NodeText[][] = [
      Array.from(trace.dLdx, (v) => ({ lines: hidden ? ['∂x=?'] : [`∂x=${fmt(v)}`], value: hidden ? 0 : v })),
    ];
    trace.layers.forEach((l, k) => {
      texts.push(
        Array.from(l.dLdz, (d, i) => {
          const sp = l.sigmaPrime ? l.sigmaPrime[i] : 1;
          const lines = hidden ? ['δ=?'] : k === last ? [`δ=${fmt(d)}`] : [`δ=${fmt(d)}`, `σ′=${fmt(sp)}`];
          return { lines, value: hidden ? 0 : d };
        }),
      );
    });
    return {
      title: hidden ? 'backward: next phase' : 'backward, the reversed network: δ = ∂L/∂z = σ′(z)·Σ w·δ   (edges: ∂L/∂w)',
      texts,
      edges: hidden ? trace.layers.map(() => null) : trace.layers.map((l) => l.dLdW),
      reversed: true,
      id: 'b',
    };
  }

  private updateBand(report: StepReport, counts: number[], fmt: (v: number) => string): Band {
    const texts: NodeText[][] = [Array.from({ length: counts[0] }, () => ({ lines: ['·'], value: 0 }))];
    report.after.forEach((after, k) => {
      texts.push(
        Array.from(after.bias, (b, i) => ({
          lines: [`Δb=${fmt(b - report.before[k].bias[i])}`],
          value: b - report.before[k].bias[i],
        })),
      );
    });
    const edges = report.after.map((after, k) => after.weight.map((w, j) => w - report.before[k].weight[j]));
    return {
      title: `update: Δw of the step on a batch of ${report.batchRows}   (edges: Δw)`,
      texts,
      edges,
      reversed: false,
      id: 'u',
    };
  }

  /** Horizontal (columns of layers) when the labels fit beside the nodes; else vertical (rows of layers)
   *  with the labels under the nodes, in the largest font, the most digits and with names if they fit;
   *  else vertical and wider than the box (which then scrolls), so labels still never cover anything. */
  private layout(width: number, counts: number[], makeBands: (digits: number, names: boolean) => Band[]) {
    const s = this.surface;
    const widest = (bands: Band[], font: string) =>
      Math.max(...bands.flatMap((b) => b.texts.flat().flatMap((t) => t.lines.map((l) => s.measure(l, font).w))));
    const full = makeBands(3, true);
    for (const size of FONTS) {
      const font = mono(size);
      const labelW = widest(full, font);
      const columnW = 2 * R + 4 + labelW + 18;
      const needed = 12 + (counts.length - 1) * columnW + 2 * R + 4 + labelW + 4;
      if (needed <= width) return this.horizontal(width, counts, full, font, size, labelW);
    }
    const cell = width / Math.max(...counts);
    for (const digits of [3, 2]) {
      for (const names of [true, false]) {
        const bands = makeBands(digits, names);
        for (const size of [...FONTS, 8]) {
          if (widest(bands, mono(size)) <= cell - 4) return this.vertical(width, counts, bands, size, cell);
        }
      }
    }
    const bands = makeBands(2, false);
    const wide = widest(bands, mono(8)) + 4;
    return this.vertical(Math.ceil(wide * Math.max(...counts)), counts, bands, 8, wide);
  }

  private horizontal(width: number, counts: number[], bands: Band[], font: string, size: number, labelW: number) {
    const lineH = size + 3;
    const rowH = Math.max(2 * R + 10, 2 * lineH + 8);
    const tallest = Math.max(...counts);
    const bandH = 26 + tallest * rowH;
    const spread = (width - 12 - 2 * R - 4 - labelW - 4) / Math.max(1, counts.length - 1);
    const placed = bands.map((band, b) => {
      const top = b * (bandH + 10);
      const position = (c: number, i: number) => {
        const column = band.reversed ? counts.length - 1 - c : c;
        const y0 = top + 26 + ((tallest - counts[c]) * rowH) / 2;
        return { x: 12 + R + column * spread, y: y0 + i * rowH + rowH / 2 };
      };
      return {
        band,
        top,
        position,
        font,
        lineH,
        labelAt: (x: number, y: number, lines: number) => ({
          x: x + R + 4,
          y: y - (lines * lineH) / 2 + 1,
          align: 'left' as const,
        }),
      };
    });
    return { width, height: bands.length * bandH + (bands.length - 1) * 10 + 4, bands: placed };
  }

  private vertical(width: number, counts: number[], bands: Band[], size: number, cell: number) {
    const font = mono(size);
    const lineH = size + 3;
    const rowH = 2 * R + 6 + 2 * lineH + 16;
    const bandH = 26 + counts.length * rowH;
    const placed = bands.map((band, b) => {
      const top = b * (bandH + 10);
      const position = (c: number, i: number) => {
        const row = band.reversed ? counts.length - 1 - c : c;
        const x0 = (width - counts[c] * cell) / 2;
        return { x: x0 + (i + 0.5) * cell, y: top + 26 + row * rowH + R + 2 };
      };
      return {
        band,
        top,
        position,
        font,
        lineH,
        labelAt: (x: number, y: number) => ({ x, y: y + R + 3, align: 'center' as const }),
      };
    });
    return { width, height: bands.length * bandH + (bands.length - 1) * 10 + 4, bands: placed };
  }

  private drawBand(
    band: Band,
    at: {
      top: number;
      font: string;
      lineH: number;
      position: (c: number, i: number) => { x: number; y: number };
      labelAt: (x: number, y: number, lines: number) => { x: number; y: number; align: 'left' | 'center' };
    },
    counts: number[],
    chosen: [number, number, number],
  ): void {
    const s = this.surface,
      ctx = s.ctx;
    s.label(shorten(s, band.title, s.width - 8, '12px system-ui, sans-serif'), 4, at.top + 4, {
      font: '12px system-ui, sans-serif',
      color: '#222',
      id: `${band.id}title`,
    });
    // edges
    let largest = 1e-12;
    for (const e of band.edges) if (e) for (const v of e) if (Number.isFinite(v)) largest = Math.max(largest, Math.abs(v));
    let highlight: (() => void) | null = null;
    const batch = new EdgeBatch();
    band.edges.forEach((values, layer) => {
      for (let o = 0; o < counts[layer + 1]; o++) {
        for (let i = 0; i < counts[layer]; i++) {
          const a = at.position(layer, i),
            b = at.position(layer + 1, o);
          const v = values ? values[o * counts[layer] + i] : 0;
          const t = values ? level(v, largest) : 0;
          const line = (style: string, w: number) => {
            ctx.beginPath();
            ctx.moveTo(a.x, a.y);
            ctx.lineTo(b.x, b.y);
            ctx.strokeStyle = style;
            ctx.lineWidth = w;
            ctx.stroke();
          };
          if (layer === chosen[0] && o === chosen[1] && i === chosen[2]) {
            highlight = () => {
              line('#000', 5 + 3 * t);
              line(values ? signed(v, 1) : '#bbb', 2 + 3 * t);
            };
          } else {
            batch.add(
              a.x,
              a.y,
              b.x,
              b.y,
              values ? signed(v, 0.15 + 0.85 * t) : 'rgba(150,150,150,0.35)',
              values ? 0.5 + 3 * t : 0.7,
            );
          }
        }
      }
    });
    batch.stroke(ctx);
    (highlight as (() => void) | null)?.();
    // nodes, then their labels on a light halo
    let scale = 1e-12;
    for (const column of band.texts)
      for (const t of column) if (Number.isFinite(t.value)) scale = Math.max(scale, Math.abs(t.value));
    band.texts.forEach((column, c) =>
      column.forEach((text, i) => {
        const p = at.position(c, i);
        const picked = (c === chosen[0] && i === chosen[2]) || (c === chosen[0] + 1 && i === chosen[1]);
        s.circle(p.x, p.y, R, `${band.id}${c}.${i}`, diverging(text.value / scale), picked ? '#000' : '#555', picked ? 2 : 1);
      }),
    );
    band.texts.forEach((column, c) =>
      column.forEach((text, i) => {
        const p = at.position(c, i);
        const where = at.labelAt(p.x, p.y, text.lines.length);
        text.lines.forEach((line, k) => {
          const { w, h } = s.measure(line, at.font);
          const left = where.align === 'center' ? where.x - w / 2 : where.x;
          const y = where.y + k * at.lineH;
          ctx.fillStyle = 'rgba(255,255,255,0.82)';
          ctx.fillRect(left - 1, y, w + 2, h);
          s.label(line, where.x, y, { font: at.font, align: where.align, id: `${band.id}${c}.${i}` });
        });
      }),
    );
  }
}

const mono = (size: number) => `${size}px ui-monospace, SFMono-Regular, Menlo, monospace`;

function softmax(z: Float32Array): number[] {
  const m = Math.max(...z);
  const e = Array.from(z, (v) => Math.exp(v - m));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** `text` cut (with …) to fit `width` in `font`. */
export function shorten(s: Surface, text: string, width: number, font: string): string {
  if (s.measure(text, font).w <= width) return text;
  let t = text;
  while (t.length > 1 && s.measure(t + '…', font).w > width) t = t.slice(0, -1);
  return t + '…';
}
