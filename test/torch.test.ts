// Real PyTorch as the oracle: random networks of every layer kind, every loss, every optimizer and
// option, and the file formats, compared with torch 1.13 (Debian's python3-torch) in float32 through
// test/torch/oracle.py. The kinds come from three tables (layers, losses, optimizers): a new kind is
// covered by adding an entry, not test code.
import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import {
  type Activation,
  type Layer,
  Linear,
  type Loss,
  Network,
  type Optimizer,
  type Parameter,
  type Reduction,
  SGD,
  init,
} from '../src/index';
import { type LossKernel, isElementwiseActivation, lossTargetRange } from '../src/kernel';
import { readOptions } from '../src/options';
import { activationTypes, layerClass, lossClass, lossTypes, optimizerClass, optimizerTypes, sampleOptions } from './kinds';
import { testRandom } from './reference';
import {
  type Comparison,
  type TorchSpec,
  type TorchTensor,
  type SafetensorsDtype,
  WorstErrors,
  compare,
  compareEach,
  describeComparison,
  doubles,
  floats,
  fromBase64,
  indices,
  type Mode,
  num,
  stateDict,
  tensor,
  useTorchOracle,
  base64,
  TorchOracle,
} from './torch/oracle';

await init();
const torch = useTorchOracle();

type Rng = () => number;
const int = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)];
const uniform = (rng: Rng, n: number, scale = 1) => Float32Array.from({ length: n }, () => (rng() * 2 - 1) * scale);

// ---------------------------------------------------------------- the kinds under test: the registries

/** A layer kind: draws random options and returns a factory of equal layers with them; describes one of
 *  ours to torch (a torch.nn spec, camelCase options). */
interface LayerKind {
  name: string;
  /** Has parameters and sets the width (Linear); the others keep it. */
  changesWidth?: boolean;
  random(rng: Rng, inFeatures: number, outFeatures: number): () => Layer;
  torchSpec(layer: Layer): TorchSpec;
}

const LINEAR: LayerKind = {
  name: 'Linear',
  changesWidth: true,
  random: (rng, inFeatures, outFeatures) => {
    const bias = rng() < 0.75;
    return () => new Linear(inFeatures, outFeatures, { bias });
  },
  torchSpec: (layer) => {
    const linear = layer as Linear;
    return { type: 'Linear', args: [linear.inFeatures, linear.outFeatures], kwargs: { bias: linear.hasBias } };
  },
};

/** Every activation of the registry, with options drawn from its own declaration; torch gets the same
 *  class name and options (and dim = −1 for the per-row ones). */
const WIDTH_KEEPING: LayerKind[] = activationTypes.map((type) => ({
  name: type,
  random: (rng) => {
    const options = pick(rng, sampleOptions(layerClass(type), rng, 3));
    return () => new (layerClass(type))(options);
  },
  torchSpec: (layer) => {
    const activation = layer as Activation<object>;
    const perRow = !isElementwiseActivation(activation.planEntry().kernel);
    return { type, kwargs: { ...activation.options, ...(perRow ? { dim: -1 } : {}) } };
  },
}));
const kindNamed = (name: string) => WIDTH_KEEPING.find((kind) => kind.name === name)!;

/** The layer a loss needs before it, from what the loss says it takes. */
const HEADS: Record<string, LayerKind> = { probabilities: kindNamed('Sigmoid'), 'log-probabilities': kindNamed('LogSoftmax') };

/** A target for `rows` predictions of `width` values, as ours and as torch's tensor. */
interface Target {
  ours: Float32Array | Int32Array;
  torch: TorchTensor;
}

/** A loss kind with one form of target: a random instance of ours, its torch.nn spec, the head it needs,
 *  its targets. */
interface LossKind {
  name: string;
  random(rng: Rng, reduction: Reduction, width: number): Loss;
  torchSpec(loss: Loss): TorchSpec;
  /** A layer kind the network must end with (BCELoss takes probabilities: Sigmoid). */
  head?: LayerKind;
  target(rng: Rng, rows: number, width: number, loss: Loss): Target;
}

const floatTarget = (values: Float32Array, rows: number, width: number): Target => ({
  ours: values,
  torch: tensor(values, [rows, width]),
});

function probabilityRows(rng: Rng, rows: number, width: number): Float32Array {
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) {
    const row = Array.from({ length: width }, () => rng() ** 2);
    const sum = row.reduce((a, b) => a + b, 0) || 1;
    row.forEach((v, c) => {
      out[r * width + c] = v / sum;
    });
  }
  return out;
}

/** Class labels, some of them the loss's ignoreIndex (but not all: a batch of nothing is NaN in torch too). */
function classLabels(rng: Rng, rows: number, width: number, loss: Loss): Target {
  const ignore = (loss.options as { ignoreIndex?: number }).ignoreIndex;
  const labels = Int32Array.from({ length: rows }, () => int(rng, 0, width - 1));
  for (let r = 1; r < rows; r++) if (ignore !== undefined && rng() < 0.2) labels[r] = ignore;
  if (ignore !== undefined && labels[0] === ignore) labels[0] = (ignore + 1) % width;
  return { ours: labels, torch: indices(labels) };
}

const LOSS_KINDS: LossKind[] = lossTypes.flatMap((type) => {
  const cls = lossClass(type);
  const kind = cls.kind as { kernels: { classes?: LossKernel; values?: LossKernel }; takes?: string };
  const forms = (['classes', 'values'] as const).filter((form) => kind.kernels[form]);
  return forms.map((form): LossKind => ({
    name: forms.length > 1 ? `${type} (${form === 'classes' ? 'class indices' : 'probabilities'})` : type,
    random: (rng, reduction, width) => {
      const options = pick(rng, sampleOptions(cls, rng, 3, { classes: width }));
      // ignoreIndex is for class-index targets: with probabilities torch (and we) refuse any but the default
      if (form === 'values' || width < 2) delete options.ignoreIndex; // one class, ignored: nothing to learn from
      return new cls({ ...options, reduction });
    },
    torchSpec: (loss) => {
      const { weight, ...options } = loss.options as Record<string, unknown>;
      return { type, kwargs: { ...options, ...(weight ? { weight: Array.from(weight as Float32Array) } : {}) } };
    },
    head: kind.takes ? HEADS[kind.takes] : undefined,
    target: (rng, rows, width, loss) => {
      if (form === 'classes') return classLabels(rng, rows, width, loss);
      if (lossTargetRange(kind.kernels.values!)) {
        const values = Float32Array.from({ length: rows * width }, () => (rng() < 0.3 ? int(rng, 0, 1) : rng()));
        return floatTarget(values, rows, width);
      }
      if (kind.kernels.classes) return floatTarget(probabilityRows(rng, rows, width), rows, width);
      return floatTarget(uniform(rng, rows * width, 2), rows, width);
    },
  }));
});
const REDUCTIONS: Reduction[] = ['mean', 'sum'];
const LOSS_CASES = LOSS_KINDS.flatMap((kind) =>
  REDUCTIONS.map((reduction) => ({ kind, reduction, name: `${kind.name} ${reduction}` })),
);

/** An optimizer kind with one set of options: ours from net.parameters(), and torch.optim's spec. */
interface OptimizerKind {
  name: string;
  family: 'SGD-like' | 'Adam-like';
  make(params: Parameter[]): Optimizer;
  torchSpec(optimizer: Optimizer): TorchSpec;
}

const TOLERANCE = { 'SGD-like': 1e-4, 'Adam-like': 1e-3 } as const;

/** Every optimizer of the registry with its defaults, random options, and each of its switches on. */
const OPTIMIZER_KINDS: OptimizerKind[] = optimizerTypes.flatMap((type, t) => {
  const cls = optimizerClass(type);
  const rng = testRandom(4242 + t);
  const sets = sampleOptions(cls, rng, 3);
  for (const [name, spec] of Object.entries(cls.kind.options)) {
    if (spec.takes.type !== 'boolean') continue;
    const switched = sampleOptions(cls, rng, 20)
      .slice(1)
      .map((o) => ({ ...o, [name]: true }))
      .find((o) => {
        try {
          cls.kind.validate?.(readOptions(type, cls.kind.options, o));
          return true;
        } catch {
          return false; // e.g. Nesterov without momentum: draw again
        }
      });
    if (switched) sets.push(switched);
  }
  sets.push({ clipGradNorm: 1e-3 }); // small enough to bite on every step: clipping is tested on each kind
  return sets.map((options): OptimizerKind => ({
    name: `${type} ${JSON.stringify(options)}`,
    family: type === 'SGD' ? 'SGD-like' : 'Adam-like',
    make: (params) => new cls(params, options),
    torchSpec: (optimizer) => ({ type, kwargs: { ...optimizer.options } }),
  }));
});

// ---------------------------------------------------------------- random networks

interface Part {
  kind: LayerKind;
  make: () => Layer;
}
interface Recipe {
  seed: number;
  parts: Part[];
  inFeatures: number;
  outFeatures: number;
  batch: number;
  label: string;
}

/** Depth (Linear layers) 1–4 by index, widths 1–40, batch 1–16; 0–2 width-keeping layers after each
 *  Linear, with the kind `index` picks always present so that every kind appears over the recipes. */
function randomRecipe(seed: number, index: number, maxDepth = 4): Recipe {
  const rng = testRandom(seed);
  const depth = 1 + (index % maxDepth);
  const widths = Array.from({ length: depth + 1 }, () => int(rng, 1, 40));
  const forced = WIDTH_KEEPING[index % WIDTH_KEEPING.length];
  const forcedAt = int(rng, 0, depth - 1);
  const parts: Part[] = [];
  for (let d = 0; d < depth; d++) {
    parts.push({ kind: LINEAR, make: LINEAR.random(rng, widths[d], widths[d + 1]) });
    const kinds = Array.from({ length: int(rng, 0, 2) }, () => pick(rng, WIDTH_KEEPING));
    if (d === forcedAt) kinds.splice(int(rng, 0, kinds.length), 0, forced);
    for (const kind of kinds) parts.push({ kind, make: kind.random(rng, widths[d + 1], widths[d + 1]) });
  }
  const batch = int(rng, 1, 16);
  return {
    seed,
    parts,
    inFeatures: widths[0],
    outFeatures: widths[depth],
    batch,
    label: `#${index} ${describeParts(parts)}, batch ${batch}`,
  };
}

/** A network with one width-keeping kind alone: Linear → kind (→ Linear), so that the kind's own errors
 *  can be told apart from those of the mixed networks. */
function isolatedRecipe(seed: number, kind: LayerKind, tail: boolean): Recipe {
  const rng = testRandom(seed);
  const widths = [int(rng, 1, 40), int(rng, 1, 40), int(rng, 1, 40)];
  const parts: Part[] = [
    { kind: LINEAR, make: LINEAR.random(rng, widths[0], widths[1]) },
    { kind, make: kind.random(rng, widths[1], widths[1]) },
  ];
  if (tail) parts.push({ kind: LINEAR, make: LINEAR.random(rng, widths[1], widths[2]) });
  const batch = int(rng, 1, 16);
  return {
    seed,
    parts,
    inFeatures: widths[0],
    outFeatures: tail ? widths[2] : widths[1],
    batch,
    label: `${kind.name} alone: ${describeParts(parts)}, batch ${batch}`,
  };
}

function describeParts(parts: Part[]): string {
  return parts
    .map((p) => {
      const layer = p.make();
      const text =
        layer instanceof Linear
          ? `Linear(${layer.inFeatures}→${layer.outFeatures}${layer.hasBias ? '' : ', no bias'})`
          : String(layer);
      layer.dispose();
      return text;
    })
    .join(' → ');
}

/** Our network from a recipe (with `head` appended), seeded: equal recipes and seeds give equal weights. */
function buildNetwork(recipe: Recipe, head?: LayerKind): { net: Network; parts: Part[] } {
  const parts = head
    ? [...recipe.parts, { kind: head, make: head.random(() => 0.5, recipe.outFeatures, recipe.outFeatures) }]
    : recipe.parts;
  return {
    net: new Network(
      parts.map((p) => p.make()),
      { seed: recipe.seed },
    ),
    parts,
  };
}

const torchLayers = (net: Network, parts: Part[]): TorchSpec[] => net.layers.map((layer, k) => parts[k].kind.torchSpec(layer));
const kindNames = (parts: Part[]) => [...new Set(parts.map((p) => p.kind.name))];

const NETWORK_COUNT = 30;
const RECIPES = Array.from({ length: NETWORK_COUNT }, (_, i) => randomRecipe(7001 + 17 * i, i));
const ISOLATED = WIDTH_KEEPING.flatMap((kind, k) => [
  isolatedRecipe(8001 + 2 * k, kind, true),
  isolatedRecipe(8002 + 2 * k, kind, false),
]);

// ---------------------------------------------------------------- recording and checking

const layerErrors = new WorstErrors();
const lossErrors = new WorstErrors();
const optimizerErrors = new WorstErrors();
const fileErrors = new WorstErrors();
const conditioningErrors = new WorstErrors();

/** Records `c` under `kinds` and fails when it exceeds `tolerance`. */
function check(log: WorstErrors, kinds: string | string[], what: string, c: Comparison, tolerance: number): void {
  log.record(kinds, what, c);
  expect(c.error, `${what}: ${describeComparison(c)}`).toBeLessThanOrEqual(tolerance);
}

afterAll(() => {
  const text = [
    'Worst relative error against PyTorch, max|ours − torch| / max(max|torch|, 1e-6) per tensor (per step for losses):',
    layerErrors.summary(
      'layer kinds (outputs, losses, gradients, ∂L/∂x; Linear: of every network, another kind: of the networks where it is the only one besides Linear):',
    ),
    lossErrors.summary('losses (loss value, ∂L/∂x and gradients through net.backward and trainStep):'),
    optimizerErrors.summary('optimizers (50-step trajectories: per-step losses, final weights, optimizer state):'),
    conditioningErrors.summary('for scale, torch float32 against torch float64 on the same trajectories:'),
    fileErrors.summary('files (outputs of save() loaded by torch, of torch files loaded by loadWeights):'),
  ].join('\n');
  console.log(text);
  mkdirSync('test-output', { recursive: true });
  writeFileSync('test-output/torch-errors.txt', `${text}\n`);
});

const GRADIENT_TOLERANCE = 1e-4;

/** When the current test fails, writes the oracle request it sent (one JSON line, with its op) to
 *  test-output/torch-repro/, so `/usr/bin/python3 test/torch/oracle.py < that-file` replays torch's side. */
function keepReproducer<T extends object>(op: string, request: T): T {
  onTestFailed(({ task }) => {
    const dir = 'test-output/torch-repro';
    mkdirSync(dir, { recursive: true });
    const file = `${dir}/${task.name.replace(/[^\w.-]+/g, '_').slice(0, 120)}.jsonl`;
    writeFileSync(file, `${JSON.stringify({ op, ...request })}\n`);
    console.log(`torch's side of the failed test "${task.name}": /usr/bin/python3 test/torch/oracle.py < ${file}`);
  });
  return request;
}

// ---------------------------------------------------------------- the tests

describe('the torch oracle', () => {
  it('is torch 1.13 in float32 on one thread', async () => {
    const info = await torch.info();
    expect(info.torch).toMatch(/^1\.13/);
    expect(info).toMatchObject({ threads: 1, dtype: 'torch.float32' });
  });

  it("answers a failed request with torch's error and keeps serving", async () => {
    await expect(torch.run({ layers: ['NoSuchLayer'], x: tensor([1]) })).rejects.toThrow(/torch.nn has no class 'NoSuchLayer'/);
    await expect(torch.run({ layers: [{ type: 'Linear', args: [2, 3] }], x: tensor([1, 2, 3], [1, 3]) })).rejects.toThrow(
      /shapes cannot be multiplied/,
    );
    expect((await torch.info()).threads).toBe(1);
  });

  it('builds schedulers by name with camelCase options (stepSize, TMax)', async () => {
    const step = await torch.schedule({ scheduler: { type: 'StepLR', stepSize: 3, gamma: 0.5 }, lr: 0.1, steps: 9 });
    expect(step.lrs.map(num)).toEqual(Array.from({ length: 10 }, (_, k) => 0.1 * 0.5 ** Math.floor(k / 3)));
    const cosine = await torch.schedule({
      scheduler: { type: 'CosineAnnealingLR', kwargs: { TMax: 4, etaMin: 0.01 } },
      lr: 0.1,
      steps: 4,
    });
    expect(num(cosine.lrs[2])).toBeCloseTo(0.055, 12);
    expect(num(cosine.lrs[4])).toBeCloseTo(0.01, 12);
  });

  it('builds the kinds the open issues name from camelCase specs, with their buffers and optimizer state', async () => {
    const x = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3], [4, 3]);
    const run = await torch.run({
      layers: [
        { type: 'Linear', args: [3, 5] },
        { type: 'GELU', approximate: 'tanh' },
        'SiLU',
        { type: 'ELU', alpha: 0.5 },
        { type: 'Softplus', beta: 2, threshold: 10 },
        { type: 'Hardtanh', minVal: -0.5, maxVal: 0.7 },
        'ReLU6',
        { type: 'LayerNorm', args: [5], elementwiseAffine: true },
        { type: 'BatchNorm1d', args: [5], momentum: 0.2, trackRunningStats: true },
        { type: 'Dropout', p: 0.3 },
        { type: 'LogSoftmax', dim: -1 },
      ],
      x,
      loss: { type: 'NLLLoss', weight: [1, 2, 3, 4, 5], ignoreIndex: 2 },
      target: indices([0, 2, 4, 1]),
    });
    expect(Object.keys(run.grads)).toEqual(['0.weight', '0.bias', '7.weight', '7.bias', '8.weight', '8.bias']);
    expect(run.state['8.num_batches_tracked']).toEqual({ shape: [], dtype: 'int64', data: [1] });
    expect(Object.keys(run.state)).toContain('8.running_var');
    const stateNames = async (optimizer: TorchSpec) => {
      const reply = await torch.train({
        layers: [{ type: 'Linear', args: [3, 2] }],
        x: tensor([1, 2, 3, 4, 5, 6], [2, 3]),
        target: tensor([1, 2, 3, 4], [2, 2]),
        loss: { type: 'HuberLoss', delta: 0.5 },
        optimizer,
        steps: 2,
      });
      return Object.keys(reply.optimizer_state['0.weight']).sort();
    };
    expect(await stateNames({ type: 'RMSprop', lr: 0.01, alpha: 0.9, momentum: 0.5, centered: true, weightDecay: 0.1 })).toEqual([
      'grad_avg',
      'momentum_buffer',
      'square_avg',
      'step',
    ]);
    expect(await stateNames({ type: 'Adagrad', lr: 0.01, lrDecay: 0.1, initialAccumulatorValue: 0.1, eps: 1e-9 })).toEqual([
      'step',
      'sum',
    ]);
    expect(await stateNames({ type: 'AdamW', lr: 0.01, amsgrad: true })).toEqual([
      'exp_avg',
      'exp_avg_sq',
      'max_exp_avg_sq',
      'step',
    ]);
    const plateau = await torch.schedule({
      scheduler: {
        type: 'ReduceLROnPlateau',
        mode: 'max',
        factor: 0.5,
        patience: 1,
        threshold: 0.01,
        thresholdMode: 'abs',
        cooldown: 1,
        minLr: 0.01,
      },
      lr: 0.1,
      steps: 6,
      metrics: [1, 1, 1, 1, 1, 1],
    });
    expect(plateau.lrs.map(num)).toEqual([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025]);
    const oneCycle = await torch.schedule({
      scheduler: {
        type: 'OneCycleLR',
        maxLr: 0.1,
        totalSteps: 10,
        pctStart: 0.3,
        annealStrategy: 'linear',
        divFactor: 10,
        finalDivFactor: 100,
        threePhase: true,
      },
      optimizer: { type: 'SGD', lr: 0.1, momentum: 0.9 },
      steps: 9,
    });
    expect(num(oneCycle.lrs[0])).toBeCloseTo(0.01, 12); // maxLr / divFactor, set at construction
    expect(oneCycle.momentums!.map(num)[0]).toBe(0.95); // torch cycles the momentum too (cycle_momentum=True)
  });

  it('reports a strict load_state_dict that does not fit, instead of outputs', async () => {
    const { net } = buildNetwork(RECIPES[1]);
    const reply = await torch.loadStateDict({
      layers: [{ type: 'Linear', args: [net.inFeatures + 1, 2] }],
      file: base64(net.save()),
    });
    expect(reply.outputs).toBeNull();
    expect(reply.load_error).toMatch(/Missing key|Unexpected key|size mismatch/);
    net.dispose();
  });

  it('fails with a clear message when torch is not there', async () => {
    const missing = new TorchOracle('/nonexistent/python3');
    await expect(missing.info()).rejects.toThrow(/python3-torch is not installed: run scripts\/ensure-torch.sh/);
    await missing.close();
  });
});

describe('forward, loss, gradients and ∂L/∂x match torch', () => {
  for (const recipe of [...RECIPES, ...ISOLATED]) {
    describe(recipe.label, () => {
      LOSS_CASES.forEach((lossCase, c) => {
        it(lossCase.name, async () => {
          const rng = testRandom(recipe.seed * 31 + c);
          const { net, parts } = buildNetwork(recipe, lossCase.kind.head);
          const width = net.outFeatures;
          const loss = lossCase.kind.random(rng, lossCase.reduction, width);
          const x = uniform(rng, recipe.batch * net.inFeatures, 2);
          const target = lossCase.kind.target(rng, recipe.batch, width, loss);
          const initial = stateDict(net.parameters());

          const output = net.forward(x);
          const value = loss.forward(output, target.ours, width);
          net.zeroGrad();
          const dx = net.backward(loss.backward());
          const grads = net.parameters().map((p) => ({ name: p.name, grad: p.grad.slice() }));

          const reply = await torch.run(
            keepReproducer('run', {
              layers: torchLayers(net, parts),
              state: initial,
              x: tensor(x, [recipe.batch, net.inFeatures]),
              loss: lossCase.kind.torchSpec(loss),
              target: target.torch,
            }),
          );
          // a layer kind's line: Linear over every network, another kind over those where it is the only
          // kind besides Linear (its errors then are its own)
          const others = kindNames(parts).filter((name) => name !== LINEAR.name);
          const kinds = others.length === 1 ? [LINEAR.name, others[0]] : [LINEAR.name];
          const expectClose = (what: string, ours: ArrayLike<number>, theirs: ArrayLike<number>) => {
            const comparison = compare(ours, theirs);
            layerErrors.record(kinds, `${recipe.label}, ${lossCase.name}: ${what}`, comparison);
            check(lossErrors, lossCase.name, `${recipe.label}: ${what}`, comparison, GRADIENT_TOLERANCE);
          };
          expectClose('output', output, floats(reply.output));
          expectClose('loss', [value], [num(reply.loss as number)]);
          expectClose('∂L/∂x', dx, floats(reply.dx!));
          expect(Object.keys(reply.grads).sort()).toEqual(grads.map((g) => g.name).sort());
          for (const { name, grad } of grads) expectClose(`${name} grad`, grad, floats(reply.grads[name]));

          // trainStep: the fused path (loss before the step, gradients of this batch)
          const { net: twin } = buildNetwork(recipe, lossCase.kind.head);
          const optimizer = new SGD(twin.parameters(), { lr: 0.01 });
          const stepLoss = twin.trainStep(x, target.ours, loss, optimizer);
          expectClose('trainStep loss', [stepLoss], [num(reply.loss as number)]);
          for (const p of twin.parameters()) expectClose(`trainStep ${p.name} grad`, p.grad, floats(reply.grads[p.name]));
          net.dispose();
          twin.dispose();
          optimizer.dispose();
        });
      });
    });
  }
});

describe('50-step trajectories of every optimizer match torch.optim', () => {
  const STEPS = 50;
  /** Candidate cases per option set, and how many of them must be well-conditioned and compared. */
  const CANDIDATES = 12;
  const REQUIRED = 1;

  /** A trajectory case: a random network, loss and four batches; torch's request for it. */
  function trajectoryCase(o: number, variant: number) {
    const lossCase = LOSS_CASES[(2 * o + variant) % LOSS_CASES.length];
    const recipe = randomRecipe(9001 + 101 * o + variant, o + variant, 3);
    const rng = testRandom(recipe.seed + 5);
    const { net, parts } = buildNetwork(recipe, lossCase.kind.head);
    const loss = lossCase.kind.random(rng, lossCase.reduction, net.outFeatures);
    const batches = Array.from({ length: 4 }, () => {
      const rows = int(rng, 1, 16);
      const x = uniform(rng, rows * net.inFeatures, 2);
      return { rows, x, target: lossCase.kind.target(rng, rows, net.outFeatures, loss) };
    });
    const label = `${lossCase.name}, ${recipe.label}`;
    return { lossCase, net, parts, loss, batches, label, initial: stateDict(net.parameters()) };
  }

  OPTIMIZER_KINDS.forEach((kind, o) => {
    it(`${kind.name}: the first ${REQUIRED} well-conditioned of ${CANDIDATES} random cases`, async () => {
      const tolerance = TOLERANCE[kind.family];
      let compared = 0;
      const illConditioned: string[] = [];
      for (let variant = 0; variant < CANDIDATES && compared < REQUIRED; variant++) {
        const c = trajectoryCase(o, variant);
        const optimizer = kind.make(c.net.parameters());
        const request = keepReproducer('train', {
          layers: torchLayers(c.net, c.parts),
          state: c.initial,
          loss: c.lossCase.kind.torchSpec(c.loss),
          optimizer: kind.torchSpec(optimizer),
          batches: c.batches.map((b) => ({ x: tensor(b.x, [b.rows, c.net.inFeatures]), target: b.target.torch })),
          steps: STEPS,
        });
        const [reply, reply64] = await Promise.all([torch.train(request), torch.train({ ...request, precision: 'float64' })]);
        // A case only tests ours if torch's own float32 run stays close to its float64 run: a trajectory
        // that amplifies rounding (a kink crossed, too large a step) would make any float32 code look wrong.
        const paired = [
          { what: 'per-step losses', torch: reply.losses.map(num), torch64: reply64.losses.map(num), each: true },
          ...Object.keys(reply.state).map((name) => ({
            what: `final ${name}`,
            torch: floats(reply.state[name]),
            torch64: doubles(reply64.state[name]),
            each: false,
          })),
        ];
        const worst = paired
          .map((q) => ({ q, c: (q.each ? compareEach : compare)(q.torch, q.torch64) }))
          .reduce((a, b) => (b.c.error > a.c.error ? b : a));
        conditioningErrors.record(kind.name, `${c.label}: ${worst.q.what}`, worst.c, 'float32', 'float64');
        if (worst.c.error > tolerance / 10) {
          illConditioned.push(`${c.label} (${worst.q.what}: ${describeComparison(worst.c, 'float32', 'float64')})`);
          c.net.dispose();
          optimizer.dispose();
          continue;
        }
        compared++;
        const losses: number[] = [];
        for (let step = 0; step < STEPS; step++) {
          const batch = c.batches[step % c.batches.length];
          losses.push(c.net.trainStep(batch.x, batch.target.ours, c.loss, optimizer));
        }
        const saved = await torch.readSafetensors(c.net.save({ optimizer })); // our file, parsed by the oracle's own reader
        const label = `${kind.name}, ${c.label}`;
        const quantities: { what: string; ours: ArrayLike<number>; torch: ArrayLike<number>; each?: boolean }[] = [
          { what: 'per-step losses', ours: losses, torch: reply.losses.map(num), each: true },
          ...c.net
            .parameters()
            .map((p) => ({ what: `final ${p.name}`, ours: floats(saved.tensors[p.name]), torch: floats(reply.state[p.name]) })),
        ];
        // the optimizer state: every tensor torch keeps, under optimizer.<param>.<state> in our checkpoint
        expect(JSON.parse(saved.metadata!.optimizer).step).toBe(STEPS);
        const theirs: string[] = [];
        for (const [param, state] of Object.entries(reply.optimizer_state)) {
          for (const [stateName, value] of Object.entries(state)) {
            if (typeof value !== 'object') {
              expect(stateName, `torch's scalar state ${param}.${stateName}`).toBe('step');
              expect(num(value)).toBe(STEPS);
              continue;
            }
            const name = `optimizer.${param}.${stateName}`;
            theirs.push(name);
            expect(saved.tensors[name], `${name} in our checkpoint`).toBeDefined();
            quantities.push({ what: name, ours: floats(saved.tensors[name]), torch: floats(value) });
          }
        }
        expect(
          Object.keys(saved.tensors)
            .filter((name) => name.startsWith('optimizer.'))
            .sort(),
        ).toEqual(theirs.sort());
        for (const q of quantities) {
          check(optimizerErrors, kind.name, `${label}: ${q.what}`, (q.each ? compareEach : compare)(q.ours, q.torch), tolerance);
        }
        if (optimizer.clipGradNorm === 1e-3) {
          // the clip must have bitten, or this case would not test it (a network whose gradients vanish,
          // e.g. one ending in a Softmax of one output, does not count)
          if (!reply.grad_norms!.map(num).some((norm) => norm > optimizer.clipGradNorm!)) {
            illConditioned.push(`${c.label} (its gradients never exceed the clip)`);
            compared--;
          }
        }
        c.net.dispose();
        optimizer.dispose();
      }
      expect(compared, `too few well-conditioned cases; not counted: ${illConditioned.join('; ')}`).toBe(REQUIRED);
    });
  });
});

describe('files: save() loads into torch with load_state_dict(strict=True), torch files load with loadWeights', () => {
  RECIPES.forEach((recipe, i) => {
    it(`save() → torch: ${recipe.label}`, async () => {
      const { net, parts } = buildNetwork(recipe);
      const x = uniform(testRandom(recipe.seed + 1), recipe.batch * net.inFeatures, 2);
      const reply = await torch.loadStateDict(
        keepReproducer('load_state_dict', {
          layers: torchLayers(net, parts),
          file: base64(net.save()),
          x: tensor(x, [recipe.batch, net.inFeatures]),
          modes: ['eval', 'train'] as Mode[],
        }),
      );
      expect(reply.load_error).toBeNull();
      expect(Object.values(reply.dtypes).every((d) => d === 'F32')).toBe(true);
      const ours = net.forward(x);
      for (const mode of ['eval', 'train'] as const) {
        check(
          fileErrors,
          'save() → torch load_state_dict',
          `${recipe.label}: ${mode} output`,
          compare(ours, floats(reply.outputs![mode]!)),
          GRADIENT_TOLERANCE,
        );
      }
      net.dispose();
    });

    // every network with an F32 file; a few also with the other dtypes loadWeights reads
    const dtypes: SafetensorsDtype[] = i % 10 === 0 ? ['F32', 'F64', 'F16', 'BF16'] : ['F32'];
    it(`torch → loadWeights (${dtypes.join(', ')}): ${recipe.label}`, async () => {
      const { net, parts } = buildNetwork(recipe);
      const x = uniform(testRandom(recipe.seed + 2), recipe.batch * net.inFeatures, 2);
      for (const dtype of dtypes) {
        const reply = await torch.saveStateDict(
          keepReproducer('save_state_dict', {
            layers: torchLayers(net, parts),
            seed: recipe.seed,
            dtype,
            x: tensor(x, [recipe.batch, net.inFeatures]),
          }),
        );
        net.loadWeights(fromBase64(reply.file));
        for (const p of net.parameters())
          expect(Array.from(p.data), `${p.name} from a torch ${dtype} file`).toEqual(Array.from(floats(reply.state[p.name])));
        check(
          fileErrors,
          `torch ${dtype} file → loadWeights`,
          `${recipe.label}: output`,
          compare(net.forward(x), floats(reply.outputs!.eval!)),
          GRADIENT_TOLERANCE,
        );
      }
      net.dispose();
    });
  });
});
