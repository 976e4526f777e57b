// The output over the input plane: decision regions (classification) or the predicted value (regression)
// as a 50×50 heatmap under the train and test points; for one input, the fitted curve over the scatter.
import type { Problem } from '../problem';
import type { Snapshot } from '../protocol';
import { type Scale, drawAxes, linear } from './axes';
import { classCss, diverging, marker } from './colors';
import { HeatmapAtlas, classWord, softmaxRow } from './heatmap';
import { Surface } from './surface';

/** Standardised regression values are drawn on ±REGRESSION_RANGE. */
export const REGRESSION_RANGE = 2;
const MAX_POINTS_DRAWN = 3000;

export class PlaneView {
  readonly surface: Surface;
  private readonly atlas = new HeatmapAtlas();
  private readonly points = document.createElement('canvas');
  private pointsKey = '';
  private box = { x: 0, y: 0, w: 0, h: 0 };
  private sx: Scale = linear(0, 1, 0, 1);
  private sy: Scale = linear(0, 1, 0, 1);
  private readonly probabilities = new Float64Array(8);

  constructor(canvas: HTMLCanvasElement) {
    this.surface = new Surface(canvas);
  }

  /** Square, at most 520 px. */
  fit(width: number): void {
    const side = Math.min(width, 520);
    this.surface.resize(side, side);
  }

  draw(problem: Problem, snapshot: Snapshot | null, sample: number, showTest: boolean): void {
    const s = this.surface;
    s.begin();
    const grid = problem.grid;
    this.box = { x: 36, y: 6, w: s.width - 44, h: s.height - 38 };
    const box = this.box;
    const [xd, yd] = grid.dims === 2 ? grid.domain : [grid.domain[0], this.targetDomain(problem)];
    this.sx = linear(xd[0], xd[1], box.x, box.x + box.w);
    this.sy = linear(yd[0], yd[1], box.y + box.h, box.y);
    const output = snapshot?.grid?.at(-1) ?? null;
    if (grid.dims === 2 && output) this.drawRegions(problem, output);
    this.drawPoints(problem, showTest);
    if (grid.dims === 1 && output) this.drawCurve(problem, output);
    const x = problem.train[sample];
    if (x !== undefined) this.ring(problem, x);
    drawAxes(s, box, this.sx, this.sy, {
      xLabel: grid.axisLabels[0],
      yLabel: grid.dims === 2 ? grid.axisLabels[1] : problem.task === 'regression' ? 'target' : 'probability',
    });
  }

  /** The training sample nearest to a point of the canvas (CSS px), if one is within 12 px. */
  pick(px: number, py: number, problem: Problem): number | null {
    let best = -1,
      bestDistance = 144;
    problem.train.forEach((row, i) => {
      const [x, y] = this.position(problem, row);
      const d = (x - px) ** 2 + (y - py) ** 2;
      if (d < bestDistance) {
        bestDistance = d;
        best = i;
      }
    });
    return best >= 0 ? best : null;
  }

  private targetDomain(problem: Problem): [number, number] {
    if (problem.task === 'classification') return [-0.08, 1.08];
    let lo = Infinity,
      hi = -Infinity;
    for (const v of problem.raw.targets) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    const pad = (hi - lo) * 0.08 || 1;
    return [lo - pad, hi + pad];
  }

  /** Where raw row `row` is drawn. */
  private position(problem: Problem, row: number): [number, number] {
    const { grid, raw } = problem;
    const width = raw.columns.length;
    const x = raw.inputs[row * width + grid.axes[0]];
    if (grid.dims === 2) return [this.sx(x), this.sy(raw.inputs[row * width + grid.axes[1]])];
    const t = raw.targets[row];
    return [this.sx(x), this.sy(problem.task === 'classification' ? t / Math.max(1, problem.classes - 1) : t)];
  }

  private drawRegions(problem: Problem, output: Float32Array): void {
    const size = problem.grid.size;
    this.atlas.ensure(1, size);
    if (problem.task === 'regression') {
      this.atlas.paintColumn(0, output, 1, 0, REGRESSION_RANGE);
    } else {
      const k = problem.classes,
        p = this.probabilities;
      this.atlas.paintWords(0, (row) => {
        softmaxRow(output, row * k, k, p);
        return classWord(p, k);
      });
    }
    this.atlas.flush();
    this.atlas.draw(this.surface.ctx, 0, this.box.x, this.box.y, this.box.w, this.box.h);
  }

  private drawCurve(problem: Problem, output: Float32Array): void {
    const ctx = this.surface.ctx,
      grid = problem.grid;
    const xAt = (i: number) => grid.domain[0][0] + ((grid.domain[0][1] - grid.domain[0][0]) * i) / (grid.size - 1);
    const curves = problem.task === 'regression' ? 1 : problem.classes;
    for (let c = 0; c < curves; c++) {
      ctx.beginPath();
      for (let i = 0; i < grid.size; i++) {
        let v: number;
        if (problem.task === 'regression') v = output[i] * problem.targetStd + problem.targetMean;
        else {
          softmaxRow(output, i * curves, curves, this.probabilities);
          v = this.probabilities[c];
        }
        const y = this.sy(Math.max(this.sy.lo, Math.min(this.sy.hi, v)));
        if (i === 0) ctx.moveTo(this.sx(xAt(i)), y);
        else ctx.lineTo(this.sx(xAt(i)), y);
      }
      ctx.strokeStyle = problem.task === 'regression' ? '#b35806' : classCss(c);
      ctx.lineWidth = 2.5;
      ctx.stroke();
    }
  }

  /** The points change only with the problem or the size: they are drawn once into a layer. */
  private drawPoints(problem: Problem, showTest: boolean): void {
    const s = this.surface;
    const key = `${s.width}x${s.height}:${showTest}:${problem.train.length}:${problem.raw.targets.length}:${problem.grid.axes.join()}:${problem.raw.description}:${problem.train[0]}:${problem.test[0]}`;
    if (key !== this.pointsKey) {
      this.pointsKey = key;
      const dpr = Math.min(2, window.devicePixelRatio || 1);
      this.points.width = s.canvas.width;
      this.points.height = s.canvas.height;
      const ctx = this.points.getContext('2d')!;
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, s.width, s.height);
      const every = (n: number) => Math.max(1, Math.ceil(n / MAX_POINTS_DRAWN));
      const draw = (rows: Int32Array, test: boolean) => {
        const step = every(rows.length);
        for (let i = 0; i < rows.length; i += step) this.point(ctx, problem, rows[i], test);
      };
      draw(problem.train, false);
      if (showTest) draw(problem.test, true);
    }
    s.ctx.drawImage(this.points, 0, 0, s.width, s.height);
  }

  private point(ctx: CanvasRenderingContext2D, problem: Problem, row: number, test: boolean): void {
    const [x, y] = this.position(problem, row);
    const t = problem.raw.targets[row];
    const classification = problem.task === 'classification';
    if (classification) {
      marker(ctx, t, x, y, 3.6);
      ctx.fillStyle = classCss(t);
    } else {
      ctx.beginPath();
      ctx.arc(x, y, 3.4, 0, 2 * Math.PI);
      ctx.fillStyle =
        problem.grid.dims === 1
          ? test
            ? '#fff'
            : '#555'
          : diverging((t - problem.targetMean) / problem.targetStd / REGRESSION_RANGE);
    }
    ctx.fill();
    ctx.lineWidth = test ? 1.6 : 1;
    ctx.strokeStyle = test ? '#000' : '#fff';
    if (!classification && problem.grid.dims === 1) ctx.strokeStyle = test ? '#111' : '#fff';
    ctx.stroke();
  }

  private ring(problem: Problem, row: number): void {
    const [x, y] = this.position(problem, row);
    const ctx = this.surface.ctx;
    ctx.beginPath();
    ctx.arc(x, y, 8, 0, 2 * Math.PI);
    ctx.strokeStyle = '#000';
    ctx.lineWidth = 2;
    ctx.stroke();
    ctx.beginPath();
    ctx.arc(x, y, 10, 0, 2 * Math.PI);
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = 1.5;
    ctx.stroke();
  }
}
