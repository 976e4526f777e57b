// The backprop explorer (web/) in Debian's Chromium: built as `npm run build:web` builds it, served
// cross-origin isolated as `npm run demo:web` serves it. The page exposes what it draws on
// window.__explorer; the tests drive the page's own controls and check what it shows against the library
// run independently here in Node (net.trace on the page's weights), against the lecture's worked example,
// and against the geometry it drew.
/* eslint-disable @typescript-eslint/no-explicit-any -- window.__explorer is read as the page's data (see web/expose.ts) */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CrossEntropyLoss,
  Identity,
  LeakyReLU,
  Linear,
  MSELoss,
  Network,
  ReLU,
  Sigmoid,
  Tanh,
  init,
  type Layer,
} from '../src/index';
import { ACTIVATIONS, OPTIMIZERS, PROBLEMS, decodeState, defaultState, encodeState, type ExplorerState } from '../web/state';
import { fmt } from '../web/views/format';
import { launchChromium, serve } from './browser/harness';

const root = resolve(__dirname, '..');
const shots = join(root, 'test-output');
let browser: Browser;
/** One browser context for all pages (a new context per page costs a second or more on a busy machine). */
let context: BrowserContext;
let server: { url: string; close: () => Promise<void> };

beforeAll(async () => {
  await init();
  const out = mkdtempSync(join(tmpdir(), 'explorer-'));
  execFileSync(process.execPath, [join(root, 'scripts/build-web.mjs'), out], { cwd: root });
  server = await serve({ '/': out }, 0, { isolated: true });
  browser = await launchChromium();
  context = await browser.newContext();
  mkdirSync(shots, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

// ---- helpers -------------------------------------------------------------------------------------------

interface Opened {
  page: Page;
  errors: string[];
}

async function open(query: string, width = 1440, height = 900): Promise<Opened> {
  const page = await context.newPage();
  await page.setViewportSize({ width, height });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(`${server.url}/?${query}`);
  await page.waitForFunction(() => (window as any).__explorer?.ready === true, null, {
    timeout: 20_000,
  });
  return { page, errors };
}

/** Evaluates `read(window.__explorer)` in the page (`read` may use only its argument and the page's globals). */
const ex = <T>(page: Page, read: (e: any) => T): Promise<T> =>
  page.evaluate(`(${read.toString()})(window.__explorer)`) as Promise<T>;

/** Runs until the test loss is below `fraction` of its value at step 0 (and `minSteps` were done). */
async function trainUntilTestLossFalls(
  page: Page,
  fraction: number,
  minSteps = 500,
  timeout = 20_000,
): Promise<{ first: number; last: number; step: number }> {
  await page.click('#run');
  await page.waitForFunction(
    ([f, n]) => {
      const e = (window as any).__explorer;
      return e.step >= n && e.history && e.testLoss < f * e.history.first.test;
    },
    [fraction, minSteps] as const,
    { timeout, polling: 100 },
  );
  await page.click('#run'); // pause
  await page.waitForFunction(() => !(window as any).__explorer.running);
  return ex(page, (e) => ({ first: e.history.first.test, last: e.testLoss, step: e.step }));
}

async function setValue(page: Page, selector: string, value: string): Promise<void> {
  await page.$eval(
    selector,
    (el, v) => {
      (el as HTMLInputElement).value = v;
      el.dispatchEvent(new Event('input', { bubbles: true }));
      el.dispatchEvent(new Event('change', { bubbles: true }));
    },
    value,
  );
}

/** Every label box against every node (circle or rectangle) of a view: none may overlap. */
function overlaps(g: {
  circles: { x: number; y: number; r: number; id: string }[];
  rects: { x: number; y: number; w: number; h: number; id: string }[];
  labels: { x: number; y: number; w: number; h: number; text: string; id: string }[];
}): string[] {
  const found: string[] = [];
  const eps = 0.25; // anti-aliasing: touching is not covering
  for (const l of g.labels) {
    for (const c of g.circles) {
      const dx = Math.max(l.x - c.x, 0, c.x - (l.x + l.w)),
        dy = Math.max(l.y - c.y, 0, c.y - (l.y + l.h));
      if (dx * dx + dy * dy < (c.r - eps) ** 2) found.push(`label "${l.text}" (${l.id}) covers circle ${c.id}`);
    }
    for (const r of g.rects) {
      if (l.x + eps < r.x + r.w && r.x + eps < l.x + l.w && l.y + eps < r.y + r.h && r.y + eps < l.y + l.h)
        found.push(`label "${l.text}" (${l.id}) covers node ${r.id}`);
    }
  }
  return found;
}

/** Value labels that overlap each other (ticks and titles excepted). */
function labelClashes(labels: { x: number; y: number; w: number; h: number; text: string; id: string }[]): string[] {
  const found: string[] = [];
  const eps = 0.5;
  for (let i = 0; i < labels.length; i++) {
    for (let j = i + 1; j < labels.length; j++) {
      const a = labels[i],
        b = labels[j];
      if (a.x + eps < b.x + b.w && b.x + eps < a.x + a.w && a.y + eps < b.y + b.h && b.y + eps < a.y + a.h)
        found.push(`"${a.text}" (${a.id}) and "${b.text}" (${b.id})`);
    }
  }
  return found;
}

async function checkGeometry(page: Page): Promise<void> {
  const geometry = await ex(page, (e) => e.geometry);
  for (const name of ['network', 'backprop', 'gates', 'plane', 'loss'] as const) {
    const g = geometry[name];
    expect(g.labels.length, `${name} draws labels`).toBeGreaterThan(0);
    expect(overlaps(g), `labels over nodes in the ${name} view`).toEqual([]);
    for (const l of g.labels) {
      expect(l.x, `${name} label ${l.text} inside the canvas`).toBeGreaterThanOrEqual(-0.5);
      expect(l.x + l.w).toBeLessThanOrEqual(g.width + 0.5);
    }
  }
  expect(labelClashes(geometry.backprop.labels), 'backprop labels overlapping each other').toEqual([]);
  expect(labelClashes(geometry.gates.labels), 'gate labels overlapping each other').toEqual([]);
  const nodes = geometry.backprop.circles.length;
  expect(nodes).toBeGreaterThan(4);
}

function layerOf(activation: string): Layer {
  switch (activation) {
    case 'relu':
      return new ReLU();
    case 'leaky':
      return new LeakyReLU(0.01);
    case 'tanh':
      return new Tanh();
    case 'sigmoid':
      return new Sigmoid();
    default:
      return new Identity();
  }
}

/** The page's network rebuilt in Node from its exposed architecture and weights. */
function rebuild(
  spec: { inFeatures: number; hidden: { units: number; activation: string }[]; outFeatures: number },
  params: { weight: number[]; bias: number[] }[],
): Network {
  const layers: Layer[] = [];
  let width = spec.inFeatures;
  for (const h of spec.hidden) {
    layers.push(new Linear(width, h.units), layerOf(h.activation));
    width = h.units;
  }
  layers.push(new Linear(width, spec.outFeatures));
  const net = new Network(layers);
  const ps = net.parameters();
  params.forEach((p, k) => {
    ps[2 * k].data.set(p.weight);
    ps[2 * k + 1].data.set(p.bias);
  });
  return net;
}

function expectClose(shown: ArrayLike<number>, reference: ArrayLike<number>, what: string): void {
  expect(shown.length, what).toBe(reference.length);
  for (let i = 0; i < reference.length; i++) {
    const tolerance = 1e-6 * Math.max(1, Math.abs(reference[i]));
    expect(Math.abs(shown[i] - reference[i]), `${what}[${i}]: shown ${shown[i]}, net.trace ${reference[i]}`).toBeLessThanOrEqual(
      tolerance,
    );
  }
}

/** |shown − reference| within `relative` of the reference (or of `floor`, for values near zero). */
function expectNear(shown: number, reference: number, relative: number, what: string, floor = 1e-12): void {
  expect(Math.abs(shown - reference), `${what}: shown ${shown}, reference ${reference}`).toBeLessThanOrEqual(
    relative * Math.max(Math.abs(reference), floor),
  );
}

/** The page's backprop view and weight formula against net.trace run here on the page's weights. */
async function checkBackwardAgainstTrace(page: Page, weight: [number, number, number]): Promise<void> {
  const {
    net: spec,
    params,
    sample,
    backprop,
    chosen,
    formula,
  } = await ex(page, (e) => ({
    net: e.net,
    params: e.params,
    sample: e.sample,
    backprop: e.backprop,
    chosen: e.weight,
    formula: e.formulaText,
  }));
  expect(backprop.sample).toBe(sample.index);
  expect([chosen.layer, chosen.out, chosen.in]).toEqual(weight);
  const net = rebuild(spec, params);
  const loss = spec.loss === 'CrossEntropyLoss' ? new CrossEntropyLoss() : new MSELoss();
  const target = spec.loss === 'CrossEntropyLoss' ? Int32Array.of(sample.target) : Float32Array.of(sample.target);
  const trace = net.trace(Float32Array.from(sample.x), target, loss);
  expect(backprop.layers).toHaveLength(trace.layers.length);
  trace.layers.forEach((l, k) => {
    expectClose(backprop.layers[k].z, l.z, `z of layer ${k}`);
    expectClose(backprop.layers[k].a, l.a, `a of layer ${k}`);
    expectClose(backprop.layers[k].dLdz, l.dLdz, `∂L/∂z of layer ${k}`);
    if (l.sigmaPrime) expectClose(backprop.layers[k].sigmaPrime, l.sigmaPrime, `σ'(z) of layer ${k}`);
  });
  expectClose(backprop.dLdx, trace.dLdx, '∂L/∂x');
  // what the nodes' labels read
  const last = trace.layers.length - 1;
  trace.layers.forEach((l, k) => {
    for (let i = 0; i < l.z.length; i++) {
      const forward = backprop.shown[`f${k + 1}.${i}`],
        backward = backprop.shown[`b${k + 1}.${i}`];
      if (k < last) {
        expect(forward).toEqual([`z=${fmt(l.z[i])}`, `a=${fmt(l.a[i])}`]);
        expect(backward).toEqual([`δ=${fmt(l.dLdz[i])}`, `σ′=${fmt(l.sigmaPrime![i])}`]);
      } else {
        expect(forward[0]).toBe(spec.loss === 'MSELoss' ? `ŷ=${fmt(l.z[i])}` : `z=${fmt(l.z[i])}`);
        expect(backward).toEqual([`δ=${fmt(l.dLdz[i])}`]);
      }
    }
  });
  // the chosen weight, spelled out: ∂L/∂w = a_in · ∂L/∂z_out, ∂L/∂z_out = σ'(z_out) · Σ_k w_k · ∂L/∂z_k
  const [l, o, i] = weight;
  const layer = trace.layers[l];
  const inWidth = layer.input.length;
  expect(chosen.w).toBe(params[l].weight[o * inWidth + i]);
  expectNear(chosen.aIn, layer.input[i], 1e-6, 'a_in');
  expectNear(chosen.dLdzOut, layer.dLdz[o], 1e-6, '∂L/∂z_out');
  expectNear(chosen.dLdw, layer.dLdW[o * inWidth + i], 1e-6, '∂L/∂w');
  expectNear(chosen.product, layer.input[i] * layer.dLdz[o], 1e-6, 'a_in · ∂L/∂z_out');
  expectNear(chosen.product, layer.dLdW[o * inWidth + i], 1e-5, "a_in · ∂L/∂z_out against the kernel's ∂L/∂w");
  if (l < last) {
    const next = trace.layers[l + 1];
    const sum = Array.from(next.dLdz).reduce((s, d, k) => s + params[l + 1].weight[k * layer.z.length + o] * d, 0);
    expectNear(chosen.sum, sum, 1e-6, 'Σ_k w_k · ∂L/∂z_k');
    expectNear(chosen.sigmaPrime, layer.sigmaPrime![o], 1e-6, 'σ′(z_out)');
    expectNear(chosen.sigmaPrime * chosen.sum, layer.dLdz[o], 1e-5, "σ′(z_out) · Σ against the kernel's ∂L/∂z_out", 1e-9);
  }
  expect(formula).toContain(`net.trace: ${fmt(layer.dLdW[o * inWidth + i], 4)}`);
  expect(formula).toContain(`= ${fmt(layer.input[i] * layer.dLdz[o], 4)}`);
  net.dispose();
}

// ---- the tests -----------------------------------------------------------------------------------------

describe('the backprop explorer', () => {
  it("lands on the seed's regression with the gate view on the lecture's f = (x + y)·z, trains in its worker until the test loss falls, and is screenshotted at 1440×900", async () => {
    const { page, errors } = await open('');
    try {
      // the gate view opens on the worked example: x = −2, y = 5, z = −4 → f = −12, ∂f/∂x = ∂f/∂y = −4, ∂f/∂z = 3
      const { gates, geometry, notes } = await ex(page, (e) => ({
        gates: e.gates,
        geometry: e.geometry.gates,
        notes: e.gateNotes,
      }));
      expect(gates.title).toBe('f = (x + y)·z');
      const byLabel = Object.fromEntries(
        gates.nodes.map((n: { label: string; value: number; grad: number }) => [n.label, [n.value, n.grad]]),
      );
      expect(byLabel).toEqual({ x: [-2, -4], y: [5, -4], q: [3, -4], z: [-4, 3], f: [-12, 1] });
      // drawn: the forward value above each wire and the gradient below it
      const text = (id: string) => geometry.labels.find((l: { id: string }) => l.id === id);
      for (const [label, value, grad] of [
        ['x', '−2', '−4'],
        ['y', '5', '−4'],
        ['z', '−4', '3'],
        ['q', '3', '−4'],
        ['f', 'f=−12', '1'],
      ]) {
        expect(text(`${label}:value`).text).toBe(value);
        expect(text(`${label}:grad`).text).toBe(grad);
        expect(text(`${label}:value`).y + text(`${label}:value`).h).toBeLessThanOrEqual(text(`${label}:grad`).y);
      }
      expect(text('q:local').text).toBe('∂=1');
      expect(text('f:local').text).toBe('swap');
      expect(notes).toContain('distributes');
      expect(notes).toContain('swaps');
      expect(overlaps(geometry)).toEqual([]);

      const problem = await ex(page, (e) => e.problem);
      expect(problem.task).toBe('regression');
      expect(problem.description).toContain('make_regression(100, n_features=1, noise=10, random_state=3)');
      expect(await page.$eval('#problem', (el) => (el as HTMLSelectElement).value)).toBe('reg1d');
      expect(await ex(page, () => crossOriginIsolated)).toBe(true);
      const run = await trainUntilTestLossFalls(page, 0.2);
      console.log(`explorer, 1-D regression: test loss ${run.first.toFixed(3)} → ${run.last.toFixed(4)} in ${run.step} steps`);
      // a long run keeps its history bounded (the page trains ~10^5 steps a second)
      await page.click('#run');
      await page.waitForTimeout(1200);
      const measured = await ex(page, (e) => ({
        fps: e.fps,
        stepsPerSecond: e.stepsPerSecond,
        history: e.history,
        step: e.step,
      }));
      await page.click('#run');
      console.log(
        `explorer, landing view at 1440×900: ${measured.fps.toFixed(1)} fps, ${Math.round(measured.stepsPerSecond).toLocaleString('en-US')} steps/s, ${measured.step} steps, history of ${measured.history.length} points (stride ${measured.history.stride})`,
      );
      expect(measured.stepsPerSecond).toBeGreaterThan(100);
      expect(measured.fps).toBeGreaterThan(1);
      expect(measured.history.length).toBeLessThanOrEqual(512 + 400);
      await page.waitForFunction(() => !(window as any).__explorer.running);
      await page.waitForTimeout(200);
      await checkGeometry(page);
      await checkBackwardAgainstTrace(page, [0, 0, 0]);
      // an output weight: ∂L/∂z_out comes from the MSE loss, 2(ŷ − y)
      await page.selectOption('#w-layer', { value: '1' });
      await page.selectOption('#w-in', { value: '3' });
      await page.waitForFunction(() => {
        const w = (window as any).__explorer.weight;
        return w.layer === 1 && w.in === 3;
      });
      await checkBackwardAgainstTrace(page, [1, 0, 3]);
      expect(await ex(page, (e) => e.formulaText)).toContain('2(ŷ − y)');
      await page.screenshot({ path: join(shots, 'explorer-1440.png'), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('trains every built-in problem until its test loss falls (circle, XOR, Gaussians, spiral with 3 classes, 2-D regression)', async () => {
    const cases: [string, number][] = [
      ['problem=circle&classes=2&hidden=4relu,4relu&lr=0.03&optimizer=adam', 0.4],
      ['problem=xor&classes=2&hidden=6tanh,4tanh&lr=0.03&optimizer=adam', 0.4],
      ['problem=gauss&classes=3&hidden=4tanh&lr=0.03', 0.5],
      ['problem=spiral&classes=3&hidden=8tanh,8tanh,8tanh&lr=0.01&optimizer=adam', 0.7],
      ['problem=plane&hidden=4tanh&lr=0.01&optimizer=adam', 0.5],
      ['problem=bumps&hidden=8tanh,8tanh&lr=0.01&optimizer=adam', 0.7],
    ];
    const { page, errors } = await open(cases[0][0]);
    try {
      for (const [query, fraction] of cases) {
        await page.goto(`${server.url}/?${query}`);
        await page.waitForFunction(() => (window as any).__explorer?.ready === true);
        const run = await trainUntilTestLossFalls(page, fraction, 300, 30_000);
        const accuracy = await ex(page, (e) => e.accuracy);
        console.log(
          `explorer, ${query.split('&')[0]}: test loss ${run.first.toFixed(3)} → ${run.last.toFixed(4)} in ${run.step} steps${accuracy?.test !== null && accuracy ? `, test accuracy ${(100 * accuracy.test).toFixed(1)}%` : ''}`,
        );
        if (query.includes('circle') || query.includes('xor')) expect(accuracy.test).toBeGreaterThan(0.85);
        if (query.includes('spiral')) {
          await page.waitForTimeout(200);
          await page.screenshot({ path: join(shots, 'explorer-spiral-1440.png'), fullPage: true });
        }
        if (query.includes('xor')) await page.screenshot({ path: join(shots, 'explorer-xor-1440.png') });
      }
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('shows for the chosen sample the numbers net.trace computes, for the chosen weight its gradient spelled out, and the gate graph agreeing', async () => {
    const { page, errors } = await open('problem=xor&classes=2&hidden=5tanh,4relu&lr=0.03&optimizer=adam&seed=11');
    try {
      await trainUntilTestLossFalls(page, 0.9, 200);
      await page.fill('#sample', '7');
      await page.$eval('#sample', (el) => el.dispatchEvent(new Event('change', { bubbles: true })));
      await page.selectOption('#w-layer', { value: '1' });
      await page.selectOption('#w-out', { value: '2' });
      await page.selectOption('#w-in', { value: '3' });
      await page.selectOption('#neuron', { value: '0.4' });
      await page.waitForFunction(() => {
        const e = (window as any).__explorer;
        return (
          e.backprop?.sample === 7 &&
          e.weight.layer === 1 &&
          e.weight.out === 2 &&
          e.weight.in === 3 &&
          e.gates?.title === 'neuron 4 of layer 1'
        );
      });
      expect(await ex(page, (e) => e.sample.index)).toBe(7);
      await checkBackwardAgainstTrace(page, [1, 2, 3]);
      // the gate graph of neuron 4 of layer 1 against net.trace here
      const {
        net: spec,
        params,
        sample,
        gates,
      } = await ex(page, (e) => ({ net: e.net, params: e.params, sample: e.sample, gates: e.gates }));
      const net = rebuild(spec, params);
      const trace = net.trace(Float32Array.from(sample.x), Int32Array.of(sample.target), new CrossEntropyLoss());
      const node = (label: string) => gates.nodes.find((n: { label: string }) => n.label === label);
      expectNear(node('z').value, trace.layers[0].z[4], 1e-5, 'gate z', 1e-6);
      expectNear(node('z').grad, trace.layers[0].dLdz[4], 1e-5, 'gate ∂L/∂z', 1e-9);
      expectNear(node('a').value, trace.layers[0].a[4], 1e-5, 'gate a', 1e-6);
      expectNear(node('a').grad, trace.layers[0].dLda[4], 1e-6, 'gate ∂L/∂a', 1e-9);
      expectNear(node('b').grad, trace.layers[0].dLdb![4], 1e-5, 'gate ∂L/∂b', 1e-9);
      expectNear(node('w₁').grad, trace.layers[0].dLdW[4 * 2 + 1], 1e-5, 'gate ∂L/∂w₁', 1e-9);
      expectNear(node('L').value, trace.loss, 1e-6, 'gate L');
      expect(gates.check).toBeLessThan(1e-4);
      net.dispose();
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('refuses a bad CSV with a message and keeps the previous problem; a good CSV trains', async () => {
    const { page, errors } = await open('problem=gauss&classes=2');
    try {
      const before = await ex(page, (e) => e.query);
      await page.click('#csv-panel summary');
      const bad: [string, string][] = [
        ['x,y\n1,2\n3,oops\n', 'is not a number'],
        ['x\n1\n2\n3\n', 'single column'],
        ['x,y\n', 'no data rows'],
        ['', 'empty'],
        ['a,b\n1,5\n2,5\n3,5\n', 'single value'],
        ['a,b\n1,2\n3\n', 'has 1 cells'],
        ['x,y\n' + '1,0\n0,1\n'.repeat(50_001), 'at most 100,000'],
      ];
      for (const [text, message] of bad) {
        await page.$eval(
          '#csv-text',
          (el, v) => {
            (el as HTMLTextAreaElement).value = v;
          },
          text,
        ); // as pasted
        await page.click('#csv-load');
        const state = await ex(page, (e) => ({
          message: e.csvMessage,
          problem: e.state.problem,
          query: e.query,
          shown: document.getElementById('csv-message')!.hidden,
        }));
        expect(state.message, `CSV ${JSON.stringify(text.slice(0, 30))}`).toContain(message);
        expect(state.message).toContain('previous problem stays');
        expect(state.shown).toBe(false);
        expect(state.problem).toBe('gauss');
        expect(state.query).toBe(before);
      }
      // a good one, as a dropped file would come: two features and a class label
      const rows = Array.from({ length: 300 }, (_, i) => {
        const a = Math.sin(i * 1.7) * 3,
          b = Math.cos(i * 0.9) * 3;
        return `${a.toFixed(3)};${b.toFixed(3)};${a * b > 0 ? 1 : 0}`;
      });
      await page.setInputFiles('#csv-file', {
        name: 'quadrants.csv',
        mimeType: 'text/csv',
        buffer: Buffer.from(`a;b;label\n${rows.join('\n')}\n`),
      });
      await page.waitForFunction(() => (window as any).__explorer.state.problem === 'csv' && (window as any).__explorer.ready);
      const loaded = await ex(page, (e) => ({ problem: e.problem, state: e.state, message: e.csvMessage }));
      expect(loaded.message).toBe('');
      expect(loaded.problem).toMatchObject({ task: 'classification', classes: 2, train: 240, test: 60, dims: 2 });
      expect(loaded.state.csv).toMatchObject({ target: 'c2', task: 'classification' });
      const run = await trainUntilTestLossFalls(page, 0.7, 300);
      console.log(`explorer, a CSV: test loss ${run.first.toFixed(3)} → ${run.last.toFixed(4)} in ${run.step} steps`);
      // the link of a CSV problem reloads it from this browser
      const query = await ex(page, (e) => e.query);
      await page.goto(`${server.url}/?${query}`);
      await page.waitForFunction(() => (window as any).__explorer?.ready === true);
      expect(await ex(page, (e) => e.state.problem)).toBe('csv');
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it("shows a diverging run's NON_FINITE error with the state from before it, and resets", async () => {
    const { page, errors } = await open('problem=reg1d&lr=1000000&batch=80');
    try {
      await page.click('#run');
      await page.waitForFunction(() => (window as any).__explorer.errorShown !== null, null, { timeout: 10_000 });
      const failed = await ex(page, (e) => ({
        error: e.error,
        shown: e.errorShown,
        params: e.params,
        step: e.step,
        running: e.running,
      }));
      expect(failed.error.code).toBe('NON_FINITE');
      expect(failed.shown).toContain('NON_FINITE');
      expect(failed.shown).toContain('before that step');
      expect(failed.running).toBe(false);
      expect(failed.step).toBe(failed.error.step - 1);
      expect(
        failed.params.flatMap((p: { weight: number[]; bias: number[] }) => [...p.weight, ...p.bias]).every(Number.isFinite),
      ).toBe(true);
      expect(await page.isDisabled('#run')).toBe(true);
      await page.click('#error-reset');
      await page.waitForFunction(() => (window as any).__explorer.errorShown === null && (window as any).__explorer.step === 0);
      await setValue(page, '#lr', '0.01');
      await page.waitForFunction(() => (window as any).__explorer.state.lr === 0.01);
      const run = await trainUntilTestLossFalls(page, 0.5, 100);
      expect(run.step).toBeGreaterThan(0);
      expect(await ex(page, (e) => e.error)).toBeNull();
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('puts the whole state in the URL: a link reloads it exactly, and the same seed gives the same run', async () => {
    const a = await open('problem=gauss');
    const { page } = a;
    try {
      await page.selectOption('#classes', { value: '3' });
      await page.click('[aria-label="add a hidden layer"]');
      for (let i = 0; i < 3; i++) await page.click('[aria-label="fewer neurons in layer 1"]');
      for (let i = 0; i < 4; i++) await page.click('[aria-label="fewer neurons in layer 2"]');
      await page.selectOption('[aria-label="activation of layer 1"]', { value: 'tanh' });
      await page.selectOption('[aria-label="activation of layer 2"]', { value: 'leaky' });
      await setValue(page, '#lr', '0.07');
      await page.selectOption('#optimizer', { value: 'momentum' });
      await setValue(page, '#batch', '7');
      await setValue(page, '#l2', '0.001');
      await setValue(page, '#seed', '42');
      await setValue(page, '#noise', '20');
      await setValue(page, '#train', '60');
      await page.check('#features input[value="x1sq"]');
      await setValue(page, '#sample', '5');
      await page.selectOption('#w-layer', { value: '1' });
      await page.selectOption('#w-out', { value: '1' });
      await page.selectOption('#neuron', { value: '1.2' });
      await page.check('input[name="scale"][value="linear"]');
      await page.waitForFunction(() => (window as any).__explorer.ready && (window as any).__explorer.state.neuron?.[0] === 1);
      const stateA = await ex(page, (e) => e.state);
      expect(stateA).toMatchObject({
        problem: 'gauss',
        classes: 3,
        noise: 20,
        trainPercent: 60,
        features: ['x1', 'x2', 'x1sq'],
        lr: 0.07,
        optimizer: 'momentum',
        batchSize: 7,
        l2: 0.001,
        seed: 42,
        sample: 5,
        weight: [1, 1, 0],
        neuron: [1, 2],
        lossScale: 'linear',
        hidden: [
          { units: 5, activation: 'tanh' },
          { units: 4, activation: 'leaky' },
        ],
      });
      const query = await ex(page, (e) => e.query);
      expect(page.url()).toContain(query);
      const b = await open(query);
      try {
        expect(await ex(b.page, (e) => e.state)).toEqual(stateA);
        expect(await ex(b.page, (e) => e.query)).toBe(query);
        for (const id of [
          'problem',
          'classes',
          'noise',
          'train',
          'lr',
          'optimizer',
          'batch',
          'l2',
          'seed',
          'sample',
          'w-layer',
          'w-out',
          'w-in',
          'neuron',
        ]) {
          const read = (p: Page) => p.$eval(`#${id}`, (el) => (el as HTMLInputElement).value);
          expect(await read(b.page), id).toBe(await read(page));
        }
        // same seed, same run: step by step, the weights are identical
        const initial = await ex(page, (e) => e.params);
        expect(await ex(b.page, (e) => e.params)).toEqual(initial);
        for (const p of [page, b.page]) {
          await p.$eval('#step', (button) => {
            for (let i = 0; i < 10; i++) (button as HTMLButtonElement).click();
          });
          await p.waitForFunction(() => (window as any).__explorer.step === 10);
        }
        const [pa, pb] = [await ex(page, (e) => e.params), await ex(b.page, (e) => e.params)];
        expect(pb).toEqual(pa);
        expect(pa).not.toEqual(initial);
        expect(a.errors).toEqual([]);
        expect(b.errors).toEqual([]);
      } finally {
        await b.page.close();
      }
    } finally {
      await page.close();
    }
  });

  it('step mode: one forward, one backward, one update, showing what the update changed', async () => {
    const { page, errors } = await open('problem=reg1d&optimizer=sgd&lr=0.05&batch=10');
    try {
      await page.check('#stepmode');
      await page.waitForFunction(
        () => (window as any).__explorer.phase === 'forward' && (window as any).__explorer.backprop?.phase === 'forward',
      );
      const forward = await ex(page, (e) => ({ shown: e.backprop.shown, formula: e.formulaText, step: e.step }));
      expect(forward.shown['b1.0']).toEqual(['δ=?']);
      expect(forward.formula).toContain('zout = Σi wi·ai + b');
      await page.click('#phase');
      await page.waitForFunction(() => (window as any).__explorer.backprop?.phase === 'backward');
      expect((await ex(page, (e) => e.backprop.shown))['b1.0'][0]).toMatch(/^δ=[−0-9]/);
      await page.click('#phase');
      await page.waitForFunction(() => {
        const e = (window as any).__explorer;
        return (
          e.report !== null && e.step === 1 && e.backprop?.shown['u1.0'] !== undefined && e.formulaText.includes('Update on')
        );
      });
      const update = await ex(page, (e) => ({
        report: e.report,
        formula: e.formulaText,
        shown: e.backprop.shown,
        lr: e.state.lr,
      }));
      expect(update.report.stepBefore).toBe(forward.step);
      expect(update.report.batchRows).toBe(10);
      const { before, after, gradient } = update.report.weight;
      // plain SGD: w ← w − lr·∂L/∂w, in float32
      expect(after).toBeCloseTo(Math.fround(before - Math.fround(update.lr * gradient)), 6);
      expect(after).not.toBe(before);
      expect(update.formula).toContain('Update on a batch of 10');
      expect(update.shown['u1.0'][0]).toMatch(/^Δb=/);
      await page.screenshot({ path: join(shots, 'explorer-stepmode-1440.png'), fullPage: true });
      await page.click('#phase');
      await page.waitForFunction(() => (window as any).__explorer.phase === 'forward');
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('at 390 px (a phone) has no horizontal overflow and no label over a node; draws a 6×8 network at a measured frame rate', async () => {
    const query = 'problem=spiral&classes=3&hidden=8tanh,8tanh,8tanh,8tanh,8tanh,8tanh&lr=0.003&optimizer=adam&neuron=2.3';
    const { page, errors } = await open(query, 390, 844);
    try {
      await page.click('#run');
      await page.waitForTimeout(1200);
      const phone = await ex(page, (e) => ({ fps: e.fps, stepsPerSecond: e.stepsPerSecond }));
      await page.click('#run');
      await page.waitForFunction(() => !(window as any).__explorer.running);
      await page.waitForTimeout(300);
      const widths = await ex(page, () => ({
        scroll: document.documentElement.scrollWidth,
        body: document.body.scrollWidth,
        inner: innerWidth,
      }));
      expect(widths.scroll).toBeLessThanOrEqual(widths.inner);
      expect(widths.body).toBeLessThanOrEqual(widths.inner);
      await checkGeometry(page);
      await page.screenshot({ path: join(shots, 'explorer-390.png'), fullPage: true });
      await page.setViewportSize({ width: 1440, height: 900 });
      await page.click('#run');
      await page.waitForTimeout(1200);
      const wide = await ex(page, (e) => ({
        fps: e.fps,
        stepsPerSecond: e.stepsPerSecond,
        timing: e.timing,
        costs: e.workerCosts,
      }));
      await page.click('#run');
      await page.waitForFunction(() => !(window as any).__explorer.running);
      await page.waitForTimeout(300);
      await checkGeometry(page);
      console.log(
        `explorer, 6×8 Tanh network, 50×50 heatmaps: ${phone.fps.toFixed(1)} fps and ${Math.round(phone.stepsPerSecond).toLocaleString('en-US')} steps/s at 390 px; ` +
          `${wide.fps.toFixed(1)} fps and ${Math.round(wide.stepsPerSecond).toLocaleString('en-US')} steps/s at 1440 px ` +
          `(draw ${wide.timing.main.toFixed(1)} ms a frame, detail views ${wide.timing.detail.toFixed(1)} ms; worker snapshot ${wide.costs.snapshot.toFixed(1)} ms)`,
      );
      expect(wide.stepsPerSecond).toBeGreaterThan(50);
      expect(wide.fps).toBeGreaterThan(1);
      await page.screenshot({ path: join(shots, 'explorer-6x8-1440.png'), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe("the explorer's URL state", () => {
  it('decodes what it encodes, for any state', () => {
    const layer = fc.record({ units: fc.integer({ min: 1, max: 8 }), activation: fc.constantFrom(...ACTIVATIONS) });
    const state = fc.record({
      problem: fc.constantFrom(...PROBLEMS.filter((p) => p !== 'csv')),
      classes: fc.constantFrom(2, 3),
      noise: fc.integer({ min: 0, max: 50 }),
      trainPercent: fc.integer({ min: 10, max: 90 }),
      features: fc.constantFrom(['x1', 'x2'], ['x1', 'x2', 'sinx1'], ['x1x2']).map((f) => [...f]),
      hidden: fc.array(layer, { maxLength: 6 }),
      lr: fc.double({ min: 1e-6, max: 1e6, noNaN: true }),
      optimizer: fc.constantFrom(...OPTIMIZERS),
      batchSize: fc.integer({ min: 1, max: 100000 }),
      l2: fc.double({ min: 0, max: 10, noNaN: true }).map((v) => v + 0),
      seed: fc.integer({ min: 0, max: 0xffffffff }),
      sample: fc.integer({ min: 0, max: 999 }),
      weight: fc.tuple(fc.nat(6), fc.nat(7), fc.nat(7)),
      neuron: fc.option(fc.tuple(fc.nat(6), fc.nat(7)), { nil: null }),
      lossScale: fc.constantFrom('log' as const, 'linear' as const),
      stepScale: fc.constantFrom('log' as const, 'linear' as const),
      showTest: fc.boolean(),
      speed: fc.constantFrom(null, 1, 10, 100, 1000, 10000),
    });
    fc.assert(
      fc.property(state, (partial) => {
        const s: ExplorerState = { ...defaultState(), ...partial, csv: null, axes: null };
        if (s.problem !== 'gauss' && s.problem !== 'circle' && s.problem !== 'xor' && s.problem !== 'spiral') s.classes = 2;
        const { state: back, ignored } = decodeState(encodeState(s));
        expect(ignored).toEqual([]);
        expect(back).toEqual(s);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps the defaults for malformed parameters and says which', () => {
    const { state, ignored } = decodeState('problem=moon&lr=-1&hidden=9relu&batch=0.5&seed=x&weight=1.2&neuron=a.b');
    const d = defaultState();
    expect(state).toMatchObject({
      problem: d.problem,
      lr: d.lr,
      hidden: d.hidden,
      batchSize: d.batchSize,
      seed: d.seed,
      weight: d.weight,
      neuron: null,
    });
    expect(ignored).toHaveLength(7);
    expect(ignored.join(' ')).toContain('lr=-1');
  });
});
