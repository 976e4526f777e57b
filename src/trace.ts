// net.trace(): one batch's forward and backward quantities per Linear layer, as the backpropagation lecture
// draws them. The core's training step computes them (networkTrainStep with the update off, ∂L/∂x on);
// this file only reads the plan's buffers and puts the parameters' gradients back as they were.
import { beginStaging, checkedBytes, getCore, memoryBuffer, readF32 } from './core.js';
import { type MatrixInput, stageFinite, toFlatRows } from './input.js';
import { isElementwiseActivation, readResult, structBytes, writeStruct } from './kernel.js';
import { Linear } from './layers.js';
import { type Loss } from './losses.js';
import { type Network, networkSession } from './network.js';
import { checkLoss, throwForStatus } from './status.js';
import type { TargetInput } from './fit.js';

/** One Linear layer (and the activations after it) in a trace, all [batch, …] row-major. */
export interface TraceLayer {
  /** Index of the Linear layer in net.layers. */
  index: number;
  /** The activation(s) after it, as text, or null. */
  activation: string | null;
  /** The layer's input x: ∂z/∂w for each weight. */
  input: Float32Array;
  /** Pre-activation z = x·Wᵀ + b. */
  z: Float32Array;
  /** Activation a = σ(z) (z itself without an activation). */
  a: Float32Array;
  /** ∂L/∂a, from the layers above. */
  dLda: Float32Array;
  /** σ'(z) for a single element-wise activation (null for none, Softmax or several). */
  sigmaPrime: Float32Array | null;
  /** ∂L/∂z = σ'(z)·∂L/∂a. */
  dLdz: Float32Array;
  /** ∂L/∂W = Σ_batch ∂L/∂z ⊗ x, [out, in]. */
  dLdW: Float32Array;
  dLdb: Float32Array | null;
}

export interface Trace {
  loss: number;
  output: Float32Array;
  /** ∂L/∂x of the network's input. */
  dLdx: Float32Array;
  layers: TraceLayer[];
}

export function traceNetwork(net: Network, x: MatrixInput, target: TargetInput, loss: Loss): Trace {
  const session = networkSession(net, 'trace()', 'write');
  checkLoss(loss);
  const staging = beginStaging();
  const xRows = toFlatRows(x, 'x', net.inFeatures);
  const batch = xRows.rows;
  const prepared = loss.prepareTarget(target, batch, net.outFeatures);
  const xPtr = staging.floats(xRows.values.length, 'x');
  stageFinite(xRows, xPtr, 'x', net.inFeatures);
  const targetPtr = staging.alloc(checkedBytes('the target', batch, prepared.rowBytes));
  loss.stageTarget(prepared, targetPtr, net.outFeatures);
  const lossConfig = loss.stageConfig(prepared.kernel, (bytes) => staging.alloc(bytes));
  const step = staging.alloc(structBytes('StepConfig'));
  const { layers, widths } = session;
  const derivativeScratch = staging.floats(2 * batch * Math.max(...widths), 'the trace');
  const plan = session.buffers(batch);
  writeStruct('StepConfig', step, {
    plan: plan.ptr,
    loss: lossConfig,
    optimizer: 0,
    target: targetPtr,
    batch,
    update: false,
    inputGrad: true,
  });
  const params = net.parameters();
  const savedGrads = params.map((p) => p.grad.slice());
  const core = getCore();
  try {
    core.copyF32(plan.input, xPtr, batch * net.inFeatures);
    const status = core.networkTrainStep(step);
    session.hold(batch);
    throwForStatus(status, loss, prepared.kernel, net.outFeatures, '', () => readF32(plan.output, batch * net.outFeatures));
    const act = (k: number) => readF32(plan.act(k), batch * widths[k]);
    const grad = (k: number) => readF32(plan.grad(k), batch * widths[k]);
    const gradsByName = new Map(params.map((p) => [p.name, p.grad.slice()]));
    /** σ'(z) of activation layer k: its own backward kernel applied to ∂L/∂a = 1. */
    const derivative = (k: number) => {
      const n = batch * widths[k + 1];
      new Float32Array(memoryBuffer(), derivativeScratch, n).fill(1);
      core.layerActivationDerivative(plan.ptr, k, batch, derivativeScratch, derivativeScratch + n * 4);
      return readF32(derivativeScratch + n * 4, n);
    };
    const traced: TraceLayer[] = [];
    layers.forEach((layer, k) => {
      if (!(layer instanceof Linear)) return;
      let end = k + 1; // the layer after the last activation that follows this Linear
      while (end < layers.length && !(layers[end] instanceof Linear)) end++;
      const activations = layers.slice(k + 1, end);
      const single = activations.length === 1 && isElementwiseActivation(activations[0].planEntry().kernel);
      traced.push({
        index: k,
        activation: activations.length ? activations.map(String).join(' → ') : null,
        input: act(k),
        z: act(k + 1),
        a: act(end),
        dLda: grad(end),
        sigmaPrime: single ? derivative(k + 1) : null,
        dLdz: grad(k + 1),
        dLdW: gradsByName.get(`${k}.weight`)!,
        dLdb: gradsByName.get(`${k}.bias`) ?? null,
      });
    });
    return { loss: readResult().loss, output: act(layers.length), dLdx: grad(0), layers: traced };
  } finally {
    params.forEach((p, k) => p.grad.set(savedGrads[k]));
  }
}
