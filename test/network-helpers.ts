import { Identity, LeakyRelu, Linear, Network, Relu, Sigmoid, Tanh, type Layer } from '../src/index';
import * as ref from './reference';

export const ACTIVATION_NAMES: ref.RefActivation[] = ['identity', 'relu', 'leaky', 'sigmoid', 'tanh'];

export function makeActivation(kind: ref.RefActivation, slope = 0.1): Layer {
  switch (kind) {
    case 'identity': return new Identity();
    case 'relu': return new Relu();
    case 'leaky': return new LeakyRelu(slope);
    case 'sigmoid': return new Sigmoid();
    case 'tanh': return new Tanh();
  }
}

/** The float64 reference layers holding a copy of the network's current (float32) parameters. */
export function referenceOf(net: Network): ref.RefLayer[] {
  return net.layers.map((layer) => {
    if (layer instanceof Linear) {
      return {
        kind: 'linear', inF: layer.inFeatures, outF: layer.outFeatures,
        weight: Float64Array.from(layer.weight), bias: layer.bias ? Float64Array.from(layer.bias) : null,
      };
    }
    const name = ACTIVATION_NAMES[['Identity', 'Relu', 'LeakyRelu', 'Sigmoid', 'Tanh'].indexOf(layer.constructor.name)];
    return { kind: name, slope: layer instanceof LeakyRelu ? layer.negativeSlope : undefined };
  });
}

/** A random network: `widths` are the layer sizes, each Linear followed by the given activation. */
export function randomNetwork(widths: number[], activations: ref.RefActivation[], seed: number, bias = true): Network {
  const layers: Layer[] = [];
  for (let k = 0; k + 1 < widths.length; k++) {
    layers.push(new Linear(widths[k], widths[k + 1], { bias }));
    if (activations[k]) layers.push(makeActivation(activations[k]));
  }
  return new Network(layers, { seed });
}
