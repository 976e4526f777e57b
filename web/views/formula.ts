// One weight's gradient spelled out with its numbers, all read from net.trace of the sample:
//   ∂L/∂w = a_in · ∂L/∂z_out,   ∂L/∂z_out = σ′(z_out) · Σ_k w_k · ∂L/∂z_k   (over the next layer)
// and, in the step mode, the forward sum before it and the update after it.
import type { Problem } from '../problem';
import type { ParamsView, SampleTrace, Snapshot, StepReport } from '../protocol';
import type { OptimizerId, Task } from '../state';
import type { Phase } from './backprop';
import { classCss } from './colors';
import { fmt } from './format';

export interface WeightNumbers {
  layer: number;
  out: number;
  in: number;
  w: number;
  aIn: number;
  zOut: number;
  aOut: number;
  dLdzOut: number;
  /** σ′(z_out), null for the output layer (no activation). */
  sigmaPrime: number | null;
  /** The next layer's terms w_k · ∂L/∂z_k (null for the output layer). */
  terms: { k: number; w: number; dLdz: number }[] | null;
  sum: number | null;
  /** ∂L/∂w as net.trace returns it, and the product a_in · ∂L/∂z_out. */
  dLdw: number;
  product: number;
  /** For the output layer: where ∂L/∂z_out comes from. */
  fromLoss: { kind: 'mse'; yhat: number; y: number } | { kind: 'ce'; p: number; isTarget: boolean } | null;
}

export function weightNumbers(
  trace: SampleTrace,
  params: ParamsView[],
  chosen: [number, number, number],
  task: Task,
): WeightNumbers {
  const [layer, out, input] = chosen;
  const l = trace.layers[layer];
  const inWidth = l.input.length;
  const last = layer === trace.layers.length - 1;
  const dLdzOut = l.dLdz[out],
    aIn = l.input[input];
  let terms: WeightNumbers['terms'] = null,
    sum: number | null = null,
    fromLoss: WeightNumbers['fromLoss'] = null;
  if (!last) {
    const next = trace.layers[layer + 1],
      width = l.z.length;
    terms = Array.from(next.dLdz, (d, k) => ({ k, w: params[layer + 1].weight[k * width + out], dLdz: d }));
    sum = terms.reduce((acc, t) => acc + t.w * t.dLdz, 0);
  } else if (task === 'regression') {
    fromLoss = { kind: 'mse', yhat: trace.output[out], y: trace.target };
  } else {
    const m = Math.max(...trace.output);
    const e = Array.from(trace.output, (v) => Math.exp(v - m));
    fromLoss = { kind: 'ce', p: e[out] / e.reduce((a, b) => a + b, 0), isTarget: trace.target === out };
  }
  return {
    layer,
    out,
    in: input,
    w: params[layer].weight[out * inWidth + input],
    aIn,
    zOut: l.z[out],
    aOut: l.a[out],
    dLdzOut,
    sigmaPrime: last ? null : l.sigmaPrime ? l.sigmaPrime[out] : 1,
    terms,
    sum,
    dLdw: l.dLdW[out * inWidth + input],
    product: aIn * dLdzOut,
    fromLoss,
  };
}

export const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const n = (v: number) => `<span class="num">${fmt(v, 4)}</span>`;
const paren = (v: number) => (v < 0 ? `(${n(v)})` : n(v));

export interface FormulaContext {
  inputName: string;
  outputName: string;
  activation: string;
  phase: Phase | null;
  report: StepReport | null;
  optimizer: OptimizerId;
  lr: number;
  l2: number;
  /** The sample's loss after the reported step (from the snapshot that follows it). */
  lossAfter: number | null;
  lossBefore: number | null;
}

/** The formula panel's HTML. */
export function formulaHtml(num: WeightNumbers, trace: SampleTrace, params: ParamsView[], c: FormulaContext): string {
  const W = `W<sup>${num.layer + 1}</sup><sub>${num.out},${num.in}</sub>`;
  const lines: string[] = [];
  lines.push(
    `<p>The weight <b>w = ${W}</b> = ${n(num.w)}, from <b>${esc(c.inputName)}</b> to <b>${esc(c.outputName)}</b> (click an edge to choose another).</p>`,
  );
  if (c.phase === 'forward' || c.phase === null) {
    const l = trace.layers[num.layer],
      inW = l.input.length;
    const parts = Array.from(l.input, (a, i) => `${paren(params[num.layer].weight[num.out * inW + i])}×${paren(a)}`);
    lines.push(
      `<p class="eq">z<sub>out</sub> = Σ<sub>i</sub> w<sub>i</sub>·a<sub>i</sub> + b = ${parts.join(' + ')} + ${paren(params[num.layer].bias[num.out])} = ${n(num.zOut)}` +
        (num.sigmaPrime === null ? '' : `, a<sub>out</sub> = ${esc(c.activation)}(${n(num.zOut)}) = ${n(num.aOut)}`) +
        '</p>',
    );
  }
  if (c.phase === 'backward' || c.phase === null || c.phase === 'update') {
    lines.push(
      `<p class="eq">∂L/∂w = a<sub>in</sub> · ∂L/∂z<sub>out</sub> = ${paren(num.aIn)} × ${paren(num.dLdzOut)} = ${n(num.product)}` +
        ` <span class="check">(net.trace: ${n(num.dLdw)})</span></p>`,
    );
    if (num.terms && num.sum !== null && num.sigmaPrime !== null) {
      const terms = num.terms.map((t) => `${paren(t.w)}×${paren(t.dLdz)}`).join(' + ');
      lines.push(
        `<p class="eq">∂L/∂z<sub>out</sub> = σ′(z<sub>out</sub>) · Σ<sub>k</sub> w<sub>k</sub>·∂L/∂z<sub>k</sub> = ${paren(num.sigmaPrime)} × [${terms}] = ${paren(num.sigmaPrime)} × ${paren(num.sum)} = ${n(num.sigmaPrime * num.sum)}` +
          ` <span class="check">(net.trace: ${n(num.dLdzOut)})</span></p>`,
      );
    } else if (num.fromLoss?.kind === 'mse') {
      const { yhat, y } = num.fromLoss;
      lines.push(
        `<p class="eq">∂L/∂z<sub>out</sub> = ∂L/∂ŷ of L = (ŷ − y)² = 2(ŷ − y) = 2 × (${n(yhat)} − ${paren(y)}) = ${n(2 * (yhat - y))}` +
          ` <span class="check">(net.trace: ${n(num.dLdzOut)})</span></p>`,
      );
    } else if (num.fromLoss?.kind === 'ce') {
      const { p, isTarget } = num.fromLoss;
      lines.push(
        `<p class="eq">∂L/∂z<sub>out</sub> of L = −log softmax(z)<sub>y</sub> is p<sub>out</sub> − [out = y] = ${n(p)} − ${isTarget ? 1 : 0} = ${n(p - (isTarget ? 1 : 0))}` +
          ` <span class="check">(net.trace: ${n(num.dLdzOut)})</span></p>`,
      );
    }
  }
  if (c.phase === 'update' && c.report) lines.push(updateHtml(num, c));
  return lines.join('');
}

function updateHtml(num: WeightNumbers, c: FormulaContext): string {
  const r = c.report!;
  const inW = r.before[num.layer].weight.length / r.before[num.layer].bias.length;
  const j = num.out * inW + num.in;
  const before = r.before[num.layer].weight[j],
    after = r.after[num.layer].weight[j],
    g = r.gradient[num.layer].dLdW[j];
  let rule: string;
  if (c.optimizer === 'sgd') {
    rule = `SGD: w − lr·(∂L<sub>batch</sub>/∂w + λ·w) = ${n(before)} − ${n(c.lr)} × (${n(g)} + ${n(c.l2)} × ${paren(before)}) = ${n(before - c.lr * (g + c.l2 * before))}`;
  } else {
    rule = `${c.optimizer === 'momentum' ? 'SGD with momentum 0.9 adds the previous steps' : c.optimizer === 'adam' ? 'Adam divides by its running gradient size' : 'AdamW divides by its running gradient size and decays w'}, so Δw is not simply −lr·∂L/∂w (∂L<sub>batch</sub>/∂w = ${n(g)})`;
  }
  const loss =
    c.lossBefore !== null && c.lossAfter !== null ? ` The sample's loss went ${n(c.lossBefore)} → ${n(c.lossAfter)}.` : '';
  return `<p class="eq">Update on a batch of ${r.batchRows} (batch loss ${n(r.batchLoss)}): w ${n(before)} → ${n(after)} (Δw = ${n(after - before)}). ${rule}.${loss}</p>`;
}

/** The line about the traced sample: its raw inputs, target, prediction and loss. */
export function sampleHtml(p: Problem, snap: Snapshot, phase: Phase | null, hasReport: boolean): string {
  const t = snap.trace!;
  const row = p.train[t.sample];
  const raw = Array.from(
    { length: p.raw.columns.length },
    (_, c) => `${esc(p.raw.columns[c])} = ${fmt(p.raw.inputs[row * p.raw.columns.length + c])}`,
  ).join(', ');
  const target =
    p.task === 'classification'
      ? `class ${t.target} <span style="color:${classCss(t.target)}">■</span> (${esc(p.classNames[t.target] ?? '')})`
      : `${fmt(p.raw.targets[row])} (standardised ${fmt(t.target)})`;
  const predicted =
    p.task === 'classification'
      ? `logits ${Array.from(t.output, (v) => fmt(v)).join(', ')}`
      : `ŷ = ${fmt(t.output[0])} (${fmt(t.output[0] * p.targetStd + p.targetMean)})`;
  const mode = phase
    ? ` Step mode, <b>${phase}</b> phase${phase === 'update' && !hasReport ? ' (waiting for the step)' : ''}.`
    : '';
  return `Training sample ${t.sample} of ${p.train.length}: ${raw} → target ${target}; ${predicted}; loss ${fmt(t.loss, 4)} (${p.task === 'classification' ? 'cross-entropy' : 'squared error'}), at step ${snap.step.toLocaleString('en-US')}.${mode}`;
}
