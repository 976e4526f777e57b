// A problem ready to train: raw samples → chosen features, standardised on the training set (inputs, and
// the target for regression), split into train and test by the seed, plus the grid of the plane view.
import type { RawData } from './datasets';
import { type Feature, availableFeatures, defaultFeatures } from './features';
import { Random, STREAM } from './random';
import type { ExplorerState, Task } from './state';

export const GRID_2D = 50;
export const GRID_1D = 200;

export interface PlaneGrid {
  /** 1: a curve over one raw column; 2: a map over two. */
  dims: 1 | 2;
  /** Raw columns on the horizontal (and vertical) axis. */
  axes: number[];
  axisLabels: string[];
  domain: [number, number][];
  /** Points per axis (GRID_2D or GRID_1D); rows = size^dims, row-major with y from the top. */
  size: number;
  rows: number;
  /** The network's inputs at each grid point, [rows × features], standardised. */
  x: Float32Array;
}

export interface Problem {
  task: Task;
  classes: number;
  classNames: string[];
  raw: RawData;
  /** The network's inputs, in order. */
  features: Feature[];
  featureMean: number[];
  featureStd: number[];
  /** Regression targets are standardised: network output · targetStd + targetMean is the prediction. */
  targetMean: number;
  targetStd: number;
  train: Int32Array;
  test: Int32Array;
  trainX: Float32Array;
  trainY: Float32Array | Int32Array;
  testX: Float32Array;
  testY: Float32Array | Int32Array;
  outputs: number;
  grid: PlaneGrid;
}

export interface Built {
  problem: Problem;
  /** The features actually used (unknown ids in the state are dropped, with a note). */
  features: string[];
  notes: string[];
}

/** Builds the problem of `state` from its raw data; `csvIds` names a CSV's raw columns. */
export function buildProblem(state: ExplorerState, raw: RawData, csvIds: string[] = []): Built {
  const notes: string[] = [];
  const available = availableFeatures(state.problem, raw, csvIds);
  let chosen = state.features.filter((id) => available.some((f) => f.id === id));
  if (chosen.length !== state.features.length) {
    notes.push(`features ${state.features.filter((id) => !chosen.includes(id)).join(', ')} do not exist for this problem`);
  }
  if (chosen.length === 0) chosen = defaultFeatures(state.problem, available);
  const features = chosen.map((id) => available.find((f) => f.id === id)!);
  const rows = raw.targets.length,
    width = raw.columns.length;

  const order = new Random(state.seed, STREAM.split).shuffle(Int32Array.from({ length: rows }, (_, i) => i));
  const trainCount = Math.min(rows - 1, Math.max(1, Math.round((rows * state.trainPercent) / 100)));
  const train = order.slice(0, trainCount).sort(),
    test = order.slice(trainCount).sort();

  const featureMean: number[] = [],
    featureStd: number[] = [];
  for (const f of features) {
    let sum = 0,
      sq = 0;
    for (const r of train) sum += f.of(raw.inputs, r, width);
    const mean = sum / train.length;
    for (const r of train) sq += (f.of(raw.inputs, r, width) - mean) ** 2;
    featureMean.push(mean);
    featureStd.push(Math.sqrt(sq / train.length) || 1);
  }
  const task: Task = raw.classes > 0 ? 'classification' : 'regression';
  let targetMean = 0,
    targetStd = 1;
  if (task === 'regression') {
    for (const r of train) targetMean += raw.targets[r];
    targetMean /= train.length;
    let sq = 0;
    for (const r of train) sq += (raw.targets[r] - targetMean) ** 2;
    targetStd = Math.sqrt(sq / train.length) || 1;
  }
  const inputsOf = (indices: Int32Array) => {
    const x = new Float32Array(indices.length * features.length);
    indices.forEach((r, i) =>
      features.forEach((f, j) => {
        x[i * features.length + j] = (f.of(raw.inputs, r, width) - featureMean[j]) / featureStd[j];
      }),
    );
    return x;
  };
  const targetsOf = (indices: Int32Array) =>
    task === 'classification'
      ? Int32Array.from(indices, (r) => raw.targets[r])
      : Float32Array.from(indices, (r) => (raw.targets[r] - targetMean) / targetStd);

  const problem: Problem = {
    task,
    classes: raw.classes,
    classNames: raw.classNames,
    raw,
    features,
    featureMean,
    featureStd,
    targetMean,
    targetStd,
    train,
    test,
    trainX: inputsOf(train),
    trainY: targetsOf(train),
    testX: inputsOf(test),
    testY: targetsOf(test),
    outputs: task === 'classification' ? raw.classes : 1,
    grid: planeGrid(state, raw, features, featureMean, featureStd, train),
  };
  return { problem, features: chosen, notes };
}

function planeGrid(
  state: ExplorerState,
  raw: RawData,
  features: Feature[],
  mean: number[],
  std: number[],
  train: Int32Array,
): PlaneGrid {
  const width = raw.columns.length;
  let axes: number[];
  if (width === 1) axes = [0];
  else if (state.problem !== 'csv') axes = [0, 1];
  else {
    // a CSV: the chosen axes if they are features, else the first two features (CSV features are columns)
    const columnOf = (id: string) => features.find((f) => f.id === id)?.column ?? -1;
    const wanted = state.axes?.map(columnOf) ?? [];
    axes =
      wanted.length === 2 && wanted.every((c) => c >= 0) && wanted[0] !== wanted[1]
        ? wanted
        : features.slice(0, 2).map((f) => f.column ?? 0);
  }
  const dims = axes.length as 1 | 2;
  const size = dims === 1 ? GRID_1D : GRID_2D;
  const rows = size ** dims;
  // columns off the axes stay at their training mean
  const base = new Float64Array(width);
  for (let c = 0; c < width; c++) {
    let sum = 0;
    for (const r of train) sum += raw.inputs[r * width + c];
    base[c] = sum / train.length;
  }
  const domain = axes.map((c) => raw.domain[c]);
  const point = new Float64Array(width);
  const x = new Float32Array(rows * features.length);
  for (let row = 0; row < rows; row++) {
    point.set(base);
    const [i, j] = dims === 1 ? [row, 0] : [row % size, Math.floor(row / size)];
    point[axes[0]] = domain[0][0] + ((domain[0][1] - domain[0][0]) * i) / (size - 1);
    if (dims === 2) point[axes[1]] = domain[1][1] - ((domain[1][1] - domain[1][0]) * j) / (size - 1); // top row = largest y
    features.forEach((f, k) => {
      x[row * features.length + k] = (f.of(point, 0, width) - mean[k]) / std[k];
    });
  }
  return { dims, axes, axisLabels: axes.map((c) => raw.columns[c]), domain, size, rows, x };
}
