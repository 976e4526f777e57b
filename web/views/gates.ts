// The computational graph gate by gate: leaves (boxes) and gates (circles) in columns by depth, each wire
// with its forward value above and its gradient below, each gate's local gradient written under it.
import { type Gate, backward } from '../gates';
import { esc } from './formula';
import { fmt } from './format';
import { Surface } from './surface';

/** Font sizes tried, largest first: a small graph is drawn large, a big one small enough to fit. */
const SIZES = [16, 14, 12, 11, 10, 9, 8];
const SYMBOLS: Record<string, string> = {
  add: '+',
  mul: '×',
  relu: 'max',
  leaky: 'lrelu',
  sigmoid: 'σ',
  tanh: 'tanh',
  identity: 'id',
  mse: '(·)²',
  ce: 'CE',
  rest: '…L',
};

interface Placed {
  gate: Gate;
  column: number;
  x: number;
  y: number;
  halfW: number;
  halfH: number;
  leaf: boolean;
}

export interface GateNumbers {
  title: string;
  nodes: { label: string; kind: string; value: number; grad: number; local: number[] }[];
}

export class GateView {
  readonly surface: Surface;
  numbers: GateNumbers | null = null;
  /** Gate radius and row height, proportional to the font size in use. */
  private r = 14;
  private row = 34;

  constructor(canvas: HTMLCanvasElement) {
    this.surface = new Surface(canvas);
  }

  /** Draws the graph ending at `root` in `width` CSS px (wider if it must, the box then scrolls). */
  draw(width: number, root: Gate, title: string): void {
    const order = backward(root);
    const s = this.surface;
    let font = '',
      placed: Placed[] = [],
      total = 0;
    const leaves = order.filter((g) => !g.inputs.length).length;
    for (const size of SIZES.filter((z) => leaves <= 6 || z <= 11)) {
      font = `${size}px ui-monospace, SFMono-Regular, Menlo, monospace`;
      this.r = Math.round(1.4 * size);
      this.row = Math.round(3.4 * size);
      ({ placed, total } = this.layout(order, root, font, size));
      if (total <= width) break;
    }
    const R = this.r;
    const rows = Math.max(...placed.map((p) => p.y)) + this.row;
    s.resize(Math.max(width, total), rows + 6);
    const ctx = s.begin();
    // wires: a horizontal run from each node (where its labels sit), then straight into its consumer
    const labelW = this.labelWidths(placed, font, root);
    for (const p of placed) {
      const consumer = placed.find((q) => q.gate.inputs.includes(p.gate));
      const startX = p.x + p.halfW,
        runEnd = startX + labelW[p.column] + 8;
      ctx.beginPath();
      ctx.moveTo(startX, p.y);
      ctx.lineTo(runEnd, p.y);
      if (consumer) {
        const dx = consumer.x - runEnd,
          dy = consumer.y - p.y,
          d = Math.hypot(dx, dy) || 1;
        ctx.lineTo(consumer.x - (dx / d) * R, consumer.y - (dy / d) * R);
      }
      ctx.strokeStyle = '#777';
      ctx.lineWidth = 1.2;
      ctx.stroke();
    }
    for (const p of placed) {
      if (p.leaf) {
        ctx.fillStyle = '#f3f3f3';
        ctx.strokeStyle = '#555';
        ctx.lineWidth = 1;
        ctx.beginPath();
        ctx.roundRect(p.x - p.halfW, p.y - p.halfH, 2 * p.halfW, 2 * p.halfH, 4);
        ctx.fill();
        ctx.stroke();
        s.nodeRect(p.x - p.halfW, p.y - p.halfH, 2 * p.halfW, 2 * p.halfH, p.gate.label);
        this.centred(p.gate.label, p.x, p.y, font, '#111');
      } else {
        s.circle(p.x, p.y, R, p.gate.label, '#fff', '#333', 1.3);
        this.centred(SYMBOLS[p.gate.kind] ?? '?', p.x, p.y, `bold ${font}`, '#111');
        const caption = localCaption(p.gate);
        s.label(caption, p.x, p.y + R + 2, {
          font: `italic ${font}`,
          color: '#555',
          align: 'center',
          id: `${p.gate.label}:local`,
        });
      }
      const startX = p.x + p.halfW + 4;
      const valueBox = s.measure('0', font);
      s.label(`${p.gate === root ? `${p.gate.label}=` : ''}${fmt(p.gate.value)}`, startX, p.y - 2 - valueBox.h, {
        font,
        color: '#1d4f91',
        id: `${p.gate.label}:value`,
      });
      s.label(fmt(p.gate.grad), startX, p.y + 2, { font, color: '#9a4a00', id: `${p.gate.label}:grad` });
    }
    this.numbers = {
      title,
      nodes: order.map((g) => ({ label: g.label, kind: g.kind, value: g.value, grad: g.grad, local: [...g.local] })),
    };
  }

  private centred(text: string, x: number, y: number, font: string, color: string): void {
    const ctx = this.surface.ctx;
    this.surface.setFont(font);
    ctx.fillStyle = color;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(text, x, y + 0.5);
    ctx.textAlign = 'left';
    ctx.textBaseline = 'alphabetic';
  }

  private labelWidths(placed: Placed[], font: string, root: Gate): number[] {
    const widths: number[] = [];
    for (const p of placed) {
      const value = `${p.gate === root ? `${p.gate.label}=` : ''}${fmt(p.gate.value)}`;
      const w = Math.max(this.surface.measure(value, font).w, this.surface.measure(fmt(p.gate.grad), font).w);
      widths[p.column] = Math.max(widths[p.column] ?? 0, w);
    }
    return widths;
  }

  /** Columns by depth (a leaf sits just before the gate it feeds); rows in the order of the leaves. */
  private layout(order: Gate[], root: Gate, font: string, size: number): { placed: Placed[]; total: number } {
    const R = this.r,
      ROW = this.row;
    const depth = new Map<Gate, number>();
    for (const g of order) depth.set(g, g.inputs.length ? 1 + Math.max(...g.inputs.map((i) => depth.get(i)!)) : 0);
    const consumer = new Map<Gate, Gate>();
    for (const g of order) for (const i of g.inputs) consumer.set(i, g);
    for (const g of order) if (!g.inputs.length && consumer.has(g)) depth.set(g, depth.get(consumer.get(g)!)! - 1);
    const rowOf = new Map<Gate, number>();
    let next = 0;
    const visit = (g: Gate): number => {
      if (!g.inputs.length) {
        rowOf.set(g, next++);
        return rowOf.get(g)!;
      }
      const rows = g.inputs.map(visit);
      const row = rows.reduce((a, b) => a + b, 0) / rows.length;
      rowOf.set(g, row);
      return row;
    };
    visit(root);
    const columns = Math.max(...order.map((g) => depth.get(g)!)) + 1;
    const half = (g: Gate) => (g.inputs.length ? [R, R] : [this.surface.measure(g.label, font).w / 2 + 0.6 * size, size]);
    const proto: Placed[] = order.map((g) => {
      const [halfW, halfH] = half(g);
      return {
        gate: g,
        column: depth.get(g)!,
        x: 0,
        y: size + 4 + (rowOf.get(g)! + 0.5) * ROW,
        halfW,
        halfH,
        leaf: !g.inputs.length,
      };
    });
    const labelW = this.labelWidths(proto, font, root);
    const halfOf = (c: number) => Math.max(...proto.filter((p) => p.column === c).map((p) => p.halfW), R);
    const xs: number[] = [];
    let x = 6 + halfOf(0);
    for (let c = 0; c < columns; c++) {
      xs[c] = x;
      x += halfOf(c) + 4 + (labelW[c] ?? 0) + 1.6 * size + halfOf(c + 1);
    }
    for (const p of proto) p.x = xs[p.column];
    const total = xs[columns - 1] + halfOf(columns - 1) + 4 + (labelW[columns - 1] ?? 0) + 12;
    return { placed: proto, total };
  }
}

function localCaption(g: Gate): string {
  switch (g.kind) {
    case 'add':
      return '∂=1';
    case 'mul':
      return 'swap';
    case 'rest':
      return `∂=${fmt(g.local[0], 2)}`;
    default:
      return `∂=${fmt(g.local[0], 2)}`;
  }
}

/** The gate-by-gate explanation, from the output back, with the numbers. */
export function gateNotesHtml(root: Gate): string {
  const order = backward(root);
  const items: string[] = [];
  const v = (x: number) => `<span class="num">${fmt(x, 4)}</span>`;
  const p = (x: number) => (x < 0 ? `(${v(x)})` : v(x));
  for (let k = order.length - 1; k >= 0; k--) {
    const g = order[k];
    if (!g.inputs.length) continue;
    const ins = g.inputs.map((i) => esc(i.label));
    const up = `upstream ${esc(g.label)} gradient ${v(g.grad)}`;
    const each =
      g.kind === 'add' && g.inputs.length > 3
        ? `each of its ${g.inputs.length} inputs gets 1 × ${p(g.grad)} = ${v(g.grad)}`
        : g.inputs.map((input, i) => `∂/∂${ins[i]} = ${p(g.local[i])} × ${p(g.grad)} = ${v(input.grad)}`).join(', ');
    let what: string;
    switch (g.kind) {
      case 'add':
        what = `<b>add</b> ${esc(g.label)} = ${ins.join(' + ')} = ${v(g.value)}; local gradients all 1: it <i>distributes</i> the ${up}: ${each}`;
        break;
      case 'mul':
        what = `<b>multiply</b> ${esc(g.label)} = ${ins[0]}·${ins[1]} = ${p(g.inputs[0].value)} × ${p(g.inputs[1].value)} = ${v(g.value)}; each local gradient is the other input: it <i>swaps</i> them: ${each}`;
        break;
      case 'relu':
        what = `<b>max(0, ·)</b> ${esc(g.label)} = max(0, ${v(g.inputs[0].value)}) = ${v(g.value)}; it <i>routes</i> the gradient (local ${g.local[0]}): ${each}`;
        break;
      case 'rest':
        what = `<b>the rest of the network and the loss</b> L = ${v(g.value)}: it hands back ∂L/∂${ins[0]} = ${v(g.local[0])} (net.trace's ∂L/∂a of this neuron)`;
        break;
      case 'mse':
        what = `<b>the loss</b> L = (${ins[0]} − ${ins[1]})² = ${v(g.value)}; local gradient 2(${ins[0]} − ${ins[1]}) = ${v(g.local[0])}: ${each}`;
        break;
      case 'ce':
        what = `<b>the loss</b> L = −log softmax(z)<sub>y</sub> = ${v(g.value)}; local gradient p − [this is y] = ${v(g.local[0])}: ${each}`;
        break;
      default:
        what = `<b>${esc(SYMBOLS[g.kind] ?? g.kind)}</b> ${esc(g.label)}(${v(g.inputs[0].value)}) = ${v(g.value)}; local gradient ${v(g.local[0])}: ${each}`;
    }
    items.push(`<li>${what}</li>`);
  }
  return `<ol>${items.join('')}</ol>`;
}
