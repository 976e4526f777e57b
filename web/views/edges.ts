// Many line segments drawn in few strokes: segments are grouped by colour and width (both quantised to a
// few levels), then each group is one path. Hundreds of edges per frame cost a handful of stroke calls.

export class EdgeBatch {
  private groups = new Map<string, { color: string; width: number; points: number[] }>();

  add(x0: number, y0: number, x1: number, y1: number, color: string, width: number): void {
    const w = Math.round(width * 4) / 4;
    const key = `${color}|${w}`;
    let g = this.groups.get(key);
    if (!g) {
      g = { color, width: w, points: [] };
      this.groups.set(key, g);
    }
    g.points.push(x0, y0, x1, y1);
  }

  stroke(ctx: CanvasRenderingContext2D): void {
    for (const g of this.groups.values()) {
      ctx.beginPath();
      for (let i = 0; i < g.points.length; i += 4) {
        ctx.moveTo(g.points[i], g.points[i + 1]);
        ctx.lineTo(g.points[i + 2], g.points[i + 3]);
      }
      ctx.strokeStyle = g.color;
      ctx.lineWidth = g.width;
      ctx.stroke();
    }
    this.groups.clear();
  }
}

/** |v| / largest in [0, 1], quantised to `levels` steps (so edges share styles). */
export function level(v: number, largest: number, levels = 8): number {
  const t = Math.min(1, Math.abs(v) / largest);
  return Number.isFinite(t) ? Math.round(t * levels) / levels : 0;
}
