// window.__explorer: what the page shows, as numbers and geometry, for tests and the curious. Getters, so
// nothing is copied until it is read.
import type { Explorer } from './explorer';
import { PROBLEM_NAMES } from './datasets';
import { PROBLEMS, type ExplorerState } from './state';

const $ = (id: string) => document.getElementById(id)!;

/** What window.__explorer holds. */
export type ExposedExplorer = ReturnType<typeof exposedOf>;

export function expose(app: Explorer): void {
  (window as unknown as { __explorer: ExposedExplorer }).__explorer = exposedOf(app);
}

function exposedOf(app: Explorer) {
  return {
    app,
    get ready() {
      return app.snapshot !== null && app.snapshot.trace !== null;
    },
    get state() {
      return JSON.parse(JSON.stringify(app.state)) as ExplorerState;
    },
    get query() {
      return location.search.slice(1);
    },
    get step() {
      return app.snapshot?.step ?? 0;
    },
    get running() {
      return app.snapshot?.running ?? false;
    },
    get fps() {
      return app.fps;
    },
    get timing() {
      return { ...app.timing };
    },
    get frames() {
      return app.frames;
    },
    get stepsPerSecond() {
      return app.snapshot?.stepsPerSecond ?? 0;
    },
    get trainLoss() {
      return app.snapshot?.trainLoss ?? NaN;
    },
    get testLoss() {
      return app.snapshot?.testLoss ?? NaN;
    },
    get evalStep() {
      return app.snapshot?.evalStep ?? 0;
    },
    get accuracy() {
      return app.snapshot ? { train: app.snapshot.trainAccuracy, test: app.snapshot.testAccuracy } : null;
    },
    get history() {
      const h = app.snapshot?.history;
      return h
        ? {
            length: h.steps.length,
            stride: h.stride,
            first: { step: h.steps[0], train: h.train[0], test: h.test[0] },
            lastStep: h.steps[h.steps.length - 1],
          }
        : null;
    },
    get workerCosts() {
      return app.snapshot?.costs ?? null;
    },
    get wasmBytes() {
      return app.snapshot?.wasmBytes ?? 0;
    },
    get error() {
      return app.snapshot?.error ?? null;
    },
    get errorShown() {
      return $('error').hidden ? null : $('error-text').textContent;
    },
    get csvMessage() {
      return app.csvMessage;
    },
    get problem() {
      const p = app.problem;
      return {
        task: p.task,
        classes: p.classes,
        train: p.train.length,
        test: p.test.length,
        features: p.features.map((f) => f.id),
        dims: p.grid.dims,
        description: p.raw.description,
      };
    },
    get net() {
      return {
        inFeatures: app.problem.features.length,
        hidden: app.state.hidden,
        outFeatures: app.problem.outputs,
        loss: app.problem.task === 'classification' ? 'CrossEntropyLoss' : 'MSELoss',
      };
    },
    get params() {
      return app.snapshot?.params.map((p) => ({ weight: Array.from(p.weight), bias: Array.from(p.bias) })) ?? null;
    },
    get sample() {
      const t = app.snapshot?.trace;
      return t ? { index: t.sample, x: Array.from(t.x), target: t.target, loss: t.loss, output: Array.from(t.output) } : null;
    },
    get backprop() {
      return app.views.backprop.numbers;
    },
    get weight() {
      return app.weight;
    },
    get formulaText() {
      return $('formula').textContent;
    },
    get phase() {
      return app.phase;
    },
    /** The last step mode update, with the chosen weight before and after it and its batch gradient. */
    get report() {
      const r = app.report;
      if (!r) return null;
      const [l, o, i] = app.state.weight;
      const j = o * (r.before[l].weight.length / r.before[l].bias.length) + i;
      return {
        stepBefore: r.stepBefore,
        batchRows: r.batchRows,
        batchLoss: r.batchLoss,
        weight: { before: r.before[l].weight[j], after: r.after[l].weight[j], gradient: r.gradient[l].dLdW[j] },
      };
    },
    get gates() {
      return app.views.gates.numbers ? { ...app.views.gates.numbers, check: app.gateCheck } : null;
    },
    get gateNotes() {
      return $('gate-notes').textContent;
    },
    get geometry() {
      const v = app.views;
      return {
        network: v.network.surface.exported(),
        backprop: v.backprop.surface.exported(),
        gates: v.gates.surface.exported(),
        plane: v.plane.surface.exported(),
        loss: v.loss.surface.exported(),
      };
    },
    problems: PROBLEMS.map((id) => ({ id, name: PROBLEM_NAMES[id] })),
  };
}
