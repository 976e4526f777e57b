// The backprop explorer's page: holds the state (mirrored in the URL), builds the problem, runs the
// training worker, and draws what the worker reports. Drawing happens in requestAnimationFrame; the
// worker is asked for the next snapshot only once the last one has arrived.
import { type CsvTable, csvData, csvKey, parseCsv, suggestTask } from './csv';
import { PROBLEM_NAMES, type RawData, builtInData } from './datasets';
import { renderEditor } from './editor';
import { availableFeatures, defaultFeatures } from './features';
import { type Gate, compareWithTrace, neuronGraph, workedExample } from './gates';
import { type Problem, buildProblem } from './problem';
import type { FromWorker, NetSpec, Snapshot, StepReport, ToWorker } from './protocol';
import {
  type ExplorerState, LIMITS, type OptimizerId, PROBLEMS, type ProblemId, type Task, decodeState, defaultState, encodeState,
  isBuiltInClassification, sameRun,
} from './state';
import { BackpropView, type Phase } from './views/backprop';
import { classCss } from './views/colors';
import { fmt, fmtLoss } from './views/format';
import { type FormulaContext, type WeightNumbers, esc, formulaHtml, weightNumbers } from './views/formula';
import { GateView, gateNotesHtml } from './views/gates';
import { LossView } from './views/loss';
import { type NetworkHit, NetworkView } from './views/network';
import { PlaneView } from './views/plane';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const CSV_STORE = 'backprop-explorer.csv.';
const DETAIL_INTERVAL_MS = 200;

class Explorer {
  state: ExplorerState;
  problem!: Problem;
  private raw!: RawData;
  private csvTable: CsvTable | null = null;
  private readonly worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  private generation = 0;
  private running = false;
  private pending = false;
  private again = false;
  snapshot: Snapshot | null = null;
  private dirty = true;
  private detailDirty = true;
  private lastDetail = 0;
  // step mode: the phase shown, and the trace and weights at the start of the cycle
  phase: Phase | null = null;
  report: StepReport | null = null;
  private cycle: Snapshot | null = null;
  private hover: NetworkHit | null = null;
  private widths = new Map<string, number>();
  fps = 0;
  frames = 0;
  /** Milliseconds per draw (moving averages), of the live views and of the detail views. */
  timing = { main: 0, detail: 0 };
  private readonly visible = new Map<string, boolean>();
  private readonly stale = new Set<string>();
  private lastGrid: Snapshot | null = null;
  private fpsWindow = { frames: 0, since: performance.now() };
  notes: string[] = [];
  csvMessage = '';

  readonly views = {
    plane: new PlaneView($<HTMLCanvasElement>('plane')),
    network: new NetworkView($<HTMLCanvasElement>('network')),
    loss: new LossView($<HTMLCanvasElement>('loss')),
    backprop: new BackpropView($<HTMLCanvasElement>('backprop')),
    gates: new GateView($<HTMLCanvasElement>('gates')),
  };
  weight: WeightNumbers | null = null;
  gateRoot: Gate = workedExample();
  gateCheck: number | null = null;

  constructor() {
    const { state, ignored } = decodeState(location.search);
    this.state = state;
    if (ignored.length) this.notes.push(`Ignored in the URL: ${ignored.join('; ')}.`);
    if (state.problem === 'csv' && state.csv) {
      const text = readStored(state.csv.key);
      const table = text === null ? null : parseCsv(text);
      if (table?.ok) this.csvTable = table.value;
      else {
        this.notes.push('This link uses a CSV that is not stored in this browser: paste or drop it again. Showing the 1-D regression meanwhile.');
        const fallback = defaultState();
        Object.assign(this.state, { problem: fallback.problem, csv: null, features: fallback.features, axes: null });
      }
    }
    this.worker.onmessage = (event: MessageEvent<FromWorker>) => this.receive(event.data);
    this.worker.onerror = (event) => this.showError(`the training worker failed: ${event.message}`, null);
    this.bindControls();
    this.observeSizes();
    this.observeVisibility();
    if (!this.rebuild()) {
      // a URL whose data cannot be built (a stored CSV that no longer fits): start from the defaults
      this.state = defaultState();
      this.rebuild();
    }
    requestAnimationFrame((t) => this.frame(t));
  }

  // ---- state -------------------------------------------------------------------------------------------

  /** Applies a change. A change to the run (data, network, training) starts it again from step 0 —
   *  running on if it was running — so that a URL always describes a run from its start. */
  update(patch: Partial<ExplorerState>): void {
    const before = this.state;
    const next = { ...before, ...patch };
    const axesChanged = JSON.stringify(before.axes) !== JSON.stringify(next.axes);
    this.state = next;
    if (!sameRun(before, next) || axesChanged) {
      if (!this.rebuild()) { this.state = before; this.syncControls(); }
      return;
    }
    this.clampSelections();
    if (this.phase === 'update' && before.sample !== next.sample) { this.phase = 'forward'; this.report = null; this.syncPhaseButton(); }
    this.writeUrl();
    this.syncControls();
    this.detailDirty = this.dirty = true;
    this.requestSnapshot();
  }

  /** Builds the problem of the state and starts a new run; false (and nothing changed) if it cannot. */
  private rebuild(): boolean {
    let raw: RawData, ids: string[] = [];
    if (this.state.problem === 'csv') {
      if (!this.csvTable || !this.state.csv) return false;
      const made = csvData(this.csvTable, Number(this.state.csv.target.slice(1)), this.state.csv.task);
      if (!made.ok) { this.setCsvMessage(made.message); return false; }
      raw = made.value.data;
      ids = made.value.ids;
    } else {
      raw = builtInData(this.state);
    }
    const built = buildProblem(this.state, raw, ids);
    this.raw = raw;
    this.problem = built.problem;
    this.state = { ...this.state, features: built.features };
    if (built.notes.length) this.notes.push(...built.notes);
    this.clampSelections();
    this.restart();
    this.writeUrl();
    this.syncControls();
    return true;
  }

  private clampSelections(): void {
    const s = this.state, p = this.problem;
    const widths = [p.features.length, ...s.hidden.map((h) => h.units), p.outputs];
    s.sample = Math.max(0, Math.min(p.train.length - 1, s.sample));
    let [l, o, i] = s.weight;
    l = Math.max(0, Math.min(widths.length - 2, l));
    o = Math.max(0, Math.min(widths[l + 1] - 1, o));
    i = Math.max(0, Math.min(widths[l] - 1, i));
    s.weight = [l, o, i];
    if (s.neuron) {
      const [nl, ni] = s.neuron;
      s.neuron = nl < widths.length - 1 && ni < widths[nl + 1] ? s.neuron : null;
    }
  }

  private netSpec(): NetSpec {
    return { inFeatures: this.problem.features.length, hidden: this.state.hidden, outFeatures: this.problem.outputs, task: this.problem.task };
  }

  /** A new run (generation) in the worker, from step 0. */
  private restart(): void {
    const wasRunning = this.running;
    this.generation++;
    this.snapshot = null;
    this.cycle = null;
    this.report = null;
    if (this.phase) this.phase = 'forward';
    this.hideError();
    const p = this.problem, s = this.state;
    this.send({
      type: 'configure', generation: this.generation, net: this.netSpec(),
      train: { optimizer: s.optimizer, lr: s.lr, l2: s.l2, batchSize: s.batchSize, seed: s.seed },
      data: { trainX: p.trainX, trainY: p.trainY, testX: p.testX, testY: p.testY, gridX: p.grid.x, gridRows: p.grid.rows },
    });
    this.send({ type: 'speed', stepsPerSecond: s.speed });
    this.pending = false; // an answer about the old run is dropped; this run is asked afresh
    this.again = false;
    this.running = false;
    if (wasRunning && !this.phase) this.setRunning(true);
    else this.requestSnapshot();
    this.detailDirty = this.dirty = true;
  }

  private writeUrl(): void {
    const query = encodeState(this.state);
    if (location.search.slice(1) !== query) history.replaceState(null, '', `${location.pathname}?${query}`);
  }

  // ---- the worker --------------------------------------------------------------------------------------

  private send(message: ToWorker): void {
    this.worker.postMessage(message);
  }

  /** Asks the worker for a snapshot; if one is on its way, asks again when it comes (it may predate a
   *  change: a pause, another sample). */
  private requestSnapshot(): void {
    if (this.pending) { this.again = true; return; }
    this.pending = true;
    this.again = false;
    // the plane's activations are only needed when a view that shows them is on screen
    this.send({ type: 'frame', sample: this.state.sample, grid: !this.running || this.onScreen('plane') || this.onScreen('network') });
  }

  private setRunning(on: boolean): void {
    if (on && this.snapshot?.error) return;
    this.running = on;
    this.send({ type: on ? 'run' : 'pause' });
    const button = $<HTMLButtonElement>('run');
    button.textContent = on ? '❚❚ pause' : '▶ run';
    button.classList.toggle('primary', on);
    this.requestSnapshot();
  }

  private receive(message: FromWorker): void {
    if (message.type === 'fatal') { this.showError(`the training worker failed: ${message.message}`, null); return; }
    if (message.generation !== this.generation) return; // about a run since replaced (restart re-asked)
    if (message.type === 'step-report') {
      this.report = message;
      this.detailDirty = true;
      return;
    }
    this.pending = false;
    this.snapshot = message;
    this.dirty = true;
    if (message.error) {
      this.running = false;
      $<HTMLButtonElement>('run').textContent = '▶ run';
      $<HTMLButtonElement>('run').classList.remove('primary');
      this.showError(`${message.error.code}: ${message.error.message}`, message.error.step);
    } else if (this.running || this.again) {
      this.requestSnapshot();
    }
    if (!this.running) this.detailDirty = true;
  }

  private showError(text: string, step: number | null): void {
    $('error-text').textContent = step === null ? text
      : `Training stopped at step ${step.toLocaleString('en-US')}: ${text} The views show the network as it was before that step.`;
    $('error').hidden = false;
    $<HTMLButtonElement>('run').disabled = true;
    $<HTMLButtonElement>('step').disabled = true;
  }

  private hideError(): void {
    $('error').hidden = true;
    $<HTMLButtonElement>('run').disabled = false;
    $<HTMLButtonElement>('step').disabled = false;
  }

  // ---- step mode ---------------------------------------------------------------------------------------

  private setStepMode(on: boolean): void {
    if (on) {
      this.setRunning(false);
      this.phase = 'forward';
    } else {
      this.phase = null;
      this.report = null;
    }
    $<HTMLInputElement>('stepmode').checked = on;
    this.syncPhaseButton();
    this.detailDirty = true;
  }

  private nextPhase(): void {
    if (!this.phase || this.snapshot?.error) return;
    if (this.phase === 'forward') this.phase = 'backward';
    else if (this.phase === 'backward') {
      this.phase = 'update';
      this.cycle = this.snapshot;
      this.report = null;
      this.send({ type: 'step', count: 1, report: true });
      this.requestSnapshot();
    } else {
      this.phase = 'forward';
      this.report = null;
    }
    this.syncPhaseButton();
    this.detailDirty = true;
  }

  private syncPhaseButton(): void {
    const b = $<HTMLButtonElement>('phase');
    b.disabled = !this.phase;
    b.textContent = !this.phase ? 'next: forward' : this.phase === 'forward' ? 'next: backward ▸' : this.phase === 'backward' ? 'next: update ▸' : 'next: forward ▸';
    b.setAttribute('aria-label', this.phase ? `showing the ${this.phase} phase; ${b.textContent}` : 'step mode is off');
  }

  // ---- drawing -----------------------------------------------------------------------------------------

  private frame(now: number): void {
    requestAnimationFrame((t) => this.frame(t));
    if (this.dirty) {
      this.dirty = false;
      const t0 = performance.now();
      this.drawMain();
      this.timing.main = 0.9 * this.timing.main + 0.1 * (performance.now() - t0);
      this.frames++;
      this.fpsWindow.frames++;
    }
    if (now - this.fpsWindow.since >= 1000) {
      this.fps = (this.fpsWindow.frames * 1000) / (now - this.fpsWindow.since);
      this.fpsWindow = { frames: 0, since: now };
    }
    if (this.detailDirty && (!this.running || now - this.lastDetail >= DETAIL_INTERVAL_MS)) {
      this.detailDirty = false;
      this.lastDetail = now;
      const t0 = performance.now();
      this.drawDetail();
      this.timing.detail = 0.9 * this.timing.detail + 0.1 * (performance.now() - t0);
    }
  }

  private width(id: string): number {
    return this.widths.get(id) ?? $(id).clientWidth;
  }

  /** Whether a canvas is on screen (or near it). While training, only those are redrawn. */
  private onScreen(id: string): boolean {
    return this.visible.get(id) ?? true;
  }

  /** Draws a view when it is on screen or training is paused; else marks it to be drawn when it shows. */
  private shows(id: string): boolean {
    if (!this.running || this.onScreen(id)) return true;
    this.stale.add(id);
    return false;
  }

  private drawMain(): void {
    const p = this.problem, s = this.state, snap = this.snapshot;
    const v = this.views;
    // the grid of a snapshot taken while the views were off screen is missing: keep the last picture
    const grid = snap?.grid ? snap : this.lastGrid;
    if (snap?.grid) this.lastGrid = snap;
    const withGrid = snap && grid && grid !== snap ? { ...snap, grid: grid.grid } : snap;
    if (this.shows('plane')) {
      v.plane.fit(this.width('output-panel') - 26);
      v.plane.draw(p, withGrid, s.sample, s.showTest);
    }
    if (this.shows('network')) {
      v.network.fit(this.width('network-box'), p, s.hidden);
      v.network.draw(p, withGrid, s.hidden, { weight: s.weight, neuron: s.neuron }, this.hover);
    }
    if (this.shows('loss')) {
      v.loss.fit(this.width('output-panel') - 26);
      v.loss.draw(snap, s.lossScale, s.stepScale);
    }
    this.updateTooltip();
    this.drawStatus();
    if (this.running) this.detailDirty = true;
  }

  private drawStatus(): void {
    const snap = this.snapshot;
    const parts = [`step ${(snap?.step ?? 0).toLocaleString('en-US')}`, `epoch ${(snap?.epoch ?? 0).toLocaleString('en-US')}`];
    if (snap) {
      parts.push(`loss train ${fmtLoss(snap.trainLoss)} · test ${fmtLoss(snap.testLoss)}`);
      if (snap.trainAccuracy !== null && snap.testAccuracy !== null) {
        parts.push(`accuracy ${(100 * snap.trainAccuracy).toFixed(1)}% · ${(100 * snap.testAccuracy).toFixed(1)}%`);
      }
      parts.push(`${Math.round(snap.stepsPerSecond).toLocaleString('en-US')} steps/s`);
    }
    parts.push(`${Math.round(this.fps)} fps`);
    $('status').textContent = parts.join('  ·  ');
  }

  /** The backprop view, its formula and the gate view (at most every 150 ms while training). */
  private drawDetail(): void {
    // the update phase shows the network before the step beside what the step changed
    const snap = this.phase === 'update' ? this.cycle ?? this.snapshot : this.snapshot;
    if (!snap?.trace) return;
    const p = this.problem, s = this.state;
    const trace = snap.trace;
    const width = this.width('backprop-panel') - 26;
    if (this.shows('backprop')) {
      this.views.backprop.draw(width, trace, snap.params, s.weight, this.phase, this.phase === 'update' ? this.report : null, p.task === 'classification');
    }
    this.weight = weightNumbers(trace, snap.params, s.weight, p.task);
    const context: FormulaContext = {
      inputName: this.nodeName(s.weight[0], s.weight[2]), outputName: this.nodeName(s.weight[0] + 1, s.weight[1]),
      activation: s.weight[0] < s.hidden.length ? ACTIVATION_TEXT[s.hidden[s.weight[0]].activation] : 'id',
      phase: this.phase, report: this.report, optimizer: s.optimizer as OptimizerId, lr: s.lr, l2: s.l2,
      lossBefore: this.cycle?.trace?.loss ?? null, lossAfter: this.report && this.snapshot?.step !== this.cycle?.step ? this.snapshot?.trace?.loss ?? null : null,
    };
    $('formula').innerHTML = formulaHtml(this.weight, trace, snap.params, context);
    $('sample-text').innerHTML = this.sampleHtml(snap);
    if (!this.shows('gates')) return;
    // the gate view: the worked example until a neuron is chosen
    if (s.neuron) {
      const [layer, index] = s.neuron;
      const graph = neuronGraph(trace, snap.params, layer, index, layer < s.hidden.length ? s.hidden[layer].activation : null, p.task);
      this.gateRoot = graph.root;
      this.gateCheck = compareWithTrace(graph, trace, layer, index);
      this.views.gates.draw(this.width('gate-panel') - 26, graph.root, `neuron ${index} of layer ${layer + 1}`);
      $('gate-notes').innerHTML = gateNotesHtml(graph.root) +
        `<p class="note">The gate graph computes in float64 from the trace's inputs and weights; it agrees with net.trace's float32 ∂L/∂z, ∂L/∂b and ∂L/∂w to a relative ${fmt(this.gateCheck, 2)}.</p>`;
    } else {
      this.gateRoot = workedExample();
      this.gateCheck = null;
      this.views.gates.draw(this.width('gate-panel') - 26, this.gateRoot, 'f = (x + y)·z');
      $('gate-notes').innerHTML = '<p class="note">The lecture\'s example f = (x + y)·z at x = −2, y = 5, z = −4. Choose a neuron above (or click one in the network) to see it as gates with this sample\'s numbers.</p>' + gateNotesHtml(this.gateRoot);
    }
  }

  private nodeName(column: number, index: number): string {
    const p = this.problem;
    if (column === 0) return `input ${p.features[index]?.label ?? index}`;
    if (column === this.state.hidden.length + 1) return p.task === 'classification' ? `output ${index} (${p.classNames[index]})` : 'the output ŷ';
    return `neuron ${index} of layer ${column}`;
  }

  private sampleHtml(snap: Snapshot): string {
    const p = this.problem, t = snap.trace!;
    const row = p.train[t.sample];
    const raw = Array.from({ length: p.raw.columns.length }, (_, c) => `${esc(p.raw.columns[c])} = ${fmt(p.raw.inputs[row * p.raw.columns.length + c])}`).join(', ');
    const target = p.task === 'classification'
      ? `class ${t.target} <span style="color:${classCss(t.target)}">■</span> (${esc(p.classNames[t.target] ?? '')})`
      : `${fmt(p.raw.targets[row])} (standardised ${fmt(t.target)})`;
    const predicted = p.task === 'classification' ? `logits ${Array.from(t.output, (v) => fmt(v)).join(', ')}` : `ŷ = ${fmt(t.output[0])} (${fmt(t.output[0] * p.targetStd + p.targetMean)})`;
    const phase = this.phase ? ` Step mode, <b>${this.phase}</b> phase${this.phase === 'update' && !this.report ? ' (waiting for the step)' : ''}.` : '';
    return `Training sample ${t.sample} of ${p.train.length}: ${raw} → target ${target}; ${predicted}; loss ${fmt(t.loss, 4)} (${p.task === 'classification' ? 'cross-entropy' : 'squared error'}), at step ${snap.step.toLocaleString('en-US')}.${phase}`;
  }

  private updateTooltip(): void {
    const tip = $('tooltip');
    if (!this.hover) { tip.hidden = true; return; }
    const v = this.views.network;
    tip.textContent = v.describe(this.hover, this.snapshot, this.problem, this.state.hidden);
    tip.hidden = false;
    const at = v.anchor(this.hover);
    const box = $('network-box').clientWidth;
    const w = Math.min(280, tip.offsetWidth);
    tip.style.left = `${Math.max(0, Math.min(box - w, at.x - w / 2))}px`;
    tip.style.top = `${at.y + 8}px`;
  }

  private observeVisibility(): void {
    const observer = new IntersectionObserver((entries) => {
      for (const e of entries) {
        const id = e.target.id;
        this.visible.set(id, e.isIntersecting);
        if (e.isIntersecting && this.stale.delete(id)) this.dirty = this.detailDirty = true;
      }
    }, { rootMargin: '80px' });
    for (const id of ['plane', 'network', 'loss', 'backprop', 'gates']) observer.observe($(id));
  }

  private observeSizes(): void {
    const ids = ['output-panel', 'network-box', 'backprop-panel', 'gate-panel'];
    const observer = new ResizeObserver((entries) => {
      for (const e of entries) this.widths.set((e.target as HTMLElement).id, e.contentRect.width + (e.target.id.endsWith('panel') ? 24 : 0));
      this.dirty = this.detailDirty = true;
    });
    for (const id of ids) observer.observe($(id));
  }

  // ---- controls ----------------------------------------------------------------------------------------

  private syncControls(): void {
    const s = this.state, p = this.problem;
    const set = (id: string, value: string) => { const el = $<HTMLInputElement | HTMLSelectElement>(id); if (el.value !== value) el.value = value; };
    set('problem', s.problem);
    set('classes', String(s.classes));
    $<HTMLSelectElement>('classes').disabled = !isBuiltInClassification(s.problem);
    set('noise', String(s.noise));
    $('noise-out').textContent = String(s.noise);
    $<HTMLInputElement>('noise').disabled = s.problem === 'csv';
    set('train', String(s.trainPercent));
    $('train-out').textContent = `${s.trainPercent}%  (${p.train.length} train, ${p.test.length} test)`;
    set('lr', String(s.lr));
    set('optimizer', s.optimizer);
    set('batch', String(s.batchSize));
    set('l2', String(s.l2));
    set('seed', String(s.seed));
    $<HTMLInputElement>('show-test').checked = s.showTest;
    for (const r of document.querySelectorAll<HTMLInputElement>('input[name=scale]')) r.checked = r.value === s.lossScale;
    for (const r of document.querySelectorAll<HTMLInputElement>('input[name=steps]')) r.checked = r.value === s.stepScale;
    set('speed', s.speed === null ? 'max' : String(s.speed));
    this.renderFeatures();
    renderEditor($('editor'), s.hidden, (hidden) => this.update({ hidden }));
    this.renderPickers();
    this.renderCsvControls();
    $('data-note').textContent = [this.problem.raw.description + '.', ...this.notes].join(' ');
    $('plane-legend').innerHTML = this.legendHtml();
  }

  private renderFeatures(): void {
    const box = $('features');
    const available = availableFeatures(this.state.problem, this.raw, this.state.problem === 'csv' ? this.csvIds() : []);
    const key = available.map((f) => f.id).join() + '|' + this.state.features.join();
    if (box.dataset.key === key) return;
    box.dataset.key = key;
    const legend = box.querySelector('legend')!;
    box.replaceChildren(legend);
    for (const f of available) {
      const label = document.createElement('label');
      const input = document.createElement('input');
      input.type = 'checkbox';
      input.value = f.id;
      input.checked = this.state.features.includes(f.id);
      input.onchange = () => {
        const chosen = available.filter((g) => g.id === f.id ? input.checked : this.state.features.includes(g.id)).map((g) => g.id);
        if (chosen.length === 0 || chosen.length > LIMITS.features) { input.checked = !input.checked; return; }
        this.update({ features: chosen });
      };
      label.append(input, ` ${f.label}`);
      box.append(label);
    }
  }

  private csvIds(): string[] {
    const target = this.state.csv ? Number(this.state.csv.target.slice(1)) : -1;
    return (this.csvTable?.names ?? []).map((_, k) => k).filter((k) => k !== target).map((k) => `c${k}`);
  }

  private renderPickers(): void {
    const s = this.state, p = this.problem;
    const widths = [p.features.length, ...s.hidden.map((h) => h.units), p.outputs];
    const options = (id: string, items: [string, string][], value: string) => {
      const el = $<HTMLSelectElement>(id);
      const key = items.map((i) => i.join(':')).join('|');
      if (el.dataset.key !== key) {
        el.dataset.key = key;
        el.replaceChildren(...items.map(([v, t]) => new Option(t, v)));
      }
      el.value = value;
    };
    const [l, o, i] = s.weight;
    options('w-layer', widths.slice(1).map((_, k) => [String(k), `${k + 1}${k === widths.length - 2 ? ' (output)' : ''}`]), String(l));
    options('w-out', Array.from({ length: widths[l + 1] }, (_, k) => [String(k), this.nodeName(l + 1, k)]), String(o));
    options('w-in', Array.from({ length: widths[l] }, (_, k) => [String(k), this.nodeName(l, k)]), String(i));
    const neurons: [string, string][] = [['example', 'worked example: f = (x + y)·z']];
    for (let layer = 0; layer < widths.length - 1; layer++) {
      for (let k = 0; k < widths[layer + 1]; k++) neurons.push([`${layer}.${k}`, `layer ${layer + 1}${layer === widths.length - 2 ? ' (output)' : ''}, neuron ${k}`]);
    }
    options('neuron', neurons, s.neuron ? s.neuron.join('.') : 'example');
    const sample = $<HTMLInputElement>('sample');
    sample.max = String(p.train.length - 1);
    if (sample.value !== String(s.sample)) sample.value = String(s.sample);
  }

  private renderCsvControls(): void {
    const table = this.csvTable;
    const target = $<HTMLSelectElement>('csv-target');
    const names = table?.names ?? [];
    const key = names.join('|');
    if (target.dataset.key !== key) {
      target.dataset.key = key;
      target.replaceChildren(...names.map((n, k) => new Option(n, `c${k}`)));
    }
    const csv = this.state.problem === 'csv' ? this.state.csv : null;
    target.disabled = !csv;
    $<HTMLSelectElement>('csv-task').disabled = !csv;
    if (csv) { target.value = csv.target; $<HTMLSelectElement>('csv-task').value = csv.task; }
    const features = this.problem.features;
    const axisOptions = features.filter((f) => f.column !== null).map((f) => new Option(f.label, f.id));
    for (const [id, k] of [['axis-x', 0], ['axis-y', 1]] as const) {
      const el = $<HTMLSelectElement>(id);
      el.replaceChildren(...axisOptions.map((o) => new Option(o.text, o.value)));
      el.disabled = !csv || axisOptions.length < 2;
      const current = this.problem.grid.axes[k];
      const f = features.find((g) => g.column === current);
      if (f) el.value = f.id;
    }
  }

  private legendHtml(): string {
    const p = this.problem;
    const test = this.state.showTest ? ' Test points have a black outline, training points a white one.' : '';
    if (p.task === 'classification') {
      const shapes = ['●', '■', '▲', '◆'];
      const classes = p.classNames.map((n, k) => `<span style="color:${classCss(k)}">${shapes[k % 4]}</span> ${esc(n)}`).join(' &nbsp; ');
      return `${classes}. The background is the predicted class${p.classes === 2 ? ' (orange ↔ blue by probability)' : ', paler where unsure'}.${test}`;
    }
    return p.grid.dims === 2
      ? `Colour: the predicted (background) and true (points) target, orange low ↔ blue high.${test}`
      : `Points: the data (hollow: test); line: the network's prediction.`;
  }

  private setCsvMessage(text: string): void {
    this.csvMessage = text;
    const el = $('csv-message');
    el.textContent = text;
    el.hidden = text === '';
  }

  /** Loads CSV text as the problem, or says why not and keeps the current one. */
  loadCsv(text: string): boolean {
    const parsed = parseCsv(text);
    if (!parsed.ok) { this.setCsvMessage(`This CSV was not loaded: ${parsed.message}. The previous problem stays.`); return false; }
    const table = parsed.value;
    const target = table.names.length - 1;
    const task = suggestTask(table, target);
    const made = csvData(table, target, task);
    if (!made.ok) { this.setCsvMessage(`This CSV was not loaded: ${made.message}. The previous problem stays.`); return false; }
    const key = csvKey(text);
    const previous = { table: this.csvTable, state: this.state };
    this.csvTable = table;
    this.state = {
      ...this.state, problem: 'csv', csv: { key, target: `c${target}`, task }, axes: null,
      features: defaultFeatures('csv', availableFeatures('csv', made.value.data, made.value.ids)),
    };
    if (!this.rebuild()) { this.csvTable = previous.table; this.state = previous.state; this.syncControls(); return false; }
    store(key, text);
    this.setCsvMessage('');
    return true;
  }

  private changeCsv(target: string, task: Task): void {
    if (!this.csvTable || !this.state.csv) return;
    const made = csvData(this.csvTable, Number(target.slice(1)), task);
    if (!made.ok) { this.setCsvMessage(`Not changed: ${made.message}.`); this.syncControls(); return; }
    this.setCsvMessage('');
    const features = defaultFeatures('csv', availableFeatures('csv', made.value.data, made.value.ids));
    this.update({ csv: { ...this.state.csv, target, task }, features, axes: null });
  }

  private bindControls(): void {
    const on = (id: string, event: string, handler: (el: HTMLInputElement) => void) => $(id).addEventListener(event, () => handler($<HTMLInputElement>(id)));
    on('run', 'click', () => this.setRunning(!this.running));
    on('step', 'click', () => this.step());
    on('reset', 'click', () => this.restart());
    on('error-reset', 'click', () => this.restart());
    on('stepmode', 'change', (el) => this.setStepMode(el.checked));
    on('phase', 'click', () => this.nextPhase());
    on('problem', 'change', (el) => this.chooseProblem(el.value as ProblemId));
    on('classes', 'change', (el) => this.update({ classes: Number(el.value) }));
    on('noise', 'input', (el) => { $('noise-out').textContent = el.value; });
    on('noise', 'change', (el) => this.update({ noise: Number(el.value) }));
    on('train', 'change', (el) => this.update({ trainPercent: Number(el.value) }));
    const number = (id: string, lo: number, hi: number, integer: boolean, apply: (v: number) => Partial<ExplorerState>) => on(id, 'change', (el) => {
      const v = Number(el.value);
      if (el.value === '' || !Number.isFinite(v) || v < lo || v > hi || (integer && !Number.isInteger(v))) {
        el.setCustomValidity(`expected ${integer ? 'an integer' : 'a number'} in [${lo}, ${hi}]`);
        el.reportValidity();
        return;
      }
      el.setCustomValidity('');
      this.update(apply(v));
    });
    number('lr', ...LIMITS.lr, false, (lr) => ({ lr }));
    number('batch', 1, LIMITS.batchSize, true, (batchSize) => ({ batchSize }));
    number('l2', ...LIMITS.l2, false, (l2) => ({ l2 }));
    number('seed', ...LIMITS.seed, true, (seed) => ({ seed }));
    on('reseed', 'click', () => this.update({ seed: Math.floor(Math.random() * 100000) }));
    on('optimizer', 'change', (el) => this.update({ optimizer: el.value as OptimizerId }));
    on('show-test', 'change', (el) => this.update({ showTest: el.checked }));
    for (const r of document.querySelectorAll<HTMLInputElement>('input[name=scale]')) r.addEventListener('change', () => this.update({ lossScale: r.value as 'log' | 'linear' }));
    for (const r of document.querySelectorAll<HTMLInputElement>('input[name=steps]')) r.addEventListener('change', () => this.update({ stepScale: r.value as 'log' | 'linear' }));
    on('speed', 'change', (el) => {
      const speed = el.value === 'max' ? null : Number(el.value);
      this.send({ type: 'speed', stepsPerSecond: speed });
      this.update({ speed });
    });
    number('sample', 0, 1e6, true, (sample) => ({ sample }));
    on('sample-prev', 'click', () => this.update({ sample: (this.state.sample - 1 + this.problem.train.length) % this.problem.train.length }));
    on('sample-next', 'click', () => this.update({ sample: (this.state.sample + 1) % this.problem.train.length }));
    on('w-layer', 'change', (el) => this.update({ weight: [Number(el.value), 0, 0] }));
    on('w-out', 'change', (el) => this.update({ weight: [this.state.weight[0], Number(el.value), this.state.weight[2]] }));
    on('w-in', 'change', (el) => this.update({ weight: [this.state.weight[0], this.state.weight[1], Number(el.value)] }));
    on('neuron', 'change', (el) => this.update({ neuron: el.value === 'example' ? null : (el.value.split('.').map(Number) as [number, number]) }));
    on('csv-load', 'click', () => this.loadCsv($<HTMLTextAreaElement>('csv-text').value));
    on('csv-file', 'change', (el) => { const f = el.files?.[0]; if (f) void this.readFile(f); });
    on('csv-target', 'change', (el) => this.changeCsv(el.value, this.state.csv?.task ?? 'regression'));
    on('csv-task', 'change', (el) => this.changeCsv(this.state.csv?.target ?? 'c0', el.value as Task));
    const axes = () => this.update({ axes: [$<HTMLSelectElement>('axis-x').value, $<HTMLSelectElement>('axis-y').value] });
    on('axis-x', 'change', axes);
    on('axis-y', 'change', axes);
    // a file dropped anywhere on the page
    document.addEventListener('dragover', (e) => { e.preventDefault(); });
    document.addEventListener('drop', (e) => {
      e.preventDefault();
      const f = e.dataTransfer?.files?.[0];
      if (f) void this.readFile(f);
      else { const text = e.dataTransfer?.getData('text/plain'); if (text) { $<HTMLTextAreaElement>('csv-text').value = text; this.loadCsv(text); } }
    });
    // the network: hover for live values, click to choose a weight or a neuron
    const canvas = $<HTMLCanvasElement>('network');
    const point = (e: MouseEvent) => { const r = canvas.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top] as const; };
    canvas.addEventListener('mousemove', (e) => { this.hover = this.views.network.hit(...point(e)); this.dirty = true; });
    canvas.addEventListener('mouseleave', () => { this.hover = null; this.dirty = true; });
    canvas.addEventListener('click', (e) => {
      const hit = this.views.network.hit(...point(e));
      if (hit?.kind === 'edge') this.update({ weight: [hit.layer, hit.out, hit.in] });
      else if (hit?.kind === 'node' && hit.column > 0) this.update({ neuron: [hit.column - 1, hit.index] });
    });
    $<HTMLCanvasElement>('plane').addEventListener('click', (e) => {
      const r = $('plane').getBoundingClientRect();
      const sample = this.views.plane.pick(e.clientX - r.left, e.clientY - r.top, this.problem);
      if (sample !== null) this.update({ sample });
    });
    document.addEventListener('keydown', (e) => {
      const target = e.target as HTMLElement;
      if (e.ctrlKey || e.metaKey || e.altKey || /^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(target.tagName)) return;
      if (e.key === ' ') { e.preventDefault(); if (!this.phase) this.setRunning(!this.running); }
      else if (e.key === 's') this.phase ? this.nextPhase() : this.step();
      else if (e.key === 'r') this.restart();
    });
  }

  private step(): void {
    if (this.phase) { this.nextPhase(); return; }
    this.setRunning(false);
    this.send({ type: 'step', count: 1, report: false });
    this.requestSnapshot();
  }

  private chooseProblem(problem: ProblemId): void {
    if (problem === 'csv') {
      if (this.csvTable && this.state.csv) { this.update({ problem: 'csv', features: [] }); return; }
      $<HTMLSelectElement>('problem').value = this.state.problem;
      ($('csv-panel') as HTMLDetailsElement).open = true;
      $('csv-text').focus();
      this.setCsvMessage('Paste or drop a CSV, then press "use this CSV".');
      return;
    }
    const fallback = defaultState();
    const features = problem === 'reg1d' ? ['x'] : this.state.problem === 'reg1d' || this.state.problem === 'csv' ? ['x1', 'x2'] : this.state.features;
    this.update({ problem, features, axes: null, csv: problem === this.state.problem ? this.state.csv : null, noise: problem === 'reg1d' && this.state.problem !== 'reg1d' ? fallback.noise : this.state.noise });
  }

  private async readFile(file: File): Promise<void> {
    if (file.size > 50_000_000) { this.setCsvMessage(`This file was not loaded: ${file.name} is ${(file.size / 1e6).toFixed(0)} MB; the explorer takes CSVs up to 100,000 rows.`); return; }
    const text = await file.text();
    $<HTMLTextAreaElement>('csv-text').value = text.length > 200_000 ? text.slice(0, 200_000) + '\n…' : text;
    this.loadCsv(text);
  }
}

const ACTIVATION_TEXT: Record<string, string> = { relu: 'ReLU', leaky: 'LeakyReLU', tanh: 'tanh', sigmoid: 'σ', linear: 'id' };

function readStored(key: string): string | null {
  try { return localStorage.getItem(CSV_STORE + key); } catch { return null; }
}

function store(key: string, text: string): void {
  try { localStorage.setItem(CSV_STORE + key, text); } catch { /* full or blocked: the CSV works, the link will not restore it */ }
}

// ---- for tests and the curious: what is on the page, as numbers -------------------------------------------

const app = new Explorer();
const exposed = {
  app,
  get ready() { return app.snapshot !== null && app.snapshot.trace !== null; },
  get state() { return JSON.parse(JSON.stringify(app.state)) as ExplorerState; },
  get query() { return location.search.slice(1); },
  get step() { return app.snapshot?.step ?? 0; },
  get running() { return app.snapshot?.running ?? false; },
  get fps() { return app.fps; },
  get timing() { return { ...app.timing }; },
  get frames() { return app.frames; },
  get stepsPerSecond() { return app.snapshot?.stepsPerSecond ?? 0; },
  get trainLoss() { return app.snapshot?.trainLoss ?? NaN; },
  get testLoss() { return app.snapshot?.testLoss ?? NaN; },
  get evalStep() { return app.snapshot?.evalStep ?? 0; },
  get accuracy() { return app.snapshot ? { train: app.snapshot.trainAccuracy, test: app.snapshot.testAccuracy } : null; },
  get history() { const h = app.snapshot?.history; return h ? { length: h.steps.length, stride: h.stride, first: { step: h.steps[0], train: h.train[0], test: h.test[0] }, lastStep: h.steps[h.steps.length - 1] } : null; },
  get workerCosts() { return app.snapshot?.costs ?? null; },
  get wasmBytes() { return app.snapshot?.wasmBytes ?? 0; },
  get error() { return app.snapshot?.error ?? null; },
  get errorShown() { return $('error').hidden ? null : $('error-text').textContent; },
  get csvMessage() { return app.csvMessage; },
  get problem() { const p = app.problem; return { task: p.task, classes: p.classes, train: p.train.length, test: p.test.length, features: p.features.map((f) => f.id), dims: p.grid.dims, description: p.raw.description }; },
  get net() { return { inFeatures: app.problem.features.length, hidden: app.state.hidden, outFeatures: app.problem.outputs, loss: app.problem.task === 'classification' ? 'CrossEntropyLoss' : 'MSELoss' }; },
  get params() { return app.snapshot?.params.map((p) => ({ weight: Array.from(p.weight), bias: Array.from(p.bias) })) ?? null; },
  get sample() {
    const t = app.snapshot?.trace;
    return t ? { index: t.sample, x: Array.from(t.x), target: t.target, loss: t.loss, output: Array.from(t.output) } : null;
  },
  get backprop() { return app.views.backprop.numbers; },
  get weight() { return app.weight; },
  get formulaText() { return $('formula').textContent; },
  get phase() { return app.phase; },
  /** The last step mode update, with the chosen weight before and after it and its batch gradient. */
  get report() {
    const r = app.report;
    if (!r) return null;
    const [l, o, i] = app.state.weight;
    const j = o * (r.before[l].weight.length / r.before[l].bias.length) + i;
    return {
      stepBefore: r.stepBefore, batchRows: r.batchRows, batchLoss: r.batchLoss,
      weight: { before: r.before[l].weight[j], after: r.after[l].weight[j], gradient: r.gradient[l].dLdW[j] },
    };
  },
  get gates() { return app.views.gates.numbers ? { ...app.views.gates.numbers, check: app.gateCheck } : null; },
  get gateNotes() { return $('gate-notes').textContent; },
  get geometry() {
    const v = app.views;
    return { network: v.network.surface.exported(), backprop: v.backprop.surface.exported(), gates: v.gates.surface.exported(), plane: v.plane.surface.exported(), loss: v.loss.surface.exported() };
  },
  problems: PROBLEMS.map((id) => ({ id, name: PROBLEM_NAMES[id] })),
};
(window as unknown as { __explorer: typeof exposed }).__explorer = exposed;
