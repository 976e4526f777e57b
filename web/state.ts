// The explorer's whole state as one plain object, and its URL form: every setting that changes the run
// (problem, features, network, optimizer, seed) and every view choice is a query parameter, so a URL
// reloads the same state and, with the same seed, the same run step for step.

export const PROBLEMS = ['reg1d', 'circle', 'xor', 'gauss', 'spiral', 'plane', 'bumps', 'csv'] as const;
export type ProblemId = (typeof PROBLEMS)[number];

export const ACTIVATIONS = ['relu', 'leaky', 'tanh', 'sigmoid', 'linear'] as const;
export type ActivationId = (typeof ACTIVATIONS)[number];

export const OPTIMIZERS = ['sgd', 'momentum', 'adam', 'adamw'] as const;
export type OptimizerId = (typeof OPTIMIZERS)[number];

export type Task = 'classification' | 'regression';

/** One hidden layer: Linear(previous, units) then its activation. Per-layer options that the library may
 *  grow later (dropout) belong here, each with a default so older URLs still read. */
export interface HiddenLayer {
  units: number;
  activation: ActivationId;
}

export interface ExplorerState {
  problem: ProblemId;
  /** Classes of the built-in classification problems (2 or 3). */
  classes: number;
  /** Noise of the built-in problems, 0–50 (for reg1d: make_regression's noise). */
  noise: number;
  /** Percentage of the samples used for training; the rest is the test set. */
  trainPercent: number;
  /** Input feature ids (see features.ts); for a CSV, column ids 'c0', 'c1', … */
  features: string[];
  hidden: HiddenLayer[];
  lr: number;
  optimizer: OptimizerId;
  batchSize: number;
  /** L2 regularisation: the optimizer's weightDecay. */
  l2: number;
  seed: number;
  /** A pasted or dropped CSV: the key its text is kept under in this browser, its target column id and
   *  the task. */
  csv: { key: string; target: string; task: Task } | null;
  /** Feature ids on the plane's horizontal and vertical axes (CSV problems with several features). */
  axes: [string, string] | null;
  /** The training sample the backprop and gate views follow (an index into the training set). */
  sample: number;
  /** The weight spelled out: Linear layer, output neuron, input. */
  weight: [number, number, number];
  /** The neuron drawn gate by gate ([Linear layer, neuron]); null shows the lecture's worked example. */
  neuron: [number, number] | null;
  lossScale: 'log' | 'linear';
  /** The loss plot's step axis. */
  stepScale: 'log' | 'linear';
  showTest: boolean;
  /** Training speed limit in steps per second (null: as fast as the library goes). Not part of the run:
   *  the same steps happen, only slower. */
  speed: number | null;
}

export const SPEEDS = [1, 10, 100, 1000, 10000] as const;

export const LIMITS = {
  layers: 6,
  units: 8,
  features: 12,
  batchSize: 100_000,
  lr: [1e-6, 1e6] as const,
  l2: [0, 10] as const,
  noise: [0, 50] as const,
  trainPercent: [10, 90] as const,
  seed: [0, 0xffffffff] as const,
};

export function defaultState(): ExplorerState {
  return {
    problem: 'reg1d',
    classes: 2,
    noise: 10,
    trainPercent: 80,
    features: ['x'],
    hidden: [{ units: 8, activation: 'relu' }],
    lr: 0.03,
    optimizer: 'sgd',
    batchSize: 10,
    l2: 0,
    seed: 3,
    csv: null,
    axes: null,
    sample: 0,
    weight: [0, 0, 0],
    neuron: null,
    lossScale: 'log',
    stepScale: 'log',
    showTest: true,
    speed: null,
  };
}

export function isBuiltInClassification(problem: ProblemId): boolean {
  return problem === 'circle' || problem === 'xor' || problem === 'gauss' || problem === 'spiral';
}

const ACTIVATION_CODES: Record<ActivationId, string> = {
  relu: 'relu',
  leaky: 'leaky',
  tanh: 'tanh',
  sigmoid: 'sigmoid',
  linear: 'linear',
};

/** The state as query parameters (fixed order, numbers in their shortest exact form). */
export function encodeState(state: ExplorerState): string {
  const p = new URLSearchParams();
  p.set('problem', state.problem);
  if (isBuiltInClassification(state.problem)) p.set('classes', String(state.classes));
  if (state.problem !== 'csv') p.set('noise', String(state.noise));
  p.set('train', String(state.trainPercent));
  p.set('features', state.features.join(','));
  p.set('hidden', state.hidden.map((l) => `${l.units}${ACTIVATION_CODES[l.activation]}`).join(',') || 'none');
  p.set('lr', String(state.lr));
  p.set('optimizer', state.optimizer);
  p.set('batch', String(state.batchSize));
  p.set('l2', String(state.l2));
  p.set('seed', String(state.seed));
  if (state.csv) {
    p.set('csv', state.csv.key);
    p.set('target', state.csv.target);
    p.set('task', state.csv.task);
  }
  if (state.axes) p.set('axes', state.axes.join(','));
  p.set('sample', String(state.sample));
  p.set('weight', state.weight.join('.'));
  if (state.neuron) p.set('neuron', state.neuron.join('.'));
  p.set('scale', state.lossScale);
  p.set('steps', state.stepScale);
  if (!state.showTest) p.set('test', 'hide');
  if (state.speed !== null) p.set('speed', String(state.speed));
  return p.toString();
}

export interface Decoded {
  state: ExplorerState;
  /** One line per parameter that was not understood and fell back to its default. */
  ignored: string[];
}

/** Reads a query string; anything malformed keeps its default and is reported in `ignored`. */
export function decodeState(query: string): Decoded {
  const p = new URLSearchParams(query);
  const state = defaultState();
  const ignored: string[] = [];
  const read = <T>(name: string, parse: (text: string) => T | undefined, expected: string, apply: (value: T) => void) => {
    const text = p.get(name);
    if (text === null) return;
    const value = parse(text);
    if (value === undefined) ignored.push(`${name}=${text} (expected ${expected})`);
    else apply(value);
  };
  const number =
    (lo: number, hi: number, integer = false) =>
    (text: string) => {
      if (!/^[-+0-9.eE]+$/.test(text)) return undefined;
      const v = Number(text);
      return Number.isFinite(v) && v >= lo && v <= hi && (!integer || Number.isInteger(v)) ? v : undefined;
    };
  const oneOf =
    <T extends string>(options: readonly T[]) =>
    (text: string) =>
      (options as readonly string[]).includes(text) ? (text as T) : undefined;

  read('problem', oneOf(PROBLEMS), PROBLEMS.join(' | '), (v) => {
    state.problem = v;
  });
  if (state.problem !== 'reg1d') state.features = state.problem === 'csv' ? [] : ['x1', 'x2'];
  read('classes', number(2, 3, true), '2 or 3', (v) => {
    state.classes = v;
  });
  read('noise', number(...LIMITS.noise), 'a number in [0, 50]', (v) => {
    state.noise = v;
  });
  read('train', number(...LIMITS.trainPercent, true), 'an integer percentage in [10, 90]', (v) => {
    state.trainPercent = v;
  });
  read(
    'features',
    (t) => {
      const ids = t.split(',').filter((s) => s !== '');
      return ids.length >= 1 &&
        ids.length <= LIMITS.features &&
        ids.every((s) => /^[a-z0-9]+$/.test(s)) &&
        new Set(ids).size === ids.length
        ? ids
        : undefined;
    },
    `1 to ${LIMITS.features} distinct feature ids`,
    (v) => {
      state.features = v;
    },
  );
  read(
    'hidden',
    parseHidden,
    `none, or up to ${LIMITS.layers} comma-separated layers such as 8relu (1–${LIMITS.units} units; ${ACTIVATIONS.join(', ')})`,
    (v) => {
      state.hidden = v;
    },
  );
  read('lr', number(...LIMITS.lr), 'a learning rate in [1e-6, 1e6]', (v) => {
    state.lr = v;
  });
  read('optimizer', oneOf(OPTIMIZERS), OPTIMIZERS.join(' | '), (v) => {
    state.optimizer = v;
  });
  read('batch', number(1, LIMITS.batchSize, true), 'a batch size ≥ 1', (v) => {
    state.batchSize = v;
  });
  read('l2', number(...LIMITS.l2), 'a weight decay in [0, 10]', (v) => {
    state.l2 = v;
  });
  read('seed', number(...LIMITS.seed, true), 'an integer seed in [0, 2^32)', (v) => {
    state.seed = v;
  });
  if (state.problem === 'csv') {
    const key = p.get('csv'),
      target = p.get('target'),
      task = p.get('task');
    if (
      key &&
      /^[a-z0-9]+$/.test(key) &&
      target &&
      /^c[0-9]+$/.test(target) &&
      (task === 'classification' || task === 'regression')
    ) {
      state.csv = { key, target, task };
    } else {
      ignored.push('csv / target / task (a CSV problem needs all three)');
      state.problem = 'reg1d';
      state.features = ['x'];
    }
  }
  read(
    'axes',
    (t) => {
      const ids = t.split(',');
      return ids.length === 2 && ids.every((s) => /^[a-z0-9]+$/.test(s)) ? (ids as [string, string]) : undefined;
    },
    'two feature ids',
    (v) => {
      state.axes = v;
    },
  );
  read('sample', number(0, 1e6, true), 'a sample index', (v) => {
    state.sample = v;
  });
  read(
    'weight',
    (t) => parseIndices(t, 3) as [number, number, number] | undefined,
    'layer.out.in',
    (v) => {
      state.weight = v;
    },
  );
  read(
    'neuron',
    (t) => parseIndices(t, 2) as [number, number] | undefined,
    'layer.neuron',
    (v) => {
      state.neuron = v;
    },
  );
  read('scale', oneOf(['log', 'linear'] as const), 'log | linear', (v) => {
    state.lossScale = v;
  });
  read('steps', oneOf(['log', 'linear'] as const), 'log | linear', (v) => {
    state.stepScale = v;
  });
  read('test', oneOf(['hide', 'show'] as const), 'hide | show', (v) => {
    state.showTest = v === 'show';
  });
  read(
    'speed',
    (t) => ((SPEEDS as readonly number[]).includes(Number(t)) ? Number(t) : undefined),
    SPEEDS.join(' | '),
    (v) => {
      state.speed = v;
    },
  );
  return { state, ignored };
}

function parseHidden(text: string): HiddenLayer[] | undefined {
  if (text === 'none') return [];
  const layers = text.split(',').map((part) => {
    const m = /^([0-9]+)([a-z]+)$/.exec(part);
    if (!m) return undefined;
    const units = Number(m[1]);
    const activation = m[2] as ActivationId;
    return units >= 1 && units <= LIMITS.units && ACTIVATIONS.includes(activation) ? { units, activation } : undefined;
  });
  return layers.length <= LIMITS.layers && layers.every((l) => l !== undefined) ? (layers as HiddenLayer[]) : undefined;
}

function parseIndices(text: string, count: number): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== count || !parts.every((s) => /^[0-9]{1,4}$/.test(s))) return undefined;
  return parts.map(Number);
}

/** Whether two states give the same run (the data, the network and its training), ignoring view choices. */
export function sameRun(a: ExplorerState, b: ExplorerState): boolean {
  const run = (s: ExplorerState) =>
    JSON.stringify([
      s.problem,
      s.classes,
      s.noise,
      s.trainPercent,
      s.features,
      s.hidden,
      s.lr,
      s.optimizer,
      s.batchSize,
      s.l2,
      s.seed,
      s.csv,
    ]);
  return run(a) === run(b);
}
