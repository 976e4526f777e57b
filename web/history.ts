// The loss history, bounded. Two kinds of points, each with its own bound:
//  - even ones, at steps that are multiples of a stride (a power of two): when `capacity` of them are
//    kept, every other one goes and the stride doubles, so a page left training for hours keeps at most
//    `capacity` of them, spread over the whole run;
//  - geometric ones, each about 5 % further than the last (steps 1, 2, 3, …, 20, 21, 23, …), so a log
//    step axis shows the first steps too; there are about 50 per tenfold of steps.
// Step 0 is always kept.

const RATIO = 1.05;

export interface HistoryArrays {
  steps: Float64Array;
  train: Float32Array;
  test: Float32Array;
}

export class LossHistory {
  private readonly even: { steps: Float64Array; train: Float32Array; test: Float32Array; length: number };
  private geometric: { steps: number[]; train: number[]; test: number[] } = { steps: [], train: [], test: [] };
  private nextMark = 0;
  /** The stride the capacity imposes, and the one the cost of evaluating asks for. */
  private capacityStride = 1;
  private costStride = 1;

  constructor(readonly capacity = 512) {
    this.even = {
      steps: new Float64Array(capacity),
      train: new Float32Array(capacity),
      test: new Float32Array(capacity),
      length: 0,
    };
  }

  get stride(): number {
    return Math.max(this.capacityStride, this.costStride);
  }

  get length(): number {
    return this.even.length + this.geometric.steps.length;
  }

  /** Whether a point at `step` would be kept (so the caller evaluates only then). */
  wants(step: number): boolean {
    return step >= this.nextMark || this.wantsEven(step);
  }

  private wantsEven(step: number): boolean {
    const e = this.even;
    return step % this.stride === 0 && (e.length === 0 || step > e.steps[e.length - 1]);
  }

  record(step: number, train: number, test: number): void {
    if (step >= this.nextMark) {
      const g = this.geometric;
      g.steps.push(step);
      g.train.push(train);
      g.test.push(test);
      this.nextMark = Math.max(step + 1, Math.ceil(step * RATIO));
    }
    if (!this.wantsEven(step)) return;
    const e = this.even;
    if (e.length === this.capacity) {
      this.compact(this.stride * 2);
      if (step % this.stride !== 0) return;
    }
    e.steps[e.length] = step;
    e.train[e.length] = train;
    e.test[e.length] = test;
    e.length++;
  }

  /** Asks for even points no more often than every `atLeast` steps (rounded up to a power of two); it
   *  may go down again. Points already kept are multiples of every smaller power of two, so they stay. */
  setCostStride(atLeast: number): void {
    let stride = 1;
    while (stride < atLeast) stride *= 2;
    this.costStride = stride;
  }

  /** Keeps the even points at multiples of `stride`. */
  private compact(stride: number): void {
    this.capacityStride = stride;
    const e = this.even;
    let kept = 0;
    for (let i = 0; i < e.length; i++) {
      if (e.steps[i] % stride !== 0) continue;
      e.steps[kept] = e.steps[i];
      e.train[kept] = e.train[i];
      e.test[kept] = e.test[i];
      kept++;
    }
    e.length = kept;
  }

  /** All kept points in step order (each step once), as new arrays to post to the page. */
  snapshot(): HistoryArrays {
    const e = this.even,
      g = this.geometric;
    const n = e.length + g.steps.length;
    const steps = new Float64Array(n),
      train = new Float32Array(n),
      test = new Float32Array(n);
    let i = 0,
      j = 0,
      k = 0;
    while (i < e.length || j < g.steps.length) {
      const fromEven = j >= g.steps.length || (i < e.length && e.steps[i] <= g.steps[j]);
      if (fromEven) {
        if (j < g.steps.length && g.steps[j] === e.steps[i]) j++; // the same step in both: once
        steps[k] = e.steps[i];
        train[k] = e.train[i];
        test[k] = e.test[i];
        i++;
      } else {
        steps[k] = g.steps[j];
        train[k] = g.train[j];
        test[k] = g.test[j];
        j++;
      }
      k++;
    }
    return { steps: steps.slice(0, k), train: train.slice(0, k), test: test.slice(0, k) };
  }

  /** The most recent point. */
  last(): { step: number; train: number; test: number } | null {
    const e = this.even,
      g = this.geometric;
    const ge = g.steps.length - 1,
      ee = e.length - 1;
    if (ge < 0 && ee < 0) return null;
    if (ee < 0 || (ge >= 0 && g.steps[ge] > e.steps[ee])) return { step: g.steps[ge], train: g.train[ge], test: g.test[ge] };
    return { step: e.steps[ee], train: e.train[ee], test: e.test[ee] };
  }
}

/** Smallest and largest finite value of some arrays, with a loop (no spread: arrays may be long). */
export function finiteRange(arrays: ArrayLike<number>[], transform: (v: number) => number = (v) => v): [number, number] {
  let lo = Infinity,
    hi = -Infinity;
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++) {
      const v = transform(a[i]);
      if (!Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return lo <= hi ? [lo, hi] : [0, 1];
}
