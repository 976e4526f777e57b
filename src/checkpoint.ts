// Networks to and from files: toJSON/fromJSON, save/load (safetensors), checkpoints with optimizer and
// scheduler state, loadWeights, and clone. A network's state is its parameters and its buffers (BatchNorm1d's
// running statistics; num_batches_tracked as torch's int64 scalar), under torch's state_dict names. serialize.ts reads and checks the formats; this file builds networks and optimizers from
// them through the registries, and writes them out the same way.
import { beginStaging, getCore } from './core.js';
import { BackpropError, describeValue } from './errors.js';
import { stageFinite } from './input.js';
import { Network, networkSession } from './network.js';
import { Optimizer } from './optimizers.js';
import { checkOptionKeys } from './options.js';
import { buildLayer, buildOptimizer, buildScheduler, describeLayer, describeOptimizer, describeScheduler } from './registry.js';
import { LRScheduler, type SchedulerState, rewriteOptimizerParams } from './schedulers.js';
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
  readNetworkJSON,
  stateShapes,
} from './serialize.js';
import type { Parameter } from './layers.js';

const OPTIMIZER_PREFIX = 'optimizer.';

/** The network's state by state_dict name: parameters, then buffers (copies). */
function stateTensors(net: Network): [string, NamedTensor][] {
  return [
    ...net.parameters().map((p): [string, NamedTensor] => [p.name, { shape: [...p.shape], data: p.data.slice() }]),
    ...net.buffers().map((b): [string, NamedTensor] => [b.name, { shape: [...b.shape], data: b.data.slice() }]),
  ];
}

/** Writes checked tensors into the network's parameters and buffers, by name. */
function setState(net: Network, tensors: Map<string, NamedTensor>): void {
  for (const p of net.parameters()) p.data.set(tensors.get(p.name)!.data as Float32Array);
  for (const b of net.buffers()) b.data.set(tensors.get(b.name)!.data as never);
}

/** The names and shapes of the network's state, and which of it is int64. */
function expectedState(net: Network): { shapes: Map<string, number[]>; integers: Set<string> } {
  const shapes = new Map<string, number[]>();
  const integers = new Set<string>();
  for (const p of net.parameters()) shapes.set(p.name, [...p.shape]);
  for (const b of net.buffers()) {
    shapes.set(b.name, [...b.shape]);
    if (b.dtype === 'int64') integers.add(b.name);
  }
  return { shapes, integers };
}

export function networkToJSON(net: Network): NetworkJSON {
  const parameters: NetworkJSON['parameters'] = {};
  for (const p of net.parameters()) parameters[p.name] = { shape: [...p.shape], data: Array.from(p.data) };
  const json: NetworkJSON = { format: FORMAT, version: 1, layers: net.layers.map(describeLayer), parameters };
  const buffers = net.buffers();
  if (buffers.length) {
    json.buffers = Object.fromEntries(
      buffers.map((b) => [b.name, { shape: [...b.shape], data: Array.from(b.data, Number), dtype: b.dtype }]),
    );
  }
  return json;
}

export function networkFromJSON(json: NetworkJSON | string): Network {
  const { specs, tensors } = readNetworkJSON(json);
  return fromParts(specs, tensors);
}

export function saveNetwork(net: Network, options: { optimizer?: Optimizer; scheduler?: LRScheduler }): Uint8Array {
  checkOptionKeys(options, ['optimizer', 'scheduler'], 'save');
  const params = net.parameters();
  const tensors = stateTensors(net);
  const metadata: Record<string, string> = {
    format: FORMAT,
    version: '1',
    layers: JSON.stringify(net.layers.map(describeLayer)),
  };
  const generator = generatorState(net);
  if (generator) metadata.dropoutGenerator = JSON.stringify(Array.from(generator));
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
  const { scheduler } = options;
  if (scheduler !== undefined) {
    if (!(scheduler instanceof LRScheduler))
      throw new BackpropError('BAD_TYPE', `expected scheduler to be a scheduler, got ${describeValue(scheduler)}`);
    if (scheduler.optimizer !== optimizer) {
      throw new BackpropError(
        'BAD_OPTION',
        'save({ scheduler }) needs the optimizer it schedules too: save({ optimizer, scheduler })',
      );
    }
    scheduler.assertUsable('save()');
    const { type, ...config } = describeScheduler(scheduler);
    metadata.scheduler = JSON.stringify({ type, config, state: scheduler.state() });
  }
  return encodeSafetensors(tensors, metadata);
}

export function loadNetwork(bytes: Uint8Array): Network {
  const { tensors, metadata } = decodeSafetensors(bytes);
  return fromParts(layerSpecsOf(metadata), tensors, metadata.dropoutGenerator);
}

export function loadCheckpoint(bytes: Uint8Array): {
  network: Network;
  optimizer: Optimizer | null;
  scheduler: LRScheduler | null;
} {
  const { tensors, metadata } = decodeSafetensors(bytes);
  const network = fromParts(layerSpecsOf(metadata), tensors, metadata.dropoutGenerator);
  let optimizer: Optimizer | null = null;
  try {
    optimizer = metadata.optimizer === undefined ? null : restoreOptimizer(network, metadata.optimizer, tensors);
    if (metadata.scheduler !== undefined && optimizer === null) {
      throw corruptFileError('the file has a scheduler but no optimizer for it');
    }
    const scheduler = metadata.scheduler === undefined ? null : restoreScheduler(optimizer!, metadata.scheduler);
    return { network, optimizer, scheduler };
  } catch (error) {
    optimizer?.dispose();
    network.dispose();
    throw error;
  }
}

export function loadWeightsInto(net: Network, source: Uint8Array | NetworkJSON | string): void {
  const tensors = source instanceof Uint8Array ? decodeSafetensors(source).tensors : readNetworkJSON(source).tensors;
  const { shapes, integers } = expectedState(net);
  checkTensorsMatch(shapes, tensors, OPTIMIZER_PREFIX, integers);
  checkFiniteTensors(tensors);
  setState(net, tensors);
}

/** An independent copy of a network: the same layers (rebuilt from their specs), state, mode and Dropout
 *  generator state. */
export function cloneNetwork(net: Network): Network {
  const layers = [];
  try {
    for (const layer of net.layers) layers.push(buildLayer(describeLayer(layer)));
  } catch (error) {
    layers.forEach((layer) => layer.dispose());
    throw error;
  }
  let copy: Network;
  try {
    copy = new Network(layers, { seed: 0 }); // a seed: no draw from the default generator
  } catch (error) {
    layers.forEach((layer) => layer.dispose());
    throw error;
  }
  setState(copy, new Map(stateTensors(net)));
  copy.train(net.training);
  const state = generatorState(net);
  if (state) setGeneratorState(copy, state);
  return copy;
}

/** The state of the generator a network's Dropout layers draw from (null without Dropout). */
export function generatorState(net: Network): Uint32Array | null {
  const rng = networkSession(net, 'save()', 'read').rng;
  return rng ? new Uint32Array(getCore().memory.buffer, rng.statePtr, 4).slice() : null;
}

export function setGeneratorState(net: Network, state: ArrayLike<number>): void {
  const rng = networkSession(net, 'load()', 'read').rng;
  if (rng) new Uint32Array(getCore().memory.buffer, rng.statePtr, 4).set(state);
}

/** A saved generator state: four u32 words, not all zero (xoshiro's one forbidden state). */
function readGeneratorState(json: string): number[] {
  let words: unknown;
  try {
    words = JSON.parse(json);
  } catch {
    words = null;
  }
  const valid =
    Array.isArray(words) &&
    words.length === 4 &&
    words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff) &&
    words.some((w) => w !== 0);
  if (!valid) throw corruptFileError(`__metadata__.dropoutGenerator is not a generator state: ${json.slice(0, 100)}`);
  return words as number[];
}

/** A network from checked layer specs and tensors; `generator` (the saved Dropout generator state, if any)
 *  continues the saved network's mask stream. */
function fromParts(specs: LayerSpec[], tensors: Map<string, NamedTensor>, generator?: string): Network {
  const generatorWords = generator === undefined ? null : readGeneratorState(generator);
  const { shapes, integers } = stateShapes(specs);
  checkTensorsMatch(shapes, tensors, OPTIMIZER_PREFIX, integers);
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
  setState(network, tensors);
  if (generatorWords) setGeneratorState(network, generatorWords);
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
        const data = tensors.get(name)?.data;
        buffers.push(data instanceof Float32Array ? data : new Float32Array(0));
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

/** Rebuilds a saved scheduler over its (restored) optimizer and puts back its progress; the rate and momentum
 *  the optimizer was saved with stay (a scheduler's construction would otherwise set its first rate again). */
function restoreScheduler(optimizer: Optimizer, json: string): LRScheduler {
  let saved: { type?: unknown; config?: unknown; state?: unknown };
  try {
    saved = JSON.parse(json);
  } catch (error) {
    throw corruptFileError(`__metadata__.scheduler is not valid JSON (${(error as Error).message})`);
  }
  if (saved === null || typeof saved !== 'object' || saved.state === null || typeof saved.state !== 'object') {
    throw corruptFileError(`__metadata__.scheduler does not describe a scheduler and its state: ${json.slice(0, 200)}`);
  }
  const options = optimizer.options as unknown as Record<string, unknown>;
  const kept = { ...options };
  let scheduler: LRScheduler;
  try {
    scheduler = buildScheduler(optimizer, { ...(saved.config as object), type: saved.type });
    scheduler.restoreState(saved.state as SchedulerState);
  } catch (error) {
    throw corruptFileError(`the saved scheduler cannot be rebuilt: ${(error as Error).message}`);
  } finally {
    // what the optimizer was saved with, not what the scheduler's construction set
    Object.assign(options, kept);
    optimizer.lr = kept.lr as number;
    rewriteOptimizerParams(optimizer);
  }
  return scheduler;
}

function checkFiniteTensors(tensors: Map<string, NamedTensor>): void {
  for (const [name, tensor] of tensors) {
    if (!(tensor.data instanceof Float32Array)) continue; // integers are finite
    const ptr = beginStaging().floats(tensor.data.length, `tensor "${name}"`);
    const data = tensor.data;
    const rows = { values: data, rows: data.length, original: (i: number) => data[i] };
    try {
      stageFinite(rows, ptr, name, 1);
    } catch (error) {
      throw corruptFileError((error as Error).message);
    }
  }
}
