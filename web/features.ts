// Input features: what the network sees of each raw sample. Built-in 2-D problems offer TF Playground's
// x₁, x₂, x₁², x₂², x₁x₂, sin x₁, sin x₂; the 1-D problem x, x², sin x; a CSV its own columns.
import type { RawData } from './datasets';
import type { ProblemId } from './state';

export interface Feature {
  id: string;
  label: string;
  /** The raw column it is, when it is one unchanged (x₁, a CSV column); else null. */
  column: number | null;
  /** The feature of raw row `row` (raw values at inputs[row·width …]). */
  of(inputs: ArrayLike<number>, row: number, width: number): number;
}

const column = (k: number) => (inputs: ArrayLike<number>, row: number, width: number) => inputs[row * width + k];

const PLANE_FEATURES: Feature[] = [
  { id: 'x1', label: 'x₁', column: 0, of: column(0) },
  { id: 'x2', label: 'x₂', column: 1, of: column(1) },
  { id: 'x1sq', column: null, label: 'x₁²', of: (v, r, w) => v[r * w] ** 2 },
  { id: 'x2sq', column: null, label: 'x₂²', of: (v, r, w) => v[r * w + 1] ** 2 },
  { id: 'x1x2', column: null, label: 'x₁x₂', of: (v, r, w) => v[r * w] * v[r * w + 1] },
  { id: 'sinx1', column: null, label: 'sin x₁', of: (v, r, w) => Math.sin(v[r * w]) },
  { id: 'sinx2', column: null, label: 'sin x₂', of: (v, r, w) => Math.sin(v[r * w + 1]) },
];

const LINE_FEATURES: Feature[] = [
  { id: 'x', label: 'x', column: 0, of: column(0) },
  { id: 'xsq', column: null, label: 'x²', of: (v, r, w) => v[r * w] ** 2 },
  { id: 'sinx', column: null, label: 'sin x', of: (v, r, w) => Math.sin(v[r * w]) },
];

/** The features a problem offers. For a CSV, raw column k of `data` is feature `csvIds[k]`. */
export function availableFeatures(problem: ProblemId, data: RawData, csvIds: string[] = []): Feature[] {
  if (problem === 'csv') return data.columns.map((name, k) => ({ id: csvIds[k], label: name, column: k, of: column(k) }));
  return data.columns.length === 1 ? LINE_FEATURES : PLANE_FEATURES;
}

export function defaultFeatures(problem: ProblemId, available: Feature[]): string[] {
  if (problem === 'csv') return available.slice(0, 8).map((f) => f.id);
  return available.slice(0, problem === 'reg1d' ? 1 : 2).map((f) => f.id);
}
