// A canvas sized to its box in CSS pixels (sharp on high-DPI screens), and the geometry drawn on it —
// node shapes and the boxes of value labels — kept so tests can check that no label covers a node.

export interface Circle {
  x: number;
  y: number;
  r: number;
  id: string;
}
export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
  id: string;
}
export interface LabelBox {
  x: number;
  y: number;
  w: number;
  h: number;
  text: string;
  id: string;
}

export class Geometry {
  circles: Circle[] = [];
  rects: Rect[] = [];
  labels: LabelBox[] = [];
  width = 0;
  height = 0;

  clear(width: number, height: number): void {
    this.circles = [];
    this.rects = [];
    this.labels = [];
    this.width = width;
    this.height = height;
  }
}

export type Align = 'left' | 'center' | 'right';

export class Surface {
  readonly ctx: CanvasRenderingContext2D;
  readonly geometry = new Geometry();
  width = 0;
  height = 0;
  private dpr = 1;
  private readonly sizes = new Map<string, { w: number; h: number }>();
  private font = '';

  constructor(readonly canvas: HTMLCanvasElement) {
    this.ctx = canvas.getContext('2d')!;
  }

  /** Sizes the canvas to `width` × `height` CSS pixels; returns whether anything changed. */
  resize(width: number, height: number): boolean {
    const dpr = Math.min(2, window.devicePixelRatio || 1);
    width = Math.max(1, Math.floor(width));
    height = Math.max(1, Math.floor(height));
    if (width === this.width && height === this.height && dpr === this.dpr) return false;
    this.width = width;
    this.height = height;
    this.dpr = dpr;
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(height * dpr);
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    this.font = ''; // resizing a canvas resets its context
    return true;
  }

  /** Clears the canvas and the recorded geometry; drawing is then in CSS pixels. */
  begin(): CanvasRenderingContext2D {
    const ctx = this.ctx;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.clearRect(0, 0, this.width, this.height);
    this.geometry.clear(this.width, this.height);
    return ctx;
  }

  circle(x: number, y: number, r: number, id: string, fill: string, stroke = '#444', lineWidth = 1): void {
    const ctx = this.ctx;
    ctx.beginPath();
    ctx.arc(x, y, r, 0, 2 * Math.PI);
    ctx.fillStyle = fill;
    ctx.fill();
    ctx.strokeStyle = stroke;
    ctx.lineWidth = lineWidth;
    ctx.stroke();
    this.geometry.circles.push({ x, y, r, id });
  }

  /** Records a node drawn as a rectangle (a heatmap, a gate's leaf box). */
  nodeRect(x: number, y: number, w: number, h: number, id: string): void {
    this.geometry.rects.push({ x, y, w, h, id });
  }

  /** Draws a label with its top-left (align left), top-centre or top-right at (x, y) and records its box. */
  label(
    text: string,
    x: number,
    y: number,
    options: { font?: string; color?: string; align?: Align; id?: string } = {},
  ): LabelBox {
    const ctx = this.ctx;
    const font = options.font ?? '11px ui-monospace, SFMono-Regular, Menlo, monospace';
    const { w, h } = this.measure(text, font);
    const ascent = this.ascent(font);
    this.setFont(font);
    const left = options.align === 'center' ? x - w / 2 : options.align === 'right' ? x - w : x;
    ctx.fillStyle = options.color ?? '#111';
    ctx.textAlign = 'left';
    ctx.textBaseline = 'alphabetic';
    ctx.fillText(text, left, y + ascent);
    const box = { x: left, y, w, h, text, id: options.id ?? '' };
    this.geometry.labels.push(box);
    return box;
  }

  /** The size `text` would take in `font`. Monospace text (the numbers, which change every frame) is
   *  measured as the sum of its characters' advances, each measured once; other text is cached whole. */
  measure(text: string, font: string): { w: number; h: number } {
    if (font.includes('monospace')) {
      let w = 0;
      for (const ch of text) w += this.measureWhole(ch, font).w;
      return { w, h: this.measureWhole('0', font).h };
    }
    return this.measureWhole(text, font);
  }

  private measureWhole(text: string, font: string): { w: number; h: number } {
    const key = `${font}|${text}`;
    let size = this.sizes.get(key);
    if (size === undefined) {
      this.setFont(font);
      const m = this.ctx.measureText(text);
      size = {
        w: m.width,
        h: (m.fontBoundingBoxAscent ?? m.actualBoundingBoxAscent) + (m.fontBoundingBoxDescent ?? m.actualBoundingBoxDescent),
      };
      if (this.sizes.size > 5000) this.sizes.clear();
      this.sizes.set(key, size);
    }
    return size;
  }

  /** Sets the font only when it changes (the canvas parses the string on every assignment). */
  setFont(font: string): void {
    if (this.font !== font) {
      this.ctx.font = font;
      this.font = font;
    }
  }

  private ascent(font: string): number {
    const key = `${font}|ascent`;
    let a = this.sizes.get(key);
    if (a === undefined) {
      this.setFont(font);
      const m = this.ctx.measureText('0');
      a = { w: m.fontBoundingBoxAscent ?? m.actualBoundingBoxAscent, h: 0 };
      this.sizes.set(key, a);
    }
    return a.w;
  }

  /** A plain JSON copy of the geometry, in page coordinates of the canvas's top-left too. */
  exported(): { left: number; top: number; width: number; height: number; circles: Circle[]; rects: Rect[]; labels: LabelBox[] } {
    const rect = this.canvas.getBoundingClientRect();
    const g = this.geometry;
    return {
      left: rect.left + window.scrollX,
      top: rect.top + window.scrollY,
      width: g.width,
      height: g.height,
      circles: g.circles.map((c) => ({ ...c })),
      rects: g.rects.map((r) => ({ ...r })),
      labels: g.labels.map((l) => ({ ...l })),
    };
  }
}
