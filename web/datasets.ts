// The built-in problems as raw samples: the seed's 1-D regression (scikit-learn's make_regression, number
// for number) and TF Playground-like 2-D problems on [-6, 6]², all drawn from the seed.
// @ts-expect-error: a plain JS module of the examples, typed below
import { makeRegressionLikeSklearn as makeRegressionJs } from '../examples/sklearn-regression.mjs';
import { Random, STREAM } from './random';
import type { ExplorerState, ProblemId } from './state';

/** Samples before features are computed: `columns` raw inputs per row, and a target per row (a class
 *  index for classification). */
export interface RawData {
  columns: string[];
  inputs: Float64Array;
  targets: Float64Array;
  /** 0 for regression. */
  classes: number;
  classNames: string[];
  /** Where the plane view is drawn, per raw column. */
  domain: [number, number][];
  /** Where the data comes from, in a line. */
  description: string;
}

const makeRegressionLikeSklearn = makeRegressionJs as (options: { samples: number; noise: number; randomState: number }) => {
  x: Float32Array;
  y: Float32Array;
};

export const PLANE: [number, number] = [-6, 6];
const SAMPLES_2D = 400;

export const PROBLEM_NAMES: Record<ProblemId, string> = {
  reg1d: '1-D regression (make_regression)',
  circle: 'circle',
  xor: 'XOR',
  gauss: 'Gaussians',
  spiral: 'spiral',
  plane: '2-D regression: plane',
  bumps: '2-D regression: two bumps',
  csv: 'your CSV',
};

export function builtInData(state: ExplorerState): RawData {
  const { problem, noise, seed } = state;
  const classes = state.classes === 3 ? 3 : 2;
  if (problem === 'reg1d') return regression1d(noise, seed);
  const random = new Random(seed, STREAM.data);
  const jitter = (noise / 100) * 1.5; // standard deviation of the input noise at noise = 100 %
  switch (problem) {
    case 'circle':
      return classify(circle(random, classes, jitter), classes, 'rings around the origin');
    case 'xor':
      return classify(
        xor(random, classes, jitter),
        classes,
        classes === 2
          ? 'XOR: the class is the parity of the positive coordinates'
          : 'the class is the number of positive coordinates',
      );
    case 'gauss':
      return classify(gaussians(random, classes, noise), classes, `${classes} Gaussian blobs`);
    case 'spiral':
      return classify(spiral(random, classes, jitter), classes, `${classes} interleaved spiral arms`);
    case 'plane':
      return regress2d(random, (x, y) => (x + y) / 3, noise, 'target = (x₁ + x₂) / 3 + noise');
    case 'bumps':
      return regress2d(
        random,
        (x, y) => 3 * (Math.exp(-((x - 2) ** 2 + (y - 2) ** 2) / 6) - Math.exp(-((x + 2) ** 2 + (y + 2) ** 2) / 6)),
        noise,
        'target = a bump at (2, 2) minus a bump at (−2, −2), + noise',
      );
    default:
      throw new Error(`no built-in data for ${problem}`);
  }
}

function regression1d(noise: number, seed: number): RawData {
  const { x, y } = makeRegressionLikeSklearn({ samples: 100, noise, randomState: seed });
  let lo = Infinity,
    hi = -Infinity;
  for (const v of x) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const pad = (hi - lo) * 0.05;
  return {
    columns: ['x'],
    inputs: Float64Array.from(x),
    targets: Float64Array.from(y),
    classes: 0,
    classNames: [],
    domain: [[lo - pad, hi + pad]],
    description: `scikit-learn's make_regression(100, n_features=1, noise=${noise}, random_state=${seed}), reproduced number for number`,
  };
}

type Labelled = { x: number; y: number; label: number }[];

function classify(points: Labelled, classes: number, description: string): RawData {
  const inputs = new Float64Array(points.length * 2),
    targets = new Float64Array(points.length);
  points.forEach((p, i) => {
    inputs[2 * i] = p.x;
    inputs[2 * i + 1] = p.y;
    targets[i] = p.label;
  });
  return {
    columns: ['x1', 'x2'],
    inputs,
    targets,
    classes,
    classNames: Array.from({ length: classes }, (_, k) => `class ${k}`),
    domain: [PLANE, PLANE],
    description,
  };
}

function circle(random: Random, classes: number, jitter: number): Labelled {
  const rings: [number, number][] =
    classes === 2
      ? [
          [0, 2.5],
          [3.5, 5],
        ]
      : [
          [0, 1.6],
          [2.3, 3.6],
          [4.3, 5.6],
        ];
  return Array.from({ length: SAMPLES_2D }, (_, i) => {
    const label = i % classes;
    const [r0, r1] = rings[label];
    const r = Math.sqrt(random.uniform(r0 * r0, r1 * r1)),
      t = random.uniform(0, 2 * Math.PI);
    return { x: r * Math.sin(t) + jitter * random.normal(), y: r * Math.cos(t) + jitter * random.normal(), label };
  });
}

function xor(random: Random, classes: number, jitter: number): Labelled {
  return Array.from({ length: SAMPLES_2D }, () => {
    const away = (v: number) => v + (v > 0 ? 0.3 : -0.3); // keep the points off the axes
    const x = away(random.uniform(-5, 5)),
      y = away(random.uniform(-5, 5));
    const positives = (x > 0 ? 1 : 0) + (y > 0 ? 1 : 0);
    return { x: x + jitter * random.normal(), y: y + jitter * random.normal(), label: classes === 2 ? positives % 2 : positives };
  });
}

function gaussians(random: Random, classes: number, noise: number): Labelled {
  const centres =
    classes === 2
      ? [
          [2, 2],
          [-2, -2],
        ]
      : [0, 1, 2].map((k) => [
          3 * Math.cos(Math.PI / 2 + (2 * Math.PI * k) / 3),
          3 * Math.sin(Math.PI / 2 + (2 * Math.PI * k) / 3),
        ]);
  const spread = 0.6 + (noise / 50) * 1.4; // standard deviation of each blob
  return Array.from({ length: SAMPLES_2D }, (_, i) => {
    const label = i % classes;
    return { x: centres[label][0] + spread * random.normal(), y: centres[label][1] + spread * random.normal(), label };
  });
}

function spiral(random: Random, classes: number, jitter: number): Labelled {
  const perArm = Math.floor(SAMPLES_2D / classes);
  const points: Labelled = [];
  for (let arm = 0; arm < classes; arm++) {
    for (let i = 0; i < perArm; i++) {
      const r = (i / perArm) * 5 + 0.3,
        t = ((1.6 * i) / perArm) * 2 * Math.PI + (2 * Math.PI * arm) / classes;
      points.push({ x: r * Math.sin(t) + jitter * random.normal(), y: r * Math.cos(t) + jitter * random.normal(), label: arm });
    }
  }
  return points;
}

function regress2d(random: Random, f: (x: number, y: number) => number, noise: number, description: string): RawData {
  const inputs = new Float64Array(SAMPLES_2D * 2),
    targets = new Float64Array(SAMPLES_2D);
  for (let i = 0; i < SAMPLES_2D; i++) {
    const x = random.uniform(-6, 6),
      y = random.uniform(-6, 6);
    inputs[2 * i] = x;
    inputs[2 * i + 1] = y;
    targets[i] = f(x, y) + (noise / 50) * random.normal();
  }
  return { columns: ['x1', 'x2'], inputs, targets, classes: 0, classNames: [], domain: [PLANE, PLANE], description };
}
