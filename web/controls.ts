// The form controls: each one changes the explorer's state through app.update (or a named action), and
// syncControls writes the state back into them after every change (so a URL, a reset or a refused CSV
// leaves every control showing what is in effect).
import { renderEditor } from './editor';
import type { Explorer } from './explorer';
import { availableFeatures } from './features';
import { type ExplorerState, LIMITS, type OptimizerId, type ProblemId, type Task, isBuiltInClassification } from './state';
import { classCss } from './views/colors';
import { esc } from './views/formula';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

export function bindControls(app: Explorer): void {
  const on = (id: string, event: string, handler: (el: HTMLInputElement) => void) =>
    $(id).addEventListener(event, () => handler($<HTMLInputElement>(id)));
  on('run', 'click', () => app.toggleRunning());
  on('step', 'click', () => app.step());
  on('reset', 'click', () => app.restart());
  on('error-reset', 'click', () => app.restart());
  on('stepmode', 'change', (el) => app.setStepMode(el.checked));
  on('phase', 'click', () => app.nextPhase());
  on('problem', 'change', (el) => app.chooseProblem(el.value as ProblemId));
  on('classes', 'change', (el) => app.update({ classes: Number(el.value) }));
  on('noise', 'input', (el) => {
    $('noise-out').textContent = el.value;
  });
  on('noise', 'change', (el) => app.update({ noise: Number(el.value) }));
  on('train', 'change', (el) => app.update({ trainPercent: Number(el.value) }));
  const number = (id: string, lo: number, hi: number, integer: boolean, apply: (v: number) => Partial<ExplorerState>) =>
    on(id, 'change', (el) => {
      const v = Number(el.value);
      if (el.value === '' || !Number.isFinite(v) || v < lo || v > hi || (integer && !Number.isInteger(v))) {
        el.setCustomValidity(`expected ${integer ? 'an integer' : 'a number'} in [${lo}, ${hi}]`);
        el.reportValidity();
        return;
      }
      el.setCustomValidity('');
      app.update(apply(v));
    });
  number('lr', ...LIMITS.lr, false, (lr) => ({ lr }));
  number('batch', 1, LIMITS.batchSize, true, (batchSize) => ({ batchSize }));
  number('l2', ...LIMITS.l2, false, (l2) => ({ l2 }));
  number('seed', ...LIMITS.seed, true, (seed) => ({ seed }));
  on('reseed', 'click', () => app.update({ seed: Math.floor(Math.random() * 100000) }));
  on('optimizer', 'change', (el) => app.update({ optimizer: el.value as OptimizerId }));
  on('show-test', 'change', (el) => app.update({ showTest: el.checked }));
  for (const r of document.querySelectorAll<HTMLInputElement>('input[name=scale]'))
    r.addEventListener('change', () => app.update({ lossScale: r.value as 'log' | 'linear' }));
  for (const r of document.querySelectorAll<HTMLInputElement>('input[name=steps]'))
    r.addEventListener('change', () => app.update({ stepScale: r.value as 'log' | 'linear' }));
  on('speed', 'change', (el) => {
    const speed = el.value === 'max' ? null : Number(el.value);
    app.setSpeed(speed);
  });
  number('sample', 0, 1e6, true, (sample) => ({ sample }));
  on('sample-prev', 'click', () =>
    app.update({ sample: (app.state.sample - 1 + app.problem.train.length) % app.problem.train.length }),
  );
  on('sample-next', 'click', () => app.update({ sample: (app.state.sample + 1) % app.problem.train.length }));
  on('w-layer', 'change', (el) => app.update({ weight: [Number(el.value), 0, 0] }));
  on('w-out', 'change', (el) => app.update({ weight: [app.state.weight[0], Number(el.value), app.state.weight[2]] }));
  on('w-in', 'change', (el) => app.update({ weight: [app.state.weight[0], app.state.weight[1], Number(el.value)] }));
  on('neuron', 'change', (el) =>
    app.update({ neuron: el.value === 'example' ? null : (el.value.split('.').map(Number) as [number, number]) }),
  );
  on('csv-load', 'click', () => app.loadCsv($<HTMLTextAreaElement>('csv-text').value));
  on('csv-file', 'change', (el) => {
    const f = el.files?.[0];
    if (f) void app.readFile(f);
  });
  on('csv-target', 'change', (el) => app.changeCsv(el.value, app.state.csv?.task ?? 'regression'));
  on('csv-task', 'change', (el) => app.changeCsv(app.state.csv?.target ?? 'c0', el.value as Task));
  const axes = () => app.update({ axes: [$<HTMLSelectElement>('axis-x').value, $<HTMLSelectElement>('axis-y').value] });
  on('axis-x', 'change', axes);
  on('axis-y', 'change', axes);
  // a file dropped anywhere on the page
  document.addEventListener('dragover', (e) => {
    e.preventDefault();
  });
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    const f = e.dataTransfer?.files?.[0];
    if (f) void app.readFile(f);
    else {
      const text = e.dataTransfer?.getData('text/plain');
      if (text) {
        $<HTMLTextAreaElement>('csv-text').value = text;
        app.loadCsv(text);
      }
    }
  });
}

export function syncControls(app: Explorer): void {
  const s = app.state,
    p = app.problem;
  const set = (id: string, value: string) => {
    const el = $<HTMLInputElement | HTMLSelectElement>(id);
    if (el.value !== value) el.value = value;
  };
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
  renderFeatures(app);
  renderEditor($('editor'), s.hidden, (hidden) => app.update({ hidden }));
  renderPickers(app);
  renderCsvControls(app);
  $('data-note').textContent = [app.problem.raw.description + '.', ...app.problemNotes, ...app.urlNotes].join(' ');
  $('plane-legend').innerHTML = legendHtml(app);
}

function renderFeatures(app: Explorer): void {
  const box = $('features');
  const available = availableFeatures(app.state.problem, app.raw, app.state.problem === 'csv' ? csvIds(app) : []);
  const key = available.map((f) => f.id).join() + '|' + app.state.features.join();
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  const legend = box.querySelector('legend')!;
  box.replaceChildren(legend);
  for (const f of available) {
    const label = document.createElement('label');
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.value = f.id;
    input.checked = app.state.features.includes(f.id);
    input.onchange = () => {
      const chosen = available
        .filter((g) => (g.id === f.id ? input.checked : app.state.features.includes(g.id)))
        .map((g) => g.id);
      if (chosen.length === 0 || chosen.length > LIMITS.features) {
        input.checked = !input.checked;
        return;
      }
      app.update({ features: chosen });
    };
    label.append(input, ` ${f.label}`);
    box.append(label);
  }
}

export function csvIds(app: Explorer): string[] {
  const target = app.state.csv ? Number(app.state.csv.target.slice(1)) : -1;
  return (app.csvTable?.names ?? [])
    .map((_, k) => k)
    .filter((k) => k !== target)
    .map((k) => `c${k}`);
}

function renderPickers(app: Explorer): void {
  const s = app.state,
    p = app.problem;
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
  options(
    'w-layer',
    widths.slice(1).map((_, k) => [String(k), `${k + 1}${k === widths.length - 2 ? ' (output)' : ''}`]),
    String(l),
  );
  options(
    'w-out',
    Array.from({ length: widths[l + 1] }, (_, k) => [String(k), app.nodeName(l + 1, k)]),
    String(o),
  );
  options(
    'w-in',
    Array.from({ length: widths[l] }, (_, k) => [String(k), app.nodeName(l, k)]),
    String(i),
  );
  const neurons: [string, string][] = [['example', 'worked example: f = (x + y)·z']];
  for (let layer = 0; layer < widths.length - 1; layer++) {
    for (let k = 0; k < widths[layer + 1]; k++)
      neurons.push([`${layer}.${k}`, `layer ${layer + 1}${layer === widths.length - 2 ? ' (output)' : ''}, neuron ${k}`]);
  }
  options('neuron', neurons, s.neuron ? s.neuron.join('.') : 'example');
  const sample = $<HTMLInputElement>('sample');
  sample.max = String(p.train.length - 1);
  if (sample.value !== String(s.sample)) sample.value = String(s.sample);
}

function renderCsvControls(app: Explorer): void {
  const table = app.csvTable;
  const target = $<HTMLSelectElement>('csv-target');
  const names = table?.names ?? [];
  const key = names.join('|');
  if (target.dataset.key !== key) {
    target.dataset.key = key;
    target.replaceChildren(...names.map((n, k) => new Option(n, `c${k}`)));
  }
  const csv = app.state.problem === 'csv' ? app.state.csv : null;
  target.disabled = !csv;
  $<HTMLSelectElement>('csv-task').disabled = !csv;
  if (csv) {
    target.value = csv.target;
    $<HTMLSelectElement>('csv-task').value = csv.task;
  }
  const features = app.problem.features;
  const axisOptions = features.filter((f) => f.column !== null).map((f) => new Option(f.label, f.id));
  for (const [id, k] of [
    ['axis-x', 0],
    ['axis-y', 1],
  ] as const) {
    const el = $<HTMLSelectElement>(id);
    el.replaceChildren(...axisOptions.map((o) => new Option(o.text, o.value)));
    el.disabled = !csv || axisOptions.length < 2;
    const current = app.problem.grid.axes[k];
    const f = features.find((g) => g.column === current);
    if (f) el.value = f.id;
  }
}

function legendHtml(app: Explorer): string {
  const p = app.problem;
  const test = app.state.showTest ? ' Test points have a black outline, training points a white one.' : '';
  if (p.task === 'classification') {
    const shapes = ['●', '■', '▲', '◆'];
    const classes = p.classNames
      .map((n, k) => `<span style="color:${classCss(k)}">${shapes[k % 4]}</span> ${esc(n)}`)
      .join(' &nbsp; ');
    return `${classes}. The background is the predicted class${p.classes === 2 ? ' (orange ↔ blue by probability)' : ', paler where unsure'}.${test}`;
  }
  return p.grid.dims === 2
    ? `Colour: the predicted (background) and true (points) target, orange low ↔ blue high.${test}`
    : `Points: the data (hollow: test); line: the network's prediction.`;
}
