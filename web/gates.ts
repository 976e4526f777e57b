// A tiny gate-level autodiff (in the spirit of micrograd): each gate computes its output and its local
// gradients when it is made; backward() multiplies the upstream gradient by each local gradient and hands
// it to the gate's inputs. The gate view draws graphs built here: the lecture's f = (x + y)·z, and one
// neuron of the network (its multiply gates w·a, the add gate with the bias, the activation, the loss).
import type { ParamsView, SampleTrace } from './protocol';
import type { ActivationId, Task } from './state';

export type GateKind = 'leaf' | 'add' | 'mul' | 'relu' | 'leaky' | 'sigmoid' | 'tanh' | 'identity' | 'mse' | 'ce' | 'rest';

export class Gate {
  grad = 0;
  constructor(
    readonly kind: GateKind,
    readonly label: string,
    readonly inputs: Gate[],
    readonly value: number,
    /** ∂(this)/∂(inputs[i]) at this point. */
    readonly local: number[],
  ) {}
}

export const leaf = (label: string, value: number) => new Gate('leaf', label, [], value, []);

/** The add gate: local gradient 1 for every input — it distributes the upstream gradient. */
export const add = (label: string, ...xs: Gate[]) =>
  new Gate(
    'add',
    label,
    xs,
    xs.reduce((s, x) => s + x.value, 0),
    xs.map(() => 1),
  );

/** The multiply gate: each input's local gradient is the other input — it swaps them. */
export const mul = (label: string, a: Gate, b: Gate) => new Gate('mul', label, [a, b], a.value * b.value, [b.value, a.value]);

/** An activation gate with its derivative: max(0, z) routes the gradient (1 or 0). */
export function activation(kind: ActivationId, label: string, z: Gate): Gate {
  const v = z.value;
  switch (kind) {
    case 'relu':
      return new Gate('relu', label, [z], Math.max(0, v), [v > 0 ? 1 : 0]);
    case 'leaky':
      return new Gate('leaky', label, [z], v > 0 ? v : 0.01 * v, [v > 0 ? 1 : 0.01]);
    case 'sigmoid': {
      const s = 1 / (1 + Math.exp(-v));
      return new Gate('sigmoid', label, [z], s, [s * (1 - s)]);
    }
    case 'tanh': {
      const t = Math.tanh(v);
      return new Gate('tanh', label, [z], t, [1 - t * t]);
    }
    case 'linear':
      return new Gate('identity', label, [z], v, [1]);
  }
}

/** Back-propagates from `root` (∂root/∂root = 1) in reverse topological order. */
export function backward(root: Gate): Gate[] {
  const order: Gate[] = [];
  const seen = new Set<Gate>();
  const visit = (g: Gate) => {
    if (seen.has(g)) return;
    seen.add(g);
    g.inputs.forEach(visit);
    order.push(g);
  };
  visit(root);
  for (const g of order) g.grad = 0;
  root.grad = 1;
  for (let k = order.length - 1; k >= 0; k--) {
    const g = order[k];
    g.inputs.forEach((input, i) => {
      input.grad += g.local[i] * g.grad;
    });
  }
  return order;
}

/** The lecture's worked example: f = (x + y)·z at x = −2, y = 5, z = −4. */
export function workedExample(): Gate {
  const x = leaf('x', -2),
    y = leaf('y', 5),
    z = leaf('z', -4);
  const q = add('q', x, y);
  const f = mul('f', q, z);
  backward(f);
  return f;
}

export interface NeuronGraph {
  root: Gate;
  weights: Gate[];
  inputs: Gate[];
  bias: Gate;
  z: Gate;
  a: Gate;
}

/** Neuron `index` of Linear layer `layer` for the traced sample, gate by gate. A hidden neuron ends in
 *  the rest of the network, whose gradient ∂L/∂a the trace gives; an output neuron ends in the loss. */
export function neuronGraph(
  trace: SampleTrace,
  params: ParamsView[],
  layer: number,
  index: number,
  activationId: ActivationId | null,
  task: Task,
): NeuronGraph {
  const l = trace.layers[layer];
  const width = l.input.length;
  const previous = layer === 0 ? 'x' : 'a';
  const weights = Array.from(l.input, (_, i) => leaf(`w${sub(i)}`, params[layer].weight[index * width + i]));
  const inputs = Array.from(l.input, (v, i) => leaf(`${previous}${sub(i)}`, v));
  const products = weights.map((w, i) => mul(`w${sub(i)}${previous}${sub(i)}`, w, inputs[i]));
  const bias = leaf('b', params[layer].bias[index]);
  const z = add('z', ...products, bias);
  const last = layer === trace.layers.length - 1;
  let a: Gate = z,
    root: Gate;
  if (!last) {
    a = activation(activationId ?? 'linear', 'a', z);
    // the rest of the network and the loss: its local gradient is ∂L/∂a of this neuron, from the trace
    root = new Gate('rest', 'L', [a], trace.loss, [l.dLda[index]]);
  } else if (task === 'regression') {
    const y = leaf('y', trace.target);
    const d = z.value - y.value;
    root = new Gate('mse', 'L', [z, y], d * d, [2 * d, -2 * d]);
  } else {
    const m = Math.max(...trace.output);
    const e = Array.from(trace.output, (v) => Math.exp(v - m));
    const sum = e.reduce((s, v) => s + v, 0);
    const p = e[index] / sum;
    root = new Gate('ce', 'L', [z], trace.loss, [p - (trace.target === index ? 1 : 0)]);
  }
  backward(root);
  return { root, weights, inputs, bias, z, a };
}

const SUBSCRIPTS = '₀₁₂₃₄₅₆₇₈₉';
export const sub = (i: number) =>
  String(i)
    .split('')
    .map((d) => SUBSCRIPTS[Number(d)])
    .join('');

/** Task-independent check: the largest relative difference between the gate graph's float64 gradients
 *  and net.trace's float32 ones (∂L/∂z, ∂L/∂b, every ∂L/∂w of the neuron). */
export function compareWithTrace(g: NeuronGraph, trace: SampleTrace, layer: number, index: number): number {
  const l = trace.layers[layer];
  const width = l.input.length;
  const pairs: [number, number][] = [
    [g.z.grad, l.dLdz[index]],
    [g.z.value, l.z[index]],
  ];
  if (l.dLdb) pairs.push([g.bias.grad, l.dLdb[index]]);
  g.weights.forEach((w, i) => pairs.push([w.grad, l.dLdW[index * width + i]]));
  let worst = 0;
  for (const [ours, theirs] of pairs) worst = Math.max(worst, Math.abs(ours - theirs) / Math.max(1e-6, Math.abs(theirs)));
  return worst;
}
