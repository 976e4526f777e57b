// The network as TF Playground draws it: a column per layer, each neuron a small heatmap of its
// activation over the input plane (a curve for one input), edges coloured by the weight's sign and sized
// by its magnitude. Hovering shows a weight or a neuron with its live value; clicking picks it for the
// backprop and gate views.
import type { Problem } from '../problem';
import type { Snapshot } from '../protocol';
import type { HiddenLayer } from '../state';
import { CLASS_COLORS, signed } from './colors';
import { fmt } from './format';
import { HeatmapAtlas, columnScale, softmaxRow } from './heatmap';
import { EdgeBatch, level } from './edges';
import { REGRESSION_RANGE } from './plane';
import { Surface } from './surface';

export type NetworkHit =
  { kind: 'edge'; layer: number; out: number; in: number } | { kind: 'node'; column: number; index: number };

const HEADER = 34;
const GAP = 8;
const ACTIVATION_NAMES: Record<string, string> = {
  relu: 'ReLU',
  leaky: 'LeakyReLU',
  tanh: 'Tanh',
  sigmoid: 'Sigmoid',
  linear: 'linear',
};

export class NetworkView {
  readonly surface: Surface;
  private readonly atlas = new HeatmapAtlas();
  private readonly probabilities = new Float64Array(8);
  /** Node boxes per column (CSS px). */
  private nodes: { x: number; y: number; s: number }[][] = [];
  private columns: number[] = [];

  constructor(canvas: HTMLCanvasElement) {
    this.surface = new Surface(canvas);
  }

  fit(width: number, problem: Problem, hidden: HiddenLayer[]): void {
    this.columns = [problem.features.length, ...hidden.map((h) => h.units), problem.outputs];
    const tallest = Math.max(...this.columns);
    const left = this.labelWidth(problem) + 10;
    const gap = (width - left - 12) / Math.max(1, this.columns.length - 1);
    const s = Math.max(18, Math.min(44, Math.floor(gap / 2.3)));
    this.surface.resize(width, HEADER + tallest * (s + GAP) + 6);
    const spread = (width - left - 12 - s) / Math.max(1, this.columns.length - 1);
    this.nodes = this.columns.map((count, c) => {
      const x = left + c * spread;
      const top = HEADER + ((tallest - count) * (s + GAP)) / 2;
      return Array.from({ length: count }, (_, i) => ({ x, y: top + i * (s + GAP), s }));
    });
  }

  private labelWidth(problem: Problem): number {
    return Math.max(...problem.features.map((f) => this.surface.measure(f.label, this.font()).w));
  }

  private font(): string {
    return '11px system-ui, sans-serif';
  }

  draw(
    problem: Problem,
    snapshot: Snapshot | null,
    hidden: HiddenLayer[],
    chosen: { weight: [number, number, number]; neuron: [number, number] | null },
    hover: NetworkHit | null,
  ): void {
    const s = this.surface;
    const ctx = s.begin();
    this.drawHeaders(hidden, problem);
    if (snapshot) this.drawEdges(snapshot, chosen.weight, hover);
    this.paintTiles(problem, snapshot);
    const one = problem.grid.dims === 1;
    this.nodes.forEach((column, c) =>
      column.forEach((n, i) => {
        const id = `n${c}.${i}`;
        ctx.fillStyle = '#fff';
        ctx.fillRect(n.x, n.y, n.s, n.s);
        if (one) this.drawCurveTile(problem, snapshot, c, i, n);
        else this.atlas.draw(ctx, this.tileIndex(c, i), n.x, n.y, n.s, n.s);
        const picked = chosen.neuron && c === chosen.neuron[0] + 1 && i === chosen.neuron[1];
        const hovered = hover?.kind === 'node' && hover.column === c && hover.index === i;
        ctx.strokeStyle = picked ? '#000' : hovered ? '#333' : '#888';
        ctx.lineWidth = picked ? 2.5 : 1;
        ctx.strokeRect(n.x + 0.5, n.y + 0.5, n.s - 1, n.s - 1);
        s.nodeRect(n.x, n.y, n.s, n.s, id);
      }),
    );
    problem.features.forEach((f, i) => {
      const n = this.nodes[0][i];
      s.label(f.label, n.x - 6, n.y + n.s / 2 - 7, { font: this.font(), align: 'right', color: '#333', id: `feature${i}` });
    });
  }

  private drawHeaders(hidden: HiddenLayer[], problem: Problem): void {
    const s = this.surface;
    const font = '11px system-ui, sans-serif';
    const titles = [
      'inputs',
      ...hidden.map((h, k) => `${k + 1}: ${ACTIVATION_NAMES[h.activation]}`),
      problem.task === 'classification' ? 'logits' : 'output',
    ];
    const spacing = this.nodes.length > 1 ? this.nodes[1][0].x - this.nodes[0][0].x : s.width;
    titles.forEach((title, c) => {
      const n = this.nodes[c][0];
      const cx = n.x + n.s / 2;
      // a title wider than its column's room is shortened rather than overlapping the next one
      let text = title;
      while (text.length > 2 && s.measure(text, font).w > spacing - 6) text = text.slice(0, -1);
      if (text !== title) text = text.slice(0, -1) + '…';
      const w = s.measure(text, font).w;
      const x = Math.max(w / 2 + 1, Math.min(s.width - w / 2 - 1, cx));
      s.label(text, x, 4, { font, align: 'center', color: '#333', id: `title${c}` });
      const count = `${this.columns[c]}`;
      s.label(count, x, 18, { font: '10px system-ui, sans-serif', align: 'center', color: '#777', id: `count${c}` });
    });
  }

  private drawEdges(snapshot: Snapshot, chosen: [number, number, number], hover: NetworkHit | null): void {
    const ctx = this.surface.ctx;
    let largest = 0.5;
    for (const p of snapshot.params) for (const w of p.weight) if (Number.isFinite(w)) largest = Math.max(largest, Math.abs(w));
    let highlight: (() => void) | null = null;
    const batch = new EdgeBatch();
    snapshot.params.forEach((p, layer) => {
      const from = this.nodes[layer],
        to = this.nodes[layer + 1];
      if (!from || !to) return;
      for (let o = 0; o < to.length; o++) {
        for (let i = 0; i < from.length; i++) {
          const w = p.weight[o * from.length + i];
          const t = level(w, largest);
          const [x0, y0, x1, y1] = this.edgeEnds(layer, o, i);
          const picked = layer === chosen[0] && o === chosen[1] && i === chosen[2];
          const hovered = hover?.kind === 'edge' && hover.layer === layer && hover.out === o && hover.in === i;
          if (picked || hovered) {
            const previous = highlight;
            highlight = () => {
              previous?.();
              ctx.beginPath();
              ctx.moveTo(x0, y0);
              ctx.lineTo(x1, y1);
              ctx.strokeStyle = '#000';
              ctx.lineWidth = 2 + 4 * t + 2;
              ctx.stroke();
              ctx.beginPath();
              ctx.moveTo(x0, y0);
              ctx.lineTo(x1, y1);
              ctx.strokeStyle = signed(w, 1);
              ctx.lineWidth = 1 + 4 * t;
              ctx.stroke();
            };
            continue;
          }
          batch.add(x0, y0, x1, y1, signed(w, 0.2 + 0.8 * t), 0.5 + 4 * t);
        }
      }
    });
    batch.stroke(ctx);
    (highlight as (() => void) | null)?.();
  }

  private edgeEnds(layer: number, out: number, input: number): [number, number, number, number] {
    const a = this.nodes[layer][input],
      b = this.nodes[layer + 1][out];
    return [a.x + a.s, a.y + a.s / 2, b.x, b.y + b.s / 2];
  }

  private tileIndex(column: number, index: number): number {
    let t = 0;
    for (let c = 0; c < column; c++) t += this.columns[c];
    return t + index;
  }

  private paintTiles(problem: Problem, snapshot: Snapshot | null): void {
    if (problem.grid.dims !== 2) return;
    const total = this.columns.reduce((a, b) => a + b, 0);
    this.atlas.ensure(total, problem.grid.size);
    const features = problem.features.length;
    for (let i = 0; i < features; i++)
      this.atlas.paintColumn(this.tileIndex(0, i), problem.grid.x, features, i, columnScale(problem.grid.x, features, i));
    const grid = snapshot?.grid;
    if (grid) {
      const last = this.columns.length - 1;
      for (let c = 1; c < last; c++) {
        const values = grid[c - 1],
          width = this.columns[c];
        if (!values) continue;
        for (let j = 0; j < width; j++)
          this.atlas.paintColumn(this.tileIndex(c, j), values, width, j, columnScale(values, width, j));
      }
      const output = grid[last - 1];
      if (output) {
        if (problem.task === 'regression') this.atlas.paintColumn(this.tileIndex(last, 0), output, 1, 0, REGRESSION_RANGE);
        else {
          const k = problem.classes,
            p = this.probabilities;
          for (let c = 0; c < k; c++) {
            const [r, g, b] = CLASS_COLORS[c % 8];
            this.atlas.paintWords(this.tileIndex(last, c), (row) => {
              softmaxRow(output, row * k, k, p);
              const a = p[c],
                mix = (v: number) => Math.round(250 * (1 - a) + v * a);
              return (255 << 24) | (mix(b) << 16) | (mix(g) << 8) | mix(r);
            });
          }
        }
      }
    }
    this.atlas.flush();
  }

  /** For a 1-D problem: the neuron's activation as a curve over x. */
  private drawCurveTile(
    problem: Problem,
    snapshot: Snapshot | null,
    column: number,
    index: number,
    n: { x: number; y: number; s: number },
  ): void {
    const ctx = this.surface.ctx;
    const rows = problem.grid.rows;
    let values: Float32Array | undefined, width: number;
    if (column === 0) {
      values = problem.grid.x;
      width = problem.features.length;
    } else {
      values = snapshot?.grid?.[column - 1];
      width = this.columns[column];
    }
    if (!values) return;
    const scale = columnScale(values, width, index);
    ctx.strokeStyle = '#ddd';
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(n.x, n.y + n.s / 2);
    ctx.lineTo(n.x + n.s, n.y + n.s / 2);
    ctx.stroke();
    ctx.beginPath();
    const step = Math.max(1, Math.floor(rows / 50));
    for (let r = 0; r < rows; r += step) {
      const v = values[r * width + index] / scale;
      const x = n.x + 2 + ((n.s - 4) * r) / (rows - 1),
        y = n.y + n.s / 2 - (v * (n.s - 6)) / 2;
      if (r === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    }
    ctx.strokeStyle = '#2166ac';
    ctx.lineWidth = 1.5;
    ctx.stroke();
  }

  /** The node or edge under a canvas point (CSS px). */
  hit(px: number, py: number): NetworkHit | null {
    for (let c = 0; c < this.nodes.length; c++) {
      for (let i = 0; i < this.nodes[c].length; i++) {
        const n = this.nodes[c][i];
        if (px >= n.x && px <= n.x + n.s && py >= n.y && py <= n.y + n.s) return { kind: 'node', column: c, index: i };
      }
    }
    let best: NetworkHit | null = null,
      bestDistance = 5;
    for (let layer = 0; layer + 1 < this.nodes.length; layer++) {
      for (let o = 0; o < this.nodes[layer + 1].length; o++) {
        for (let i = 0; i < this.nodes[layer].length; i++) {
          const d = segmentDistance(px, py, ...this.edgeEnds(layer, o, i));
          if (d < bestDistance) {
            bestDistance = d;
            best = { kind: 'edge', layer, out: o, in: i };
          }
        }
      }
    }
    return best;
  }

  /** The tooltip text of a hit, with the snapshot's live values. */
  describe(hit: NetworkHit, snapshot: Snapshot | null, problem: Problem, hidden: HiddenLayer[]): string {
    const name = (column: number, index: number) =>
      column === 0
        ? (problem.features[index]?.label ?? `input ${index}`)
        : column === this.columns.length - 1
          ? problem.task === 'classification'
            ? `logit ${index}`
            : 'output'
          : `neuron ${index} of layer ${column}`;
    if (hit.kind === 'edge') {
      const p = snapshot?.params[hit.layer];
      const w = p ? p.weight[hit.out * this.columns[hit.layer] + hit.in] : NaN;
      return `weight W${hit.layer + 1}[${hit.out}, ${hit.in}] = ${fmt(w, 4)}\nfrom ${name(hit.layer, hit.in)} to ${name(hit.layer + 1, hit.out)}\n(click: spell out its gradient)`;
    }
    if (hit.column === 0) return `${name(0, hit.index)}: an input feature, standardised`;
    const p = snapshot?.params[hit.column - 1];
    const act = hit.column - 1 < hidden.length ? ACTIVATION_NAMES[hidden[hit.column - 1].activation] : 'none (logits / value)';
    return `${name(hit.column, hit.index)}\nbias = ${p ? fmt(p.bias[hit.index], 4) : '–'} · activation ${act}\n(click: draw it gate by gate)`;
  }

  /** Where a hit is, to place the tooltip. */
  anchor(hit: NetworkHit): { x: number; y: number } {
    if (hit.kind === 'node') {
      const n = this.nodes[hit.column][hit.index];
      return { x: n.x + n.s / 2, y: n.y + n.s };
    }
    const [x0, y0, x1, y1] = this.edgeEnds(hit.layer, hit.out, hit.in);
    return { x: (x0 + x1) / 2, y: (y0 + y1) / 2 };
  }
}

function segmentDistance(px: number, py: number, x0: number, y0: number, x1: number, y1: number): number {
  const dx = x1 - x0,
    dy = y1 - y0;
  const t = Math.max(0, Math.min(1, ((px - x0) * dx + (py - y0) * dy) / (dx * dx + dy * dy || 1)));
  return Math.hypot(px - (x0 + t * dx), py - (y0 + t * dy));
}
