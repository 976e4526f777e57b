// The network, loss and optimizer of a run, made with the library's public API.
import {
  Adam,
  AdamW,
  CrossEntropyLoss,
  Identity,
  LeakyReLU,
  Linear,
  MSELoss,
  Network,
  ReLU,
  SGD,
  Sigmoid,
  Tanh,
  type Layer,
  type Loss,
  type Optimizer,
} from 'backprop-wasm';
import type { NetSpec, TrainSpec } from './protocol';
import type { ActivationId } from './state';

export function activationLayer(id: ActivationId): Layer {
  switch (id) {
    case 'relu':
      return new ReLU();
    case 'leaky':
      return new LeakyReLU(0.01);
    case 'tanh':
      return new Tanh();
    case 'sigmoid':
      return new Sigmoid();
    case 'linear':
      return new Identity();
  }
}

/** Linear → activation per hidden layer, then Linear to the outputs (logits for classification: the
 *  cross-entropy loss applies the softmax). Initialised from the run's seed. */
export function buildNetwork(spec: NetSpec, seed: number): Network {
  const layers: Layer[] = [];
  let width = spec.inFeatures;
  for (const hidden of spec.hidden) {
    layers.push(new Linear(width, hidden.units), activationLayer(hidden.activation));
    width = hidden.units;
  }
  layers.push(new Linear(width, spec.outFeatures));
  return new Network(layers, { seed });
}

export function buildLoss(spec: NetSpec): Loss {
  return spec.task === 'classification' ? new CrossEntropyLoss() : new MSELoss();
}

/** The activations of every layer over the plane's grid, computed by the library layer by layer: a
 *  one-layer network per Linear layer (and its activation), holding a copy of that layer's weights, run
 *  with predict() on the previous layer's output. One forward pass in all, with none of trace()'s
 *  backward work and copies (trace over 2,500 rows costs ten times more in Chromium). */
export class GridProbe {
  private readonly stages: Network[];

  constructor(private readonly net: Network) {
    this.stages = [];
    const layers = net.layers;
    for (let k = 0; k < layers.length; k++) {
      const layer = layers[k];
      if (!(layer instanceof Linear)) continue;
      const next = layers[k + 1];
      const act = next && !(next instanceof Linear) ? [cloneActivation(next)] : [];
      this.stages.push(new Network([new Linear(layer.inFeatures, layer.outFeatures), ...act]));
    }
  }

  /** Each Linear layer's output a at every row of `x`. */
  run(x: Float32Array): Float32Array[] {
    const linears = this.net.layers.filter((l): l is Linear => l instanceof Linear);
    const out: Float32Array[] = [];
    let input = x;
    this.stages.forEach((stage, k) => {
      const [w, b] = stage.parameters();
      w.data.set(linears[k].weight);
      b.data.set(linears[k].bias!);
      input = stage.predict(input, { batchSize: 4096 });
      out.push(input);
    });
    return out;
  }

  dispose(): void {
    for (const s of this.stages) s.dispose();
  }
}

function cloneActivation(layer: Layer): Layer {
  if (layer instanceof ReLU) return new ReLU();
  if (layer instanceof LeakyReLU) return new LeakyReLU(layer.negativeSlope);
  if (layer instanceof Tanh) return new Tanh();
  if (layer instanceof Sigmoid) return new Sigmoid();
  return new Identity();
}

/** L2 is each optimizer's weightDecay (added to the gradient for SGD and Adam, decoupled for AdamW). */
export function buildOptimizer(net: Network, train: TrainSpec): Optimizer {
  const params = net.parameters();
  switch (train.optimizer) {
    case 'sgd':
      return new SGD(params, { lr: train.lr, weightDecay: train.l2 });
    case 'momentum':
      return new SGD(params, { lr: train.lr, momentum: 0.9, weightDecay: train.l2 });
    case 'adam':
      return new Adam(params, { lr: train.lr, weightDecay: train.l2 });
    case 'adamw':
      return new AdamW(params, { lr: train.lr, weightDecay: train.l2 });
  }
}
