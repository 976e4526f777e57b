// The backprop explorer's page: holds the state (mirrored in the URL), builds the problem, runs the
// training worker, and draws what the worker reports. Drawing happens in requestAnimationFrame; the
// worker is asked for the next snapshot only once the last one has arrived.
import { type CsvTable, csvData, csvKey, parseCsv, suggestTask } from './csv';
import { type RawData, builtInData } from './datasets';
import { bindControls, syncControls } from './controls';
import { availableFeatures, defaultFeatures } from './features';
import { type Gate, compareWithTrace, neuronGraph, workedExample } from './gates';
import { type Problem, buildProblem } from './problem';
import type { FromWorker, NetSpec, Snapshot, StepReport, ToWorker } from './protocol';
import { expose } from './expose';
import {
  type ExplorerState,
  type OptimizerId,
  type ProblemId,
  type Task,
  decodeState,
  defaultState,
  encodeState,
  sameRun,
} from './state';
import { BackpropView, type Phase } from './views/backprop';
import { fmt, fmtLoss } from './views/format';
import { type FormulaContext, type WeightNumbers, formulaHtml, sampleHtml, weightNumbers } from './views/formula';
import { GateView, gateNotesHtml } from './views/gates';
import { LossView } from './views/loss';
import { type NetworkHit, NetworkView } from './views/network';
import { PlaneView } from './views/plane';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const CSV_STORE = 'backprop-explorer.csv.';
const DETAIL_INTERVAL_MS = 200;

export class Explorer {
  state: ExplorerState;
  problem!: Problem;
  raw!: RawData;
  csvTable: CsvTable | null = null;
  private readonly worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  private generation = 0;
  running = false;
  private pending = false;
  private again = false;
  snapshot: Snapshot | null = null;
  private dirty = true;
  private detailDirty = true;
  private lastDetail = 0;
  private lastStatus = 0;
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
  /** What the page says about the URL it was opened with (kept), and about the problem (per rebuild). */
  urlNotes: string[] = [];
  problemNotes: string[] = [];
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
    if (ignored.length) this.urlNotes.push(`Ignored in the URL: ${ignored.join('; ')}.`);
    if (state.problem === 'csv' && state.csv) {
      const text = readStored(state.csv.key);
      const table = text === null ? null : parseCsv(text);
      if (table?.ok) this.csvTable = table.value;
      else {
        this.urlNotes.push(
          'This link uses a CSV that is not stored in this browser: paste or drop it again. Showing the 1-D regression meanwhile.',
        );
        const fallback = defaultState();
        Object.assign(this.state, { problem: fallback.problem, csv: null, features: fallback.features, axes: null });
      }
    }
    this.worker.onmessage = (event: MessageEvent<FromWorker>) => this.receive(event.data);
    this.worker.onerror = (event) => this.showError(`the training worker failed: ${event.message}`, null);
    bindControls(this);
    this.bindPointerAndKeys();
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
      if (!this.rebuild()) {
        this.state = before;
        syncControls(this);
      }
      return;
    }
    this.clampSelections();
    if (this.phase === 'update' && before.sample !== next.sample) {
      this.phase = 'forward';
      this.report = null;
      this.syncPhaseButton();
    }
    this.writeUrl();
    syncControls(this);
    this.detailDirty = this.dirty = true;
    this.requestSnapshot();
  }

  /** Builds the problem of the state and starts a new run; false (and nothing changed) if it cannot. */
  private rebuild(): boolean {
    let raw: RawData,
      ids: string[] = [];
    if (this.state.problem === 'csv') {
      if (!this.csvTable || !this.state.csv) return false;
      const made = csvData(this.csvTable, Number(this.state.csv.target.slice(1)), this.state.csv.task);
      if (!made.ok) {
        this.setCsvMessage(made.message);
        return false;
      }
      raw = made.value.data;
      ids = made.value.ids;
    } else {
      raw = builtInData(this.state);
    }
    const built = buildProblem(this.state, raw, ids);
    this.raw = raw;
    this.problem = built.problem;
    this.state = { ...this.state, features: built.features };
    this.problemNotes = built.notes;
    this.clampSelections();
    this.restart();
    this.writeUrl();
    syncControls(this);
    return true;
  }

  private clampSelections(): void {
    const s = this.state,
      p = this.problem;
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
    return {
      inFeatures: this.problem.features.length,
      hidden: this.state.hidden,
      outFeatures: this.problem.outputs,
      task: this.problem.task,
    };
  }

  /** A new run (generation) in the worker, from step 0. */
  restart(): void {
    const wasRunning = this.running;
    this.generation++;
    this.snapshot = null;
    this.cycle = null;
    this.report = null;
    if (this.phase) this.phase = 'forward';
    this.hideError();
    const p = this.problem,
      s = this.state;
    this.send({
      type: 'configure',
      generation: this.generation,
      net: this.netSpec(),
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
    if (this.pending) {
      this.again = true;
      return;
    }
    this.pending = true;
    this.again = false;
    // the plane's activations are only needed when a view that shows them is on screen
    this.send({
      type: 'frame',
      sample: this.state.sample,
      grid: !this.running || this.onScreen('plane') || this.onScreen('network'),
    });
  }

  toggleRunning(): void {
    this.setRunning(!this.running);
  }

  /** The speed limit is not part of the run: the worker slows down, the same steps happen. */
  setSpeed(speed: number | null): void {
    this.send({ type: 'speed', stepsPerSecond: speed });
    this.update({ speed });
  }

  setRunning(on: boolean): void {
    if (on && this.snapshot?.error) return;
    this.running = on;
    if (on) this.fpsWindow = { frames: 0, since: performance.now() }; // fps measures training frames only
    this.send({ type: on ? 'run' : 'pause' });
    const button = $<HTMLButtonElement>('run');
    button.textContent = on ? '❚❚ pause' : '▶ run';
    button.classList.toggle('primary', on);
    // numbers that change five times a second are not read out; when paused, changes are
    $('formula').setAttribute('aria-live', on ? 'off' : 'polite');
    this.requestSnapshot();
  }

  private receive(message: FromWorker): void {
    if (message.type === 'fatal') {
      this.showError(`the training worker failed: ${message.message}`, null);
      return;
    }
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
    $('error-text').textContent =
      step === null
        ? text
        : `Training stopped at step ${step.toLocaleString('en-US')}: ${text} The views show the network as it was before that step.`;
    $('error').hidden = false;
    $<HTMLButtonElement>('run').disabled = true;
    $<HTMLButtonElement>('step').disabled = true;
  }

  private hideError(): void {
    $('error').hidden = true;
    $<HTMLButtonElement>('run').disabled = this.phase !== null;
    $<HTMLButtonElement>('step').disabled = false;
  }

  // ---- step mode ---------------------------------------------------------------------------------------

  setStepMode(on: boolean): void {
    if (on) {
      this.setRunning(false);
      this.phase = 'forward';
    } else {
      this.phase = null;
      this.report = null;
    }
    $<HTMLInputElement>('stepmode').checked = on;
    $<HTMLButtonElement>('run').disabled = on || Boolean(this.snapshot?.error);
    this.syncPhaseButton();
    this.detailDirty = true;
  }

  nextPhase(): void {
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
    b.textContent = !this.phase
      ? 'next: forward'
      : this.phase === 'forward'
        ? 'next: backward ▸'
        : this.phase === 'backward'
          ? 'next: update ▸'
          : 'next: forward ▸';
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
    const p = this.problem,
      s = this.state,
      snap = this.snapshot;
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
    // the status line's text changes the page's layout: four times a second is enough to read it
    const now = performance.now();
    if (!this.running || now - this.lastStatus > 250) {
      this.lastStatus = now;
      this.drawStatus();
    }
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
    const snap = this.phase === 'update' ? (this.cycle ?? this.snapshot) : this.snapshot;
    if (!snap?.trace) return;
    const p = this.problem,
      s = this.state;
    const trace = snap.trace;
    const width = this.width('backprop-panel') - 26;
    if (this.shows('backprop')) {
      this.views.backprop.draw(
        width,
        trace,
        snap.params,
        s.weight,
        this.phase,
        this.phase === 'update' ? this.report : null,
        p.task === 'classification',
      );
    }
    this.weight = weightNumbers(trace, snap.params, s.weight, p.task);
    const context: FormulaContext = {
      inputName: this.nodeName(s.weight[0], s.weight[2]),
      outputName: this.nodeName(s.weight[0] + 1, s.weight[1]),
      activation: s.weight[0] < s.hidden.length ? ACTIVATION_TEXT[s.hidden[s.weight[0]].activation] : 'id',
      phase: this.phase,
      report: this.report,
      optimizer: s.optimizer as OptimizerId,
      lr: s.lr,
      l2: s.l2,
      lossBefore: this.cycle?.trace?.loss ?? null,
      lossAfter: this.report && this.snapshot?.step !== this.cycle?.step ? (this.snapshot?.trace?.loss ?? null) : null,
    };
    $('formula').innerHTML = formulaHtml(this.weight, trace, snap.params, context);
    $('sample-text').innerHTML = sampleHtml(this.problem, snap, this.phase, this.report !== null);
    if (!this.shows('gates')) return;
    // the gate view: the worked example until a neuron is chosen
    if (s.neuron) {
      const [layer, index] = s.neuron;
      const graph = neuronGraph(
        trace,
        snap.params,
        layer,
        index,
        layer < s.hidden.length ? s.hidden[layer].activation : null,
        p.task,
      );
      this.gateRoot = graph.root;
      this.gateCheck = compareWithTrace(graph, trace, layer, index);
      this.views.gates.draw(this.width('gate-panel') - 26, graph.root, `neuron ${index} of layer ${layer + 1}`);
      $('gate-notes').innerHTML =
        gateNotesHtml(graph.root) +
        `<p class="note">The gate graph computes in float64 from the trace's inputs and weights; it agrees with net.trace's float32 ∂L/∂z, ∂L/∂b and ∂L/∂w to a relative ${fmt(this.gateCheck, 2)}.</p>`;
    } else {
      this.gateRoot = workedExample();
      this.gateCheck = null;
      this.views.gates.draw(this.width('gate-panel') - 26, this.gateRoot, 'f = (x + y)·z');
      $('gate-notes').innerHTML =
        '<p class="note">The lecture\'s example f = (x + y)·z at x = −2, y = 5, z = −4. Choose a neuron above (or click one in the network) to see it as gates with this sample\'s numbers.</p>' +
        gateNotesHtml(this.gateRoot);
    }
  }

  nodeName(column: number, index: number): string {
    const p = this.problem;
    if (column === 0) return `input ${p.features[index]?.label ?? index}`;
    if (column === this.state.hidden.length + 1)
      return p.task === 'classification' ? `output ${index} (${p.classNames[index]})` : 'the output ŷ';
    return `neuron ${index} of layer ${column}`;
  }

  private updateTooltip(): void {
    const tip = $('tooltip');
    if (!this.hover) {
      tip.hidden = true;
      return;
    }
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
    const observer = new IntersectionObserver(
      (entries) => {
        for (const e of entries) {
          const id = e.target.id;
          this.visible.set(id, e.isIntersecting);
          if (e.isIntersecting && this.stale.delete(id)) this.dirty = this.detailDirty = true;
        }
      },
      { rootMargin: '80px' },
    );
    for (const id of ['plane', 'network', 'loss', 'backprop', 'gates']) observer.observe($(id));
  }

  private observeSizes(): void {
    const ids = ['output-panel', 'network-box', 'backprop-panel', 'gate-panel'];
    const observer = new ResizeObserver((entries) => {
      for (const e of entries)
        this.widths.set((e.target as HTMLElement).id, e.contentRect.width + (e.target.id.endsWith('panel') ? 24 : 0));
      this.dirty = this.detailDirty = true;
    });
    for (const id of ids) observer.observe($(id));
  }

  // ---- controls ----------------------------------------------------------------------------------------

  private setCsvMessage(text: string): void {
    this.csvMessage = text;
    const el = $('csv-message');
    el.textContent = text;
    el.hidden = text === '';
  }

  /** Loads CSV text as the problem, or says why not and keeps the current one. */
  loadCsv(text: string): boolean {
    const parsed = parseCsv(text);
    if (!parsed.ok) {
      this.setCsvMessage(`This CSV was not loaded: ${parsed.message}. The previous problem stays.`);
      return false;
    }
    const table = parsed.value;
    const target = table.names.length - 1;
    const task = suggestTask(table, target);
    const made = csvData(table, target, task);
    if (!made.ok) {
      this.setCsvMessage(`This CSV was not loaded: ${made.message}. The previous problem stays.`);
      return false;
    }
    const key = csvKey(text);
    const previous = { table: this.csvTable, state: this.state };
    this.csvTable = table;
    this.state = {
      ...this.state,
      problem: 'csv',
      csv: { key, target: `c${target}`, task },
      axes: null,
      features: defaultFeatures('csv', availableFeatures('csv', made.value.data, made.value.ids)),
    };
    if (!this.rebuild()) {
      this.csvTable = previous.table;
      this.state = previous.state;
      syncControls(this);
      return false;
    }
    store(key, text);
    this.setCsvMessage('');
    return true;
  }

  changeCsv(target: string, task: Task): void {
    if (!this.csvTable || !this.state.csv) return;
    const made = csvData(this.csvTable, Number(target.slice(1)), task);
    if (!made.ok) {
      this.setCsvMessage(`Not changed: ${made.message}.`);
      syncControls(this);
      return;
    }
    this.setCsvMessage('');
    const features = defaultFeatures('csv', availableFeatures('csv', made.value.data, made.value.ids));
    this.update({ csv: { ...this.state.csv, target, task }, features, axes: null });
  }

  /** The canvases (hover, click) and the keyboard shortcuts. */
  private bindPointerAndKeys(): void {
    // the network: hover for live values, click to choose a weight or a neuron
    const canvas = $<HTMLCanvasElement>('network');
    const point = (e: MouseEvent) => {
      const r = canvas.getBoundingClientRect();
      return [e.clientX - r.left, e.clientY - r.top] as const;
    };
    canvas.addEventListener('mousemove', (e) => {
      this.hover = this.views.network.hit(...point(e));
      this.dirty = true;
    });
    canvas.addEventListener('mouseleave', () => {
      this.hover = null;
      this.dirty = true;
    });
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
      if (e.key === ' ') {
        e.preventDefault();
        if (!this.phase) this.setRunning(!this.running);
      } else if (e.key === 's') {
        if (this.phase) this.nextPhase();
        else this.step();
      } else if (e.key === 'r') this.restart();
    });
  }

  step(): void {
    if (this.phase) {
      this.nextPhase();
      return;
    }
    this.setRunning(false);
    this.send({ type: 'step', count: 1, report: false });
    this.requestSnapshot();
  }

  chooseProblem(problem: ProblemId): void {
    if (problem === 'csv') {
      if (this.csvTable && this.state.csv) {
        this.update({ problem: 'csv', features: [] });
        return;
      }
      $<HTMLSelectElement>('problem').value = this.state.problem;
      ($('csv-panel') as HTMLDetailsElement).open = true;
      $('csv-text').focus();
      this.setCsvMessage('Paste or drop a CSV, then press "use this CSV".');
      return;
    }
    const fallback = defaultState();
    const features =
      problem === 'reg1d'
        ? ['x']
        : this.state.problem === 'reg1d' || this.state.problem === 'csv'
          ? ['x1', 'x2']
          : this.state.features;
    this.update({
      problem,
      features,
      axes: null,
      csv: problem === this.state.problem ? this.state.csv : null,
      noise: problem === 'reg1d' && this.state.problem !== 'reg1d' ? fallback.noise : this.state.noise,
    });
  }

  async readFile(file: File): Promise<void> {
    if (file.size > 50_000_000) {
      this.setCsvMessage(
        `This file was not loaded: ${file.name} is ${(file.size / 1e6).toFixed(0)} MB; the explorer takes CSVs up to 100,000 rows.`,
      );
      return;
    }
    const text = await file.text();
    $<HTMLTextAreaElement>('csv-text').value = text.length > 200_000 ? text.slice(0, 200_000) + '\n…' : text;
    this.loadCsv(text);
  }
}

const ACTIVATION_TEXT: Record<string, string> = { relu: 'ReLU', leaky: 'LeakyReLU', tanh: 'tanh', sigmoid: 'σ', linear: 'id' };

function readStored(key: string): string | null {
  try {
    return localStorage.getItem(CSV_STORE + key);
  } catch {
    return null;
  }
}

function store(key: string, text: string): void {
  try {
    localStorage.setItem(CSV_STORE + key, text);
  } catch {
    /* full or blocked: the CSV works, the link will not restore it */
  }
}

const app = new Explorer();
expose(app);
