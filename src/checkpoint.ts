// Networks to and from files: toJSON/fromJSON, save/load (safetensors), checkpoints with optimizer state,
// and loadWeights. serialize.ts reads and checks the formats; this file builds networks and optimizers from
// them through the registries, and writes them out the same way.
import { beginStaging } from './core.js';
import { BackpropError, describeValue } from './errors.js';
import { stageFinite } from './input.js';
import { Network } from './network.js';
import { Optimizer } from './optimizers.js';
import { checkOptionKeys } from './options.js';
import { buildLayer, buildOptimizer, describeLayer, describeOptimizer } from './registry.js';
import {
  FORMAT,
  type LayerSpec,
  type NamedTensor,
  type NetworkJSON,
  checkTensorsMatch,
  corruptFileError,
  decodeSafetensors,
  encodeSafetensors,
  layerSpecsOf,
  parameterShapes,
  readNetworkJSON,
} from './serialize.js';
import type { Parameter } from './layers.js';

const OPTIMIZER_PREFIX = 'optimizer.';

export function networkToJSON(net: Network): NetworkJSON {
  const parameters: NetworkJSON['parameters'] = {};
  for (const p of net.parameters()) parameters[p.name] = { shape: [...p.shape], data: Array.from(p.data) };
  return { format: FORMAT, version: 1, layers: net.layers.map(describeLayer), parameters };
}

export function networkFromJSON(json: NetworkJSON | string): Network {
  const { specs, tensors } = readNetworkJSON(json);
  return fromParts(specs, tensors);
}

export function saveNetwork(net: Network, options: { optimizer?: Optimizer }): Uint8Array {
  checkOptionKeys(options, ['optimizer'], 'save');
  const params = net.parameters();
  const tensors: [string, NamedTensor][] = params.map((p) => [p.name, { shape: [...p.shape], data: p.data.slice() }]);
  const metadata: Record<string, string> = {
    format: FORMAT,
    version: '1',
    layers: JSON.stringify(net.layers.map(describeLayer)),
  };
  const { optimizer } = options;
  if (optimizer !== undefined) {
    if (!(optimizer instanceof Optimizer))
      throw new BackpropError('BAD_TYPE', `expected optimizer to be an Optimizer, got ${describeValue(optimizer)}`);
    optimizer.readyBlock();
    const names = optimizerParamNames(optimizer, params);
    const state = optimizer.stateBuffers();
    let next = 0;
    optimizer.params.forEach((p, k) => {
      for (const stateName of optimizer.stateNames) {
        tensors.push([`${OPTIMIZER_PREFIX}${names[k]}.${stateName}`, { shape: [...p.shape], data: state[next++] }]);
      }
    });
    const { type, ...config } = describeOptimizer(optimizer);
    metadata.optimizer = JSON.stringify({ type, config, step: optimizer.stepCount });
  }
  return encodeSafetensors(tensors, metadata);
}

export function loadNetwork(bytes: Uint8Array): Network {
  const { tensors, metadata } = decodeSafetensors(bytes);
  return fromParts(layerSpecsOf(metadata), tensors);
}

export function loadCheckpoint(bytes: Uint8Array): { network: Network; optimizer: Optimizer | null } {
  const { tensors, metadata } = decodeSafetensors(bytes);
  const network = fromParts(layerSpecsOf(metadata), tensors);
  try {
    return {
      network,
      optimizer: metadata.optimizer === undefined ? null : restoreOptimizer(network, metadata.optimizer, tensors),
    };
  } catch (error) {
    network.dispose();
    throw error;
  }
}

export function loadWeightsInto(net: Network, source: Uint8Array | NetworkJSON | string): void {
  const params = net.parameters();
  const tensors = source instanceof Uint8Array ? decodeSafetensors(source).tensors : readNetworkJSON(source).tensors;
  checkTensorsMatch(new Map(params.map((p) => [p.name, [...p.shape]])), tensors, OPTIMIZER_PREFIX);
  checkFiniteTensors(tensors);
  for (const p of params) p.data.set(tensors.get(p.name)!.data);
}

function fromParts(specs: LayerSpec[], tensors: Map<string, NamedTensor>): Network {
  checkTensorsMatch(parameterShapes(specs), tensors, OPTIMIZER_PREFIX);
  checkFiniteTensors(tensors);
  const layers = [];
  try {
    for (const spec of specs) layers.push(buildLayer(spec));
  } catch (error) {
    layers.forEach((layer) => layer.dispose());
    throw error;
  }
  let network: Network;
  try {
    network = new Network(layers);
  } catch (error) {
    layers.forEach((layer) => layer.dispose());
    throw corruptFileError(`the saved layers do not form a network: ${(error as Error).message}`);
  }
  for (const p of network.parameters()) p.data.set(tensors.get(p.name)!.data);
  return network;
}

/** The network's names of an optimizer's parameters; it must be over exactly the network's parameters. */
function optimizerParamNames(optimizer: Optimizer, params: Parameter[]): string[] {
  const byPtr = new Map(params.map((p) => [p.dataPtr, p.name]));
  const names = optimizer.params.map((p) => byPtr.get(p.dataPtr));
  if (names.some((n) => n === undefined) || names.length !== params.length) {
    throw new BackpropError(
      'BAD_OPTION',
      "a checkpoint needs an optimizer over exactly this network's parameters (net.parameters())",
    );
  }
  return names as string[];
}

function restoreOptimizer(network: Network, json: string, tensors: Map<string, NamedTensor>): Optimizer {
  let saved: { type?: unknown; config?: unknown; step?: unknown };
  try {
    saved = JSON.parse(json);
  } catch (error) {
    throw corruptFileError(`__metadata__.optimizer is not valid JSON (${(error as Error).message})`);
  }
  if (saved === null || typeof saved !== 'object' || !Number.isSafeInteger(saved.step) || (saved.step as number) < 0) {
    throw corruptFileError(`__metadata__.optimizer does not describe an optimizer with a step count: ${json.slice(0, 200)}`);
  }
  let optimizer: Optimizer;
  try {
    optimizer = buildOptimizer(network.parameters(), { ...(saved.config as object), type: saved.type });
  } catch (error) {
    throw corruptFileError(`the saved optimizer cannot be rebuilt: ${(error as Error).message}`);
  }
  try {
    const buffers: Float32Array[] = [];
    const expected = new Map<string, number[]>();
    for (const p of optimizer.params) {
      for (const stateName of optimizer.stateNames) {
        const name = `${OPTIMIZER_PREFIX}${p.name}.${stateName}`;
        expected.set(name, [...p.shape]);
        buffers.push(tensors.get(name)?.data ?? new Float32Array(0));
      }
    }
    const stateTensors = new Map([...tensors].filter(([name]) => name.startsWith(OPTIMIZER_PREFIX)));
    checkTensorsMatch(expected, stateTensors, '\u0000');
    optimizer.restoreState(saved.step as number, buffers);
    return optimizer;
  } catch (error) {
    optimizer.dispose();
    throw error;
  }
}

function checkFiniteTensors(tensors: Map<string, NamedTensor>): void {
  for (const [name, tensor] of tensors) {
    const ptr = beginStaging().floats(tensor.data.length, `tensor "${name}"`);
    const rows = { values: tensor.data, rows: tensor.data.length, original: (i: number) => tensor.data[i] };
    try {
      stageFinite(rows, ptr, name, 1);
    } catch (error) {
      throw corruptFileError((error as Error).message);
    }
  }
}
